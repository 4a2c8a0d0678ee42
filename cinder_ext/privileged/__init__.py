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

"""The privsep context under which cinder-ext touches files as root.

cinder-volume runs as an unprivileged user; volume files on a share belong
to root (or to the NFS server's squash user).  One long-lived privsep daemon
serves every file operation at the cost of a local socket round trip, where
rootwrap would spawn a Python interpreter per command.
"""

from oslo_privsep import capabilities
from oslo_privsep import priv_context

default = priv_context.PrivContext(
    'cinder_ext',
    cfg_section='cinder_ext_privileged',
    pypath=__name__ + '.default',
    capabilities=[capabilities.CAP_DAC_OVERRIDE,
                  capabilities.CAP_DAC_READ_SEARCH,
                  capabilities.CAP_FOWNER,
                  capabilities.CAP_CHOWN,
                  # read leases tell whether a file to manage is being
                  # written by someone else
                  capabilities.CAP_LEASE],
)

# LVM commands (device-mapper ioctls, device nodes without udev) need more
# than file access; they run in a daemon of their own so that the file
# operations' daemon keeps only the capabilities above.
lvm_admin = priv_context.PrivContext(
    'cinder_ext',
    cfg_section='cinder_ext_lvm_privileged',
    pypath=__name__ + '.lvm_admin',
    capabilities=[capabilities.CAP_SYS_ADMIN,
                  capabilities.CAP_MKNOD,
                  capabilities.CAP_DAC_OVERRIDE,
                  capabilities.CAP_DAC_READ_SEARCH],
)
