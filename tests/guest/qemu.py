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

"""The qemu command line of a test guest instance.

TCG only (KVM hangs on these hosts), 512 MB, one vCPU, tb-size 64 to bound
host memory.  The guest's root is the host's, read-only over 9p, so the
host's binaries and venvs run in it.  No network unless forwards are asked
for: then qemu user networking with ``restrict=on`` (the guest reaches only
the guestfwd addresses, each relayed to a 127.0.0.1 port on the host).
"""

import os
import sys

from tests.guest import config

GUEST_FWD_ADDRESS = '10.0.2.100'   # guest dials this:port for host:port


def argv(name, build, disks, memory_mb=config.DEFAULT_MEMORY_MB,
         guest_forwards=(), host_forwards=(), cache_9p='loose', rw_dirs=(),
         cpus=1):
    """qemu's argv.

    ``disks``: dicts with ``path``, ``serial`` and ``shared`` (attached to
    several instances: no image locking, ``share-rw``).
    ``guest_forwards``: host ports the guest reaches at GUEST_FWD_ADDRESS.
    ``host_forwards``: (host_port, guest_port) pairs on 127.0.0.1.
    ``rw_dirs``: host directories exported writable, tags ``rw_tag(i)``.
    ``cpus``: virtual CPUs; under TCG each is a host thread (MTTCG).
    """
    rd = config.run_dir(name)
    cmdline = ' '.join([
        'console=ttyS0', 'panic=-1', 'loglevel=4',
        'ceg.name=%s' % name, 'ceg.cache=%s' % cache_9p,
        'ceg.tmpfs=%dm' % (memory_mb // 2),
        'ceg.modules=%s' % build['modules_dir'], 'ceg.top=%s' % config.TOP,
        'ceg.net=%d' % bool(guest_forwards or host_forwards)])
    args = [
        'qemu-system-x86_64', '-name', 'cinder-ext-guest-%s' % name,
        '-accel', 'tcg,tb-size=64', '-m', str(memory_mb), '-smp', str(cpus),
        '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
        '-kernel', build['kernel_image'], '-initrd', build['initrd'],
        '-append', cmdline,
        '-serial', 'file:%s' % os.path.join(rd, 'console.log'),
        '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,'
                   'readonly=on,multidevs=remap',
        '-device', 'virtio-serial-pci',
        '-chardev', 'pipe,id=cmd,path=%s' % os.path.join(rd, 'cmd'),
        '-device', 'virtserialport,chardev=cmd,name=%s' % config.PORT_NAME,
    ]
    for i, path in enumerate(rw_dirs):
        args += ['-virtfs', 'local,path=%s,mount_tag=%s,security_model=none,'
                            'multidevs=remap' % (path, rw_tag(i))]
    for i, disk in enumerate(disks):
        args += ['-drive', 'file=%s,format=raw,if=none,id=d%d,cache=unsafe,'
                           'discard=unmap%s'
                 % (disk['path'], i,
                    ',file.locking=off' if disk.get('shared') else ''),
                 '-device', 'virtio-blk-pci,drive=d%d,serial=%s%s'
                 % (i, disk['serial'],
                    ',share-rw=on' if disk.get('shared') else '')]
    if guest_forwards or host_forwards:
        nic = 'user,model=virtio-net-pci,restrict=on'
        fwd = os.path.join(config.PACKAGE_DIR, 'tcpfwd.py')
        for port in guest_forwards:
            nic += (',guestfwd=tcp:%s:%d-cmd:%s %s 127.0.0.1 %d'
                    % (GUEST_FWD_ADDRESS, port, sys.executable, fwd, port))
        for host_port, guest_port in host_forwards:
            nic += ',hostfwd=tcp:127.0.0.1:%d-:%d' % (host_port, guest_port)
        args += ['-nic', nic]
    else:
        args += ['-nic', 'none']
    return args


def rw_tag(index):
    """The 9p mount tag of the index-th writable host directory."""
    return 'hostrw%d' % index
