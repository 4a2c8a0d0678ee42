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

"""Cinder volume driver for NFS exports and other mounted POSIX shares.

Volumes and snapshots are flat raw files named by Cinder's templates.
Snapshots, clones, volumes from snapshots and reverts are reflinks where
the share supports them (O(extents)) and sparse copies otherwise
(O(allocated)); nothing here costs O(size) except a fully allocated create
on a share that refuses fallocate.  Locks, manage/unmanage, listings and
the stats' shape come from the shared skeleton (``base.BaseDriver``).
"""

import contextlib
import os

from cinder.common import constants
from cinder import exception as cinder_exception
from cinder.image import image_utils
from cinder import interface
from cinder.scheduler import sched_utils
from cinder import utils
from cinder.volume import configuration
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import units

from cinder_ext import exception
from cinder_ext import locks
from cinder_ext import opts
from cinder_ext.privileged import handoff
from cinder_ext.storage import shares as shares_mod
from cinder_ext.volume import base
from cinder_ext.volume import errors
from cinder_ext.volume import images
from cinder_ext.volume import locking
from cinder_ext.volume import nfs_sources

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts(opts.cinder_ext_opts,
                   group=configuration.SHARED_CONF_GROUP)


def _file_ops(use_privsep):
    if use_privsep:
        from cinder_ext.privileged import fileops
        return fileops
    from cinder_ext.storage import fileio
    return fileio


