# Copyright 2026 cinder-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""A cinder-ext volume or snapshot named by its Cinder id.

The backend's section of cinder.conf says where its objects live: the
shares of the NFS/POSIX driver (``cinder_ext_shares``; an NFS export at
the mount point the driver gives it) or the volume group of the LVM driver
(``cinder_ext_volume_group``).  The object is found under the name the
driver gives it (Cinder's name templates), and the backup takes its
point-in-time copy under the driver's own lock for that object, through
Cinder's coordinator started from the same cinder.conf: a delete, revert,
extend or unmanage never interleaves with it.

Nothing is read from Cinder's database: this works while Cinder is down.
"""

import collections
import contextlib
import os
import stat

from oslo_config import cfg

from cinder_ext.backup import exception
from cinder_ext import locks
from cinder_ext import opts

NFS_DRIVER = 'cinder_ext.volume.nfs.NfsDriver'
LVM_DRIVER = 'cinder_ext.volume.lvm.LvmDriver'
BASE_PREFIX = '.cinder_ext-backup-base-'
THIN_BASE_PREFIX = '_backup-base-'

# what a backup of a Cinder object reads, and under which lock
Located = collections.namedtuple(
    'Located', 'path lock_name base_name volume_id kind backend')


def load_backend(config_file, backend):
    conf = cfg.ConfigOpts()
    conf.register_opts([
        cfg.StrOpt('volume_name_template', default='volume-%s'),
        cfg.StrOpt('snapshot_name_template', default='snapshot-%s'),
        cfg.ListOpt('enabled_backends', default=[]),
        cfg.StrOpt('state_path', default='/var/lib/cinder'),
    ])
    conf.register_opts([cfg.StrOpt('volume_driver')] +
                       opts.share_opts + opts.common_opts + opts.lvm_opts,
                       group=backend)
    try:
        conf(args=[], project='cinder', default_config_files=[config_file])
    except (cfg.Error, OSError) as exc:
        raise exception.InvalidArgument(
            reason='cannot read %s: %s' % (config_file, exc))
    if backend not in conf.enabled_backends:
        raise exception.InvalidArgument(
            reason='%s is not in enabled_backends of %s' % (backend,
                                                            config_file))
    return conf


def share_dirs(section):
    from cinder_ext.storage import shares
    for spec in section.cinder_ext_shares:
        if shares.is_nfs_export(spec):
            from os_brick.remotefs import remotefs
            client = remotefs.RemoteFsClient(
                'nfs', None,
                nfs_mount_point_base=section.cinder_ext_mount_point_base)
            yield spec, client.get_mount_point(spec)
        else:
            yield spec, spec


def _on_shares(section, name):
    found = []
    for spec, directory in share_dirs(section):
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append(path)
    if len(found) > 1:
        raise exception.SourceError(
            source=name, reason='found on several shares: %s' % ', '.join(
                found))
    return found[0] if found else None


def locate(config_file, backend, volume_id=None, snapshot_id=None):
    """The object, its lock and its backup base; SourceError if the
    backend does not hold it."""
    if (volume_id is None) == (snapshot_id is None):
        raise exception.InvalidArgument(
            reason='name a volume or a snapshot, not both')
    conf = load_backend(config_file, backend)
    section = conf[backend]
    object_id = volume_id or snapshot_id
    kind = 'volume' if volume_id else 'snapshot'
    template = (conf.volume_name_template if volume_id
                else conf.snapshot_name_template)
    name = template % object_id
    if section.volume_driver == NFS_DRIVER:
        path = _on_shares(section, name)
        base_name = BASE_PREFIX + object_id
    elif section.volume_driver == LVM_DRIVER:
        from cinder_ext.storage import lvmcmd
        from cinder_ext.volume import lvm
        path = lvmcmd.device(section.cinder_ext_volume_group,
                             lvm.LvmDriver._storage_name(name))
        base_name = THIN_BASE_PREFIX + object_id  # an LV (thinbase)
        if not os.path.exists(path):
            path = None
    else:
        raise exception.InvalidArgument(
            reason='backend %s runs %s, not a cinder-ext driver' % (
                backend, section.volume_driver))
    if path is None:
        raise exception.SourceError(
            source='%s %s' % (kind, object_id),
            reason='not found on backend %s' % backend)
    return Located(path, locks.for_key(object_id), base_name, object_id,
                   kind, backend)


@contextlib.contextmanager
def coordinator(config_file):
    """Cinder's coordinator, from the same cinder.conf as the volume
    service, so the locks taken here are the driver's."""
    from cinder import coordination
    conf = cfg.CONF
    conf(args=[], project='cinder', default_config_files=[config_file])
    coordination.COORDINATOR.start()
    try:
        yield coordination.COORDINATOR
    finally:
        coordination.COORDINATOR.stop()


def guard(located):
    """A context manager factory holding the object's driver lock."""
    from cinder_ext.volume import locking

    def held():
        return locking.held(located.lock_name)
    return held
