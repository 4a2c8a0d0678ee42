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

"""Boot the attach test guest on the disk Nova's XML describes.

libvirt is not run: ``disk_args`` turns Nova's ``<disk>`` element into the
``-blockdev``/``-device`` arguments libvirt 9 generates for it (a storage
node, a format node, a virtio-blk device; cache modes as libvirt maps
them), and refuses any element or attribute it does not know, so nothing
Nova says is silently dropped.  The guest (tools/attach/guest-kit) writes
and reads the test pattern on the disk whose serial it is given and prints
``ATTACH-*`` lines on the serial console.
"""

import json
import os
import re
import subprocess
import time
from xml.etree import ElementTree

from tests.functional.attach import pattern

KIT = os.environ.get('CINDER_EXT_ATTACH_CACHE', '/var/cache/cinder-ext-attach')
# virtio-blk shows the guest at most 20 bytes of the serial
SERIAL_BYTES = 20

# libvirt's cache modes: (cache.direct, cache.no-flush, write-cache)
_CACHE = {'none': (True, False, True),
          'writethrough': (False, False, False),
          'writeback': (False, False, True),
          'directsync': (True, False, False),
          'unsafe': (False, True, True)}
_SOURCE = {'file': ('file', 'file'), 'block': ('host_device', 'dev')}
_DRIVER_ATTRS = {'name', 'type', 'cache', 'io', 'discard'}
_CHILDREN = {'driver', 'alias', 'source', 'target', 'serial', 'readonly'}


class UnsupportedDisk(Exception):
    """Nova's XML holds something this translation does not know."""


class GuestFailed(Exception):
    """The guest did not end with ATTACH-DONE."""

    def __init__(self, why, console):
        super().__init__('%s; console:\n%s' % (why, console[-4000:]))
        self.console = console


def _check(condition, what):
    if not condition:
        raise UnsupportedDisk(what)


def _parse(xml):
    """Nova's ``<disk>`` as libvirt's storage node, format node, device."""
    disk = ElementTree.fromstring(xml)
    _check(disk.tag == 'disk' and disk.get('device') == 'disk',
           'not a disk: %s' % xml)
    unknown = {child.tag for child in disk} - _CHILDREN
    _check(not unknown, 'unknown elements %s' % sorted(unknown))
    driver = disk.find('driver')
    _check(driver is not None and driver.get('name') == 'qemu',
           'driver must be qemu')
    _check(set(driver.attrib) <= _DRIVER_ATTRS,
           'unknown driver attributes %s' % sorted(driver.attrib))
    _check(disk.get('type') in _SOURCE, 'disk type %s' % disk.get('type'))
    protocol, attr = _SOURCE[disk.get('type')]
    source = disk.find('source')
    _check(source is not None and set(source.attrib) == {attr},
           'source must have only %s' % attr)
    target = disk.find('target')
    _check(target is not None and target.get('bus') == 'virtio',
           'only the virtio bus is translated')
    direct, no_flush, write_cache = _CACHE[driver.get('cache', 'writeback')]
    cache = {'direct': direct, 'no-flush': no_flush}

    storage = {'driver': protocol, 'filename': source.get(attr),
               'node-name': 'libvirt-1-storage', 'cache': cache,
               'auto-read-only': True}
    if driver.get('io'):
        storage['aio'] = driver.get('io')
    if driver.get('discard'):
        storage['discard'] = driver.get('discard')
    fmt = {'node-name': 'libvirt-1-format', 'driver': driver.get('type'),
           'file': 'libvirt-1-storage', 'cache': cache,
           'read-only': disk.find('readonly') is not None}
    device = {'driver': 'virtio-blk-pci', 'drive': 'libvirt-1-format',
              'write-cache': 'on' if write_cache else 'off'}
    alias = disk.find('alias')
    if alias is not None:
        device['id'] = alias.get('name')
    serial = disk.findtext('serial')
    if serial:
        device['serial'] = serial
    return storage, fmt, device


def disk_args(xml):
    """qemu arguments for Nova's ``<disk>``, and the serial the guest sees."""
    storage, fmt, device = _parse(xml)
    args = ['-blockdev', json.dumps(storage), '-blockdev', json.dumps(fmt),
            '-device', json.dumps(device)]
    return args, device.get('serial', '')[:SERIAL_BYTES]


