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

"""Configuration options, declared in lists with help text.

``list_opts`` feeds oslo-config-generator through the ``oslo.config.opts``
entry point; the drivers return their lists from ``get_driver_options``.
"""

import copy
import itertools

from oslo_config import cfg

share_opts = [
    cfg.ListOpt('cinder_ext_shares',
                default=[],
                help='Shares that hold volume files. Each entry is either '
                     'an NFS export written as host:/path, which the '
                     'driver mounts under cinder_ext_mount_point_base, or '
                     'the absolute path of a directory on an already '
                     'mounted POSIX filesystem (NFS from fstab or autofs, '
                     'CephFS, GlusterFS, a local XFS for development).'),
    cfg.StrOpt('cinder_ext_mount_point_base',
               default='$state_path/mnt',
               help='Directory under which NFS exports are mounted.'),
    cfg.StrOpt('cinder_ext_mount_options',
               help='Mount options passed to mount.nfs for NFS exports, '
                    'for example "vers=4.2". NFS 4.2 enables server-side '
                    'copy and hole detection.'),
]

volume_opts = [
    cfg.BoolOpt('cinder_ext_sparse_volumes',
                default=True,
                help='Create volumes as sparse files (O(1)). When False, '
                     'volumes are fully allocated with fallocate(2), '
                     'falling back to writing zeroes only where the share '
                     'refuses fallocate. A volume type extra spec '
                     'provisioning:type=thin|thick overrides this.'),
    cfg.StrOpt('cinder_ext_copy_method',
               default='auto',
               choices=[('auto', 'reflink where the share supports it, '
                                 'otherwise a sparse-aware copy'),
                        ('reflink', 'require reflink; fail the operation '
                                    'if the share cannot clone by '
                                    'reference'),
                        ('copy', 'always copy the allocated data')],
               help='How snapshots, clones, volumes from snapshots and '
                    'reverts copy data.'),
    cfg.BoolOpt('cinder_ext_use_privsep',
                default=True,
                help='Run file operations on the shares as root through '
                     'the cinder-ext privsep daemon. Disable only when '
                     'every share is owned and writable by the user '
                     'running cinder-volume; this setting applies to the '
                     'whole process.'),
]

common_opts = [
    cfg.StrOpt('cinder_ext_unmanaged_prefix',
               default='unmanaged-',
               help='Unmanage renames a volume or snapshot file by adding '
                    'this prefix to its name, so that Cinder no longer '
                    'claims it and it can be managed again by that name.'),
]

lvm_opts = [
    cfg.StrOpt('cinder_ext_volume_group',
               default='cinder-volumes',
               help='Volume group that holds the volumes of an LVM backend '
                    '(cinder_ext.volume.lvm.LvmDriver). It must exist when '
                    'cinder-volume starts.'),
    cfg.StrOpt('cinder_ext_lvm_type',
               default='thin',
               choices=[('thin', 'thin LVs in cinder_ext_thin_pool: create, '
                                 'snapshot, clone and revert are O(1)'),
                        ('thick', 'fully allocated LVs; snapshots are COW '
                                  'snapshots and clones copy the data')],
               help='Kind of logical volume new volumes get. A volume type '
                    'extra spec provisioning:type=thin|thick overrides '
                    'it for thin backends.'),
    cfg.StrOpt('cinder_ext_thin_pool',
               default='cinder-volumes-pool',
               help='Thin pool (an LV of cinder_ext_volume_group) for thin '
                    'volumes. The driver does not create it: make it with '
                    'lvcreate -T, and let LVM grow it '
                    '(thin_pool_autoextend_threshold in lvm.conf).'),
    cfg.StrOpt('cinder_ext_volume_clear',
               default='auto',
               choices=[('auto', 'zero through the device\'s WRITE ZEROES '
                                 'offload, else discard where the device '
                                 'discards, else write zeroes'),
                        ('zero', 'zero the LV (offloaded where possible, '
                                 'else O(size) writes)'),
                        ('discard', 'discard the LV (blkdiscard); fast, but '
                                    'the old data may still read back on '
                                    'devices without deterministic zeroes '
                                    'after discard'),
                        ('none', 'no wipe: the next thick LV on these '
                                 'extents may read the old data')],
               help='How a thick LV (or a COW snapshot\'s store) is wiped '
                    'before it is removed, so the next thick volume never '
                    'reads another tenant\'s data. Thin LVs need no wipe: '
                    'the pool returns zeroes for unmapped blocks.'),
    cfg.IntOpt('cinder_ext_snapshot_reserve_percent',
               default=100, min=1, max=100,
               help='Size of a thick volume\'s COW snapshot, as a '
                    'percentage of the volume. Below 100 a snapshot whose '
                    'volume changes more than this becomes invalid.'),
    cfg.FloatOpt('cinder_ext_pool_data_limit',
                 default=90.0, min=1, max=100,
                 help='Refuse new thin volumes, snapshots and clones while '
                      'the thin pool\'s data use (percent) is at or above '
                      'this, so that writes to existing volumes never meet '
                      'a full pool. Leave room for LVM\'s autoextend.'),
    cfg.FloatOpt('cinder_ext_pool_metadata_limit',
                 default=80.0, min=1, max=100,
                 help='As cinder_ext_pool_data_limit, for the thin pool\'s '
                      'metadata use (percent); a pool whose metadata fills '
                      'up goes read-only.'),
]

