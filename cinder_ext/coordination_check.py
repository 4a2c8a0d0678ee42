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

"""Refuse node-local locks where a cluster needs shared ones.

tooz's file driver locks only within the node whose directory holds the
lock files.  Several cinder-volume services of one cluster on different
nodes would then each believe they hold the same lock.
"""

import os

SHARED_FILESYSTEMS = frozenset([
    'nfs', 'nfs4', 'ceph', 'fuse.ceph', 'fuse.cephfs', 'glusterfs',
    'fuse.glusterfs', 'gpfs', 'lustre', 'ocfs2', 'gfs2', 'cifs', 'smb3',
    'beegfs', 'fuse.beegfs', 'virtiofs'])


def filesystem_of(path, mounts_file='/proc/mounts'):
    """(mount point, filesystem type) holding ``path``."""
    path = os.path.realpath(path)
    best = ('/', None)
    with open(mounts_file) as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) < 3:
                continue
            point = fields[1].replace('\\040', ' ')
            if ((path == point or path.startswith(point.rstrip('/') + '/'))
                    and len(point) >= len(best[0])):
                best = (point, fields[2])
    return best


def node_local_lock_dir(backend_url, mounts_file='/proc/mounts'):
    """The lock directory when ``backend_url`` locks within one node only,
    else None."""
    if not backend_url.startswith('file://'):
        return None
    lock_dir = backend_url[len('file://'):].split('?', 1)[0] or '/'
    _point, fstype = filesystem_of(lock_dir, mounts_file)
    return None if fstype in SHARED_FILESYSTEMS else lock_dir
