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

"""Attach as Nova does it, on an already-mounted path share.

The real driver on a real share (CINDER_EXT_TEST_SHARE, e.g. loop XFS from
``tools/testfs``) answers ``initialize_connection``; Nova's own libvirt
volume driver (in the Nova venv of tools/attach/nova-venv, chosen through
Nova's ``VOLUME_DRIVERS`` map) turns that into a ``<disk>``; a TCG guest
booted on exactly that disk writes the pattern and prints what it reads;
os-brick's connector for the same protocol connects, writes through its
path and disconnects.  Then snapshot, clone and revert through the driver,
and the guest reads each result back.

Needs root, qemu and the kit of tools/attach (``tools/run-tests attach``).
"""

import os
import socket
import time
from xml.etree import ElementTree

from tests import base
from tests.functional.attach import novavenv
from tests.functional.attach import pattern
from tests.functional.attach import qemu

SHARE = os.environ.get('CINDER_EXT_TEST_SHARE')
DISK_INFO = {'bus': 'virtio', 'dev': 'vdb', 'type': 'disk'}
# What Nova's compute sends (os-brick's get_connector_properties shape).
CONNECTOR = {'host': socket.gethostname(), 'ip': '127.0.0.1',
             'platform': 'x86_64', 'os_type': 'linux', 'multipath': False,
             'do_local_attach': False}
FIRST, SECOND, HOST = 'guest-first', 'guest-second', 'host-brick'
OFFSETS = [0, 300, 512, 1023]  # MiB, across a 1 GiB volume


def skip_reason(need_share=True, need_kit=True):
    """Why these tests cannot run here; they run in tools/run-tests attach.

    They take minutes, so the functional stage (which also sets
    CINDER_EXT_TEST_SHARE) does not run them: CINDER_EXT_TEST_ATTACH=1.
    """
    if os.environ.get('CINDER_EXT_TEST_ATTACH') != '1' or os.geteuid() != 0:
        return 'needs root and CINDER_EXT_TEST_ATTACH=1 (run-tests attach)'
    if need_share and not SHARE:
        return 'needs CINDER_EXT_TEST_SHARE (tools/run-tests attach)'
    if not novavenv.available():
        return 'needs the Nova venv (tools/attach/nova-venv)'
    if need_kit and not os.path.exists(os.path.join(qemu.KIT,
                                                    'initramfs.gz')):
        return 'needs the guest kit (tools/attach/guest-kit)'
    return None


def cinder_connection(driver, ctxt, volume):
    """The driver's initialize_connection as it reaches Nova's driver.

    cinder-volume's manager adds qos_specs, access_mode, encrypted, discard
    and block sizes (its own code runs here), Nova's
    DriverVolumeBlockDevice the serial.
    """
    from cinder.volume import manager  # after cinder's objects register

    info = driver.initialize_connection(volume, CONNECTOR)
    mgr = manager.VolumeManager.__new__(manager.VolumeManager)
    mgr.driver = driver  # all that _parse_connection_options reads of it
    info = mgr._parse_connection_options(ctxt, volume, info)
    info['serial'] = volume.id
    return info