@interface.volumedriver
class NfsDriver(base.BaseDriver):
    """Raw files on NFS or POSIX shares, copied by reflink."""

    VERSION = '1.1.0'
    DRIVER_OPTS = opts.cinder_ext_opts
    STORAGE_PROTOCOL = constants.NFS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.shares = None
        self._qemu_as_root = True

    # -- setup ------------------------------------------------------------

    def _do_setup(self, context):
        conf = self.configuration
        try:
            self.shares = shares_mod.Shares(
                conf.cinder_ext_shares,
                _file_ops(conf.cinder_ext_use_privsep),
                conf.cinder_ext_mount_point_base,
                mount_options=conf.cinder_ext_mount_options,
                root_helper=utils.get_root_helper(),
                execute=processutils.execute,
                copy_method=conf.cinder_ext_copy_method)
        except exception.ShareUnavailable as exc:
            raise cinder_exception.InvalidConfigurationValue(
                option='cinder_ext_shares', value=exc.msg)
        # Without privsep the shares belong to the service user, and so
        # do qemu-img's reads and writes of image data.
        self._qemu_as_root = conf.cinder_ext_use_privsep

    def _do_check_setup(self):
        stores, failed = self.shares.stores()
        for exc in failed.values():
            LOG.warning('%s', exc.msg)
        if not stores:
            raise cinder_exception.VolumeBackendAPIException(
                data='No share of cinder_ext_shares is usable.')
        for store in stores:
            try:
                store.check_writable()
                LOG.info('Share %(share)s at %(root)s: reflink %(ref)s',
                         {'share': store.share, 'root': store.root,
                          'ref': store.reflink})
            except exception.CinderExtException as exc:
                raise cinder_exception.VolumeBackendAPIException(
                    data=exc.msg)

    def _do_half_made(self):
        """(key, description, remove) of every half-made file: O(files)."""
        stores, _failed = self.shares.stores()
        for store in stores:
            for name, key in store.temp_files():
                yield (key, '%s on %s' % (name, store.share),
                       lambda store=store, name=name: store.remove(name))

    # -- helpers ----------------------------------------------------------

    def _store_of(self, obj):
        if not obj.provider_location:
            raise exception.NotFound(name=obj.name, location='any share')
        return self.shares.store(obj.provider_location)

    def _thick(self, volume):
        provisioning = self._provisioning(volume)
        if provisioning is not None:
            return provisioning == 'thick'
        return not self.configuration.cinder_ext_sparse_volumes

    def _over_subscription(self, usage):
        conf = self.configuration
        capability = {
            'max_over_subscription_ratio':
                conf.safe_get('max_over_subscription_ratio'),
            'thin_provisioning_support': True,
            'total_capacity_gb': usage['total'] / units.Gi,
            'free_capacity_gb': usage['free'] / units.Gi,
            'provisioned_capacity_gb': usage['provisioned'] / units.Gi,
        }
        return sched_utils.calculate_max_over_subscription_ratio(
            capability, conf.safe_get('max_over_subscription_ratio') or 20.0)

    def _room(self, usage, size, thick):
        """Why ``size`` bytes do not fit a share's usage, or None."""
        reserved = usage['total'] * (
            self.configuration.safe_get('reserved_percentage') or 0) / 100.0
        if usage['free'] - reserved < (size if thick else 1):
            return 'free %d bytes, reserved %d' % (usage['free'], reserved)
        limit = (usage['total'] - reserved) * self._over_subscription(usage)
        if usage['provisioned'] + size > limit:
            return 'provisioned %d + %d bytes exceeds %d' % (
                usage['provisioned'], size, limit)
        return None

    def _pick_share(self, size, thick, make):
        """Run ``make(store)`` on the first share with room.

        The share lock covers the capacity check and the file's creation,
        so concurrent creates on any service cannot oversubscribe a share:
        O(shares) checks, each O(files) without reading data.  A share
        that fails its checks is passed over with its reason.
        """
        stores, failed = self.shares.stores()
        reasons = {spec: exc.msg for spec, exc in failed.items()}
        free = {}
        for store in stores:
            try:
                free[store.share] = store.capacity()['free']
            except exception.CinderExtException as exc:
                reasons[store.share] = exc.msg
        for store in sorted((s for s in stores if s.share in free),
                            key=lambda s: -free[s.share]):
            with locking.held(locks.for_share(store.share)):
                try:
                    reason = self._room(store.usage(), size, thick)
                except exception.CinderExtException as exc:
                    reason = exc.msg
                if reason is None:
                    make(store)
                    return store
            reasons[store.share] = reason
        raise exception.NoShareFits(size=size // units.Gi, reason='; '.join(
            '%s: %s' % pair for pair in sorted(reasons.items())))

    # -- volumes and snapshots (hooks of base.BaseDriver) -----------------

    def _do_create(self, volume):
        size, thick = volume.size * units.Gi, self._thick(volume)
        store = self._pick_share(size, thick, lambda store: store.create(
            volume.name, size, thick, volume.id))
        LOG.debug('Created %s on %s', volume.name, store.share)
        return store.share

    def _do_remove_everywhere(self, name):
        """Remove ``name`` from every reachable share; where it was."""
        stores, _failed = self.shares.stores()
        return [store.share for store in stores if store.remove(name)]

    def _do_delete(self, volume):
        return self._store_of(volume).remove(volume.name)

    def _do_extend(self, volume, new_size):
        self._store_of(volume).extend(volume.name, new_size * units.Gi,
                                      self._thick(volume))

    def _do_instant_copy(self, volume):
        return self._store_of(volume).reflink

    def _do_copy_to_new_volume(self, volume, source, source_key):
        """Reflink or sparse copy, on the source's share (reflink cannot
        cross filesystems); a larger volume grows in O(1)."""
        store = self._store_of(source)
        with self._pinned(store, source.name, source_key, volume.id) as pin:
            store.copy(pin, volume.name, volume.size * units.Gi,
                       self._thick(volume), volume.id)
        return store.share

    @contextlib.contextmanager
    def _pinned(self, store, name, source_key, key):
        """Hard-link the source under its lock, then copy without the lock.

        The link keeps the source's inode whatever a delete, revert or
        unmanage of the source does meanwhile, so the source's lock is
        held for O(1) instead of the whole copy, and clones of one source
        run in parallel.  The link is a temporary file keyed by ``key``,
        which the caller holds, so the start-up sweep leaves it alone.
        """
        with locking.held(locks.for_key(source_key)):
            pinned = store.pin(name, key)
        try:
            yield pinned
        finally:
            store.remove(pinned)

    def _do_revert(self, volume, snapshot):
        """Replace the volume by a copy of the snapshot, atomically."""
        store = self._store_of(snapshot)
        store.copy(snapshot.name, volume.name, volume.size * units.Gi,
                   self._thick(volume), volume.id, replace=True)

    def _do_snapshot(self, snapshot):
        volume = snapshot.volume
        store = self._store_of(volume)
        store.copy(volume.name, snapshot.name,
                   snapshot.volume_size * units.Gi, False, snapshot.id,
                   tag=volume.name)
        return store.share

    def _do_delete_snapshot(self, snapshot, location):
        return self.shares.store(location).remove(snapshot.name)

    # -- manage (hooks of base.BaseDriver) --------------------------------

    def _do_resolve(self, existing_ref, volume):
        only = self._store_of(volume) if volume is not None else None
        store, path = nfs_sources.resolve(self.shares, existing_ref, only)
        entry = store.lookup(path)
        return base.ManageSource(store.share, path, nfs_sources.size_gb(
            entry) if entry else 0)

    def _do_check_source(self, source):
        return nfs_sources.check(self.shares.store(source.location),
                                 source.path)

    def _do_rename(self, location, src, dst):
        self.shares.store(location).rename(src, dst)

    def _do_grow_managed(self, location, name, size_gb):
        self.shares.store(location).extend(name, size_gb * units.Gi, False)

    def _do_candidates(self, kind):
        return nfs_sources.candidates(self.shares.stores()[0], kind)

    # -- connections and images -------------------------------------------

    @errors.translate
    def initialize_connection(self, volume, connector):
        store = self._store_of(volume)
        if self.shares.is_nfs(store.share):
            data = {'export': store.share, 'name': volume.name,
                    'format': 'raw'}
            if self.configuration.cinder_ext_mount_options:
                # mount(8) arguments: Nova and os-brick split them on spaces
                data['options'] = '-o %s' % (
                    self.configuration.cinder_ext_mount_options)
            return {'driver_volume_type': 'nfs', 'data': data,
                    'mount_point_base': self.shares.mount_point_base()}
        # A file at a path that every compute mounts too: Nova's gpfs
        # volume driver attaches it as a file disk and mounts nothing
        # ('local' would make a block disk, which qemu refuses for a file).
        return {'driver_volume_type': 'gpfs',
                'data': {'name': volume.name,
                         'device_path': store.path(volume.name),
                         'format': 'raw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        pass

    def create_export(self, context, volume, connector):
        pass

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        pass

    @errors.translate
    def local_path(self, volume):
        return self._store_of(volume).path(volume.name)

    @errors.translate
    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        store = self._store_of(volume)
        # qemu-img writes through the descriptor of the file we opened
        # without following links, never through the name.
        with store.opened(volume.name, writable=True) as fd:
            image_utils.fetch_to_raw(context, image_service, image_id,
                                     handoff.fd_path(fd),
                                     self.configuration.volume_dd_blocksize,
                                     size=volume.size,
                                     run_as_root=self._qemu_as_root,
                                     disable_sparse=disable_sparse)
        # The conversion left the image's own size; grow to the volume's
        # without ever asking qemu-img to probe the written bytes.
        store.extend(volume.name, volume.size * units.Gi, self._thick(volume))

    @errors.translate
    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        store = self._store_of(volume)
        with store.opened(volume.name, writable=False) as fd:
            self._upload(context, volume, image_service, image_meta, fd)

    def _upload(self, context, volume, image_service, image_meta, fd):
        """Upload from an open descriptor (never through the name)."""
        with os.fdopen(os.dup(fd), 'rb') as volume_file:
            images.upload(context, volume, image_service, image_meta,
                          handoff.fd_path(fd), self._qemu_as_root,
                          volume_fd=volume_file)

    # -- stats ------------------------------------------------------------

    def _do_stats(self):
        """Capacity of the reachable shares: statvfs and one directory
        scan each, O(files) without reading data."""
        total = free = provisioned = 0
        stores, _failed = self.shares.stores()
        for store in stores:
            try:
                usage = store.usage()
            except exception.CinderExtException as exc:
                LOG.warning('No stats from %(share)s: %(err)s',
                            {'share': store.share, 'err': exc.msg})
                continue
            total += usage['total']
            free += usage['free']
            provisioned += usage['provisioned']
        reflink = []
        for store in stores:
            try:
                reflink.append(store.reflink)
            except exception.CinderExtException:
                reflink.append(False)
        return {
            'total_capacity_gb': round(total / units.Gi, 2),
            'free_capacity_gb': round(free / units.Gi, 2),
            'provisioned_capacity_gb': round(provisioned / units.Gi, 2),
            'sparse_copy_volume': True,
            'multiattach': False,
            'reflink_support': bool(reflink) and all(reflink),
            'shares': len(stores),
        }
