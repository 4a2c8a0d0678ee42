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
    cfg.StrOpt('cinder_ext_unmanaged_prefix',
               default='unmanaged-',
               help='Unmanage renames a volume or snapshot file by adding '
                    'this prefix to its name, so that Cinder no longer '
                    'claims it and it can be managed again by that name.'),
    cfg.BoolOpt('cinder_ext_use_privsep',
                default=True,
                help='Run file operations on the shares as root through '
                     'the cinder-ext privsep daemon. Disable only when '
                     'every share is owned and writable by the user '
                     'running cinder-volume; this setting applies to the '
                     'whole process.'),
]

cinder_ext_opts = share_opts + volume_opts


def list_opts():
    """Options for oslo-config-generator, by the section they go in.

    The backend options live in each backend's own section; the generator
    shows them under [backend], as cinder's own sample does.
    """
    return [('backend', copy.deepcopy(list(itertools.chain(
        share_opts, volume_opts))))]