backup_opts = [
    cfg.StrOpt('cinder_ext_backup_repository',
               default='$state_path/backup-cinder-ext',
               help='Directory of the backup repository the cinder-ext '
                    'backup driver writes to (local, or an NFS or other '
                    'shared mount that every cinder-backup host sees). '
                    'It is created, with the compression and chunk size '
                    'below, when it is missing or empty; the same '
                    'repository serves the cinder-ext-backup command.'),
    cfg.StrOpt('cinder_ext_backup_compression',
               default='zstd', choices=['zstd', 'zlib', 'none'],
               help='Compression of a new repository\'s chunks. An '
                    'existing repository keeps the compression it was '
                    'created with.'),
    cfg.IntOpt('cinder_ext_backup_chunk_size',
               default=4 * 1024 * 1024, min=64 * 1024,
               help='Chunk size in bytes (a power of two) of a new '
                    'repository: the unit of deduplication and of '
                    'incremental change.'),
    cfg.StrOpt('cinder_ext_backup_key_file',
               help='File whose bytes are the key of an encrypted '
                    'repository (AES-256-GCM, key derived by HKDF). A '
                    'repository created while this is set is encrypted; '
                    'without it an encrypted repository cannot be read.'),
    cfg.IntOpt('cinder_ext_backup_workers', min=1,
               help='Compression and hashing threads per backup or '
                    'restore (default: twice the CPUs, 4 to 8).'),
    cfg.FloatOpt('cinder_ext_backup_lock_timeout', default=600, min=0,
                 help='Seconds a backup, restore or delete waits for the '
                      'repository lock held by a prune or garbage '
                      'collection before it fails.'),
    cfg.BoolOpt('cinder_ext_backup_snapshot_base', default=True,
                help='For a volume file on a filesystem with reflinks, '
                     'keep a hidden reflink of the backed-up state next '
                     'to the volume (.cinder_ext-backup-base-<volume id>) '
                     'so that the next incremental reads only the extents '
                     'that changed. Without it incrementals compare the '
                     'hashes of all allocated data.'),
]

cinder_ext_opts = share_opts + volume_opts + common_opts
lvm_driver_opts = common_opts + lvm_opts


def list_opts():
    """Options for oslo-config-generator, by the section they go in.

    The backend options live in each backend's own section; the generator
    shows them under [backend], as cinder's own sample does.
    """
    backend = list(itertools.chain(share_opts, volume_opts, common_opts,
                                   lvm_opts))
    return [('backend', copy.deepcopy(backend)),
            ('DEFAULT', copy.deepcopy(backup_opts))]