class PathShareAttachTest(base.DriverTestCase):
    share_dir = SHARE

    def setUp(self):
        reason = skip_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()
        self.addCleanup(base.empty_dir, SHARE)
        self.nova = novavenv.Session()
        self.addCleanup(self.nova.close)
        self.timings = []

    def connection(self, volume):
        return cinder_connection(self.driver, self.ctxt, volume)

    def nova_disk(self, volume):
        """Nova's libvirt volume driver: connect_volume + get_config."""
        answer = self.nova.call({'op': 'attach',
                                 'connection_info': self.connection(volume),
                                 'disk_info': DISK_INFO})
        disk = ElementTree.fromstring(answer['xml'])
        self.assertEqual(('file', 'disk'),
                         (disk.get('type'), disk.get('device')),
                         '%s made:\n%s' % (answer['driver'], answer['xml']))
        self.assertEqual(self.driver.local_path(volume),
                         disk.find('source').get('file'))
        self.assertEqual('raw', disk.find('driver').get('type'))
        if not self.timings:
            print('%s made:\n%s' % (answer['driver'], answer['xml']))
        return answer

    def boot(self, volume, write=None, expect=None):
        """Boot on Nova's disk for ``volume``; check what the guest read."""
        answer = self.nova_disk(volume)
        try:
            run = qemu.boot(answer['xml'], write=write, read=OFFSETS)
        finally:
            self.nova.call({'op': 'detach',
                           'connection_info': answer['connection_info']})
        self.timings.append(run.seconds)
        self.assertEqual(volume.size * 2 * 1024 ** 2, run.sectors)
        if expect is not None:
            self.assertEqual(expect, run.reads, run.console[-2000:])
        return run

    def brick(self, volume, write=None):
        """os-brick's connector for the protocol: connect, use, disconnect."""
        request = {'op': 'brick', 'connection_info': self.connection(volume),
                   'read': OFFSETS}
        if write:
            request['write'] = {'seed': write[0], 'offsets': write[1]}
        answer = self.nova.call(request)
        self.assertEqual(self.driver.local_path(volume),
                         answer['device_info']['path'])
        self.assertEqual(volume.size * 1024 ** 3, answer['size'])
        return {int(off): digest for off, digest in answer['read'].items()}

    @staticmethod
    def contents(*layers):
        """Expected digests: later (seed, offsets) layers win; else zeros."""
        want = {off: pattern.ZERO for off in OFFSETS}
        for seed, offsets in layers:
            want.update({off: pattern.expected(seed, off) for off in offsets})
        return want

    def test_guest_writes_and_reads_through_snapshot_clone_revert(self):
        start = time.monotonic()
        vol = self.created_volume(size=1)
        first = (FIRST, [0, 300, 1023])
        after_first = self.contents(first)

        # The guest writes; the driver's file and os-brick's path hold it.
        self.boot(vol, write=first, expect=after_first)
        self.assertEqual(after_first,
                         pattern.read(self.path(vol.name), OFFSETS))
        snap = self.created_snapshot(vol)

        # os-brick's path writes; the guest reads it, then writes more.
        host = (HOST, [512])
        self.assertEqual(self.contents(first, host),
                         self.brick(vol, write=host))
        after_second = self.contents(first, host, (SECOND, [0]))
        self.boot(vol, write=(SECOND, [0]), expect=after_second)

        from_snap = self.volume(size=1)
        from_snap.update(self.driver.create_volume_from_snapshot(from_snap,
                                                                 snap))
        from_snap.save()
        self.boot(from_snap, expect=after_first)

        clone = self.volume(size=1)
        clone.update(self.driver.create_cloned_volume(clone, vol))
        clone.save()
        self.boot(clone, expect=after_second)

        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        self.boot(vol, expect=after_first)
        self.assertEqual(after_first, self.brick(vol))
        print('path share attach: %d boots, %.1f s each (max %.1f), '
              '%.1f s in all' % (len(self.timings),
                                 sum(self.timings) / len(self.timings),
                                 max(self.timings),
                                 time.monotonic() - start))

    def test_block_disk_of_the_local_type_is_refused_by_qemu(self):
        """Why not ``local``: Nova makes it a block disk, qemu refuses it."""
        vol = self.created_volume(size=1)
        info = {'driver_volume_type': 'local', 'serial': vol.id,
                'data': {'device_path': self.driver.local_path(vol),
                         'format': 'raw'}}
        answer = self.nova.call({'op': 'attach', 'connection_info': info,
                                'disk_info': DISK_INFO})
        self.assertEqual('block',
                         ElementTree.fromstring(answer['xml']).get('type'))
        err = self.assertRaises(qemu.GuestFailed, qemu.boot, answer['xml'],
                                read=[0])
        self.assertIn('to be either a character or block device', str(err))
