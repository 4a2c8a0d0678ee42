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

"""Where the test guest keeps its artefacts and its running instances."""

import os
import re

CACHE = os.environ.get('CINDER_EXT_GUEST_CACHE', '/var/cache/cinder-ext-guest')
RUN = os.path.join(CACHE, 'run')
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(PACKAGE_DIR, 'data')
TOP = os.path.dirname(os.path.dirname(PACKAGE_DIR))

# The host's binaries run in the guest (its root is the host's over 9p), so
# these are installed on the host.  Services must not start on the host.
HOST_PACKAGES = ['qemu-system-x86', 'busybox-static', 'kmod', 'lvm2',
                 'thin-provisioning-tools', 'nfs-kernel-server',
                 'nfs-common', 'rpcbind', 'xfsprogs', 'e2fsprogs',
                 'iproute2', 'util-linux', 'python3',
                 # lvmlockd with sanlock for shared VGs (data/lvmlockd.sh).
                 'lvm2-lockd', 'sanlock',
                 # partitions inside LVs for file-level archives.
                 'kpartx', 'fdisk']
KERNEL_META = 'linux-image-amd64'

# Loaded by the initramfs, in this order, to reach the host's root over 9p.
INITRAMFS_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev',
                     'virtio_pci_modern_dev', 'virtio_pci', '9pnet',
                     '9pnet_virtio', 'netfs', 'fscache', '9p', 'overlay']

PORT_NAME = 'cinder-ext.cmd'
DEFAULT_NAME = 'default'
DEFAULT_MEMORY_MB = 512
EXPORT_DISK_SIZE = 4 * 1024 ** 3
EXPORT_DIR = '/export'
BOOT_TIMEOUT = 180

_NAME = re.compile(r'^[a-z0-9][a-z0-9-]{0,30}$')
_SIZE = re.compile(r'^(\d+)([KMGT]?)$')
_UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}


class GuestError(Exception):
    """The test guest could not be built, started or reached."""


def check_name(name):
    if not _NAME.match(name or ''):
        raise GuestError('bad guest name %r: want [a-z0-9-], up to 31 '
                         'characters' % (name,))
    return name


def run_dir(name):
    return os.path.join(RUN, check_name(name))


def parse_size(text):
    """'8G' -> bytes."""
    match = _SIZE.match(text.strip().upper())
    if not match:
        raise GuestError('bad size %r: want e.g. 512M or 8G' % (text,))
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_disks(text):
    """'2x8G,1G' -> [8G, 8G, 1G] in bytes."""
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(','))):
        count, _, size = part.rpartition('x')
        sizes.extend([parse_size(size)] * (int(count) if count else 1))
    return sizes