def image_json(xml):
    """The same storage and format nodes as one ``json:`` image name."""
    storage, fmt, _device = _parse(xml)
    image = {k: v for k, v in fmt.items() if k not in ('node-name', 'file')}
    image['file'] = {k: v for k, v in storage.items()
                     if k not in ('node-name', 'auto-read-only')}
    return 'json:' + json.dumps(image)


_HEX = re.compile(r'^([0-9a-f]{8}):  ((?:[0-9a-f]{2} )*[0-9a-f]{2})', re.M)


def qemu_io(xml, write=None, read=(), workdir='/tmp'):
    """qemu's block layer on Nova's disk without a guest (for nested use).

    ``write`` = (seed, [MiB offsets]) of the pattern; returns
    {offset: sha256} of the MiB read at each offset of ``read``.
    """
    commands, blocks = [], []
    for offset in (write[1] if write else ()):
        path = os.path.join(workdir, 'attach-block-%d' % offset)
        with open(path, 'wb') as f:
            f.write(pattern.block(write[0], offset))
        blocks.append(path)
        commands += ['-c', 'write -q -s %s %d %d' % (
            path, offset * pattern.MiB, pattern.MiB)]
    for offset in read:
        commands += ['-c', 'read -v %d %d' % (offset * pattern.MiB,
                                              pattern.MiB)]
    try:
        out = subprocess.run(['qemu-io'] + commands + [image_json(xml)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, check=False)
    finally:
        for path in blocks:
            os.unlink(path)
    text = out.stdout.decode('utf-8', 'replace')
    if out.returncode != 0 or 'failed' in text:
        raise GuestFailed('qemu-io exited with %d' % out.returncode, text)
    data = {}
    for address, hexbytes in _HEX.findall(text):
        data[int(address, 16)] = bytes.fromhex(hexbytes.replace(' ', ''))
    digests = {}
    for offset in read:
        start = offset * pattern.MiB
        chunk = b''.join(data.get(start + i, b'')
                         for i in range(0, pattern.MiB, 16))
        _check(len(chunk) == pattern.MiB, 'qemu-io read %d bytes at %d MiB'
               % (len(chunk), offset))
        digests[offset] = pattern.digest(chunk)
    return digests


class Boot(object):
    """One guest run: its console, the digests it read, its duration."""

    def __init__(self, console, seconds):
        self.console = console
        self.seconds = seconds
        self.reads = {int(off): digest for off, digest in
                      re.findall(r'ATTACH-READ (\d+) ([0-9a-f]{64})\s*$',
                                 console, re.M)}
        disk = re.search(r'ATTACH-DISK (\S+) (\d+)', console)
        self.sectors = int(disk.group(2)) if disk else None


def boot(xml, write=None, read=(), timeout=180):
    """Boot the guest on Nova's disk; ``write`` = (seed, [MiB offsets])."""
    args, serial = disk_args(xml)
    _check(serial, 'the guest finds its disk by serial; Nova set none')
    cmdline = ['console=ttyS0', 'panic=-1', 'quiet',
               'attach.serial=%s' % serial]
    if write:
        cmdline.append('attach.write=%s:%s' % (
            write[0], ','.join(str(o) for o in write[1])))
    if read:
        cmdline.append('attach.read=%s' % ','.join(str(o) for o in read))
    command = ['qemu-system-x86_64', '-accel', 'tcg', '-m', '256',
               '-nographic', '-nodefaults', '-no-reboot', '-serial', 'stdio',
               '-kernel', os.path.join(KIT, 'vmlinuz'),
               '-initrd', os.path.join(KIT, 'initramfs.gz'),
               '-append', ' '.join(cmdline)] + args
    start = time.monotonic()
    proc = subprocess.run(command, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    console = proc.stdout.decode('utf-8', 'replace')
    result = Boot(console, time.monotonic() - start)
    if proc.returncode != 0:
        raise GuestFailed('qemu exited with %d' % proc.returncode, console)
    if 'ATTACH-DONE' not in console:
        raise GuestFailed('the guest did not finish', console)
    return result
