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

"""Attach as Nova does it, on an NFS export (in the test guest).

This host's kernel has no NFS client, so ``GuestNfsAttachTest`` runs
``NfsExportAttachTest`` inside the test guest (tests/guest: nfsd exporting
``127.0.0.1:/export``, the host's / read-only over 9p, so both venvs are
there).  In the guest the real driver mounts the export (os-brick's
RemoteFsClient) and answers ``initialize_connection``; Nova's
LibvirtNFSVolumeDriver mounts it again where Nova mounts it and builds the
``<disk>``; qemu's block layer opens exactly that disk (``qemu-io`` on the
XML's storage and format nodes: a nested TCG boot takes ~9 minutes) to
write and read the pattern; os-brick's RemoteFsConnector (cinder's backup
and image paths) connects, writes and disconnects.  Then snapshot, clone
and revert through the driver, read back the same way.
"""

import os
import sys
import time
import unittest
from xml.etree import ElementTree

from tests import base
from tests.functional.attach import novavenv
from tests.functional.attach import pattern
from tests.functional.attach import qemu
from tests.functional.attach import test_path_share as path_share

EXPORT = os.environ.get('CINDER_EXT_TEST_NFS_EXPORT')  # set in the guest
CINDER_MNT = '/var/lib/cinder-ext-attach/cinder-mnt'
NOVA_MNT = '/var/lib/cinder-ext-attach/nova-mnt'
MOUNT_OPTIONS = 'vers=4.2'
OFFSETS = path_share.OFFSETS
FIRST, SECOND, HOST = path_share.FIRST, path_share.SECOND, path_share.HOST
IN_GUEST_TIMEOUT = 1800
GUEST = 'attach'
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def mounts():
    with open('/proc/mounts') as f:
        return {line.split()[1]: line.split()[2] for line in f}


class NfsExportAttachTest(base.DriverTestCase):
    """Runs in the test guest; skipped elsewhere."""

    def setUp(self):
        if not EXPORT:
            self.skipTest('runs in the test guest (GuestNfsAttachTest)')
        super().setUp()
        self.driver = self.make_driver(
            shares=[EXPORT], cinder_ext_mount_point_base=CINDER_MNT,
            cinder_ext_mount_options=MOUNT_OPTIONS)
        self.nova = novavenv.Session(
            env={'NOVA_NFS_MOUNT_POINT_BASE': NOVA_MNT})
        self.addCleanup(self.nova.close)
        self.volumes = []
        self.addCleanup(self.delete_volumes)

    def delete_volumes(self):
        for obj in reversed(self.volumes):
            if hasattr(obj, 'volume_size'):
                self.driver.delete_snapshot(obj)
            else:
                self.driver.delete_volume(obj)

    def connection(self, volume):
        return path_share.cinder_connection(self.driver, self.ctxt, volume)

    def use(self, volume, write=None):
        """Nova attaches, qemu writes/reads its disk, Nova detaches."""
        answer = self.nova.call({'op': 'attach',
                                 'connection_info': self.connection(volume),
                                 'disk_info': path_share.DISK_INFO})
        info = answer['connection_info']
        disk = ElementTree.fromstring(answer['xml'])
        self.assertEqual('file', disk.get('type'), answer['xml'])
        self.assertEqual(info['data']['device_path'],
                         disk.find('source').get('file'))
        mount_point = os.path.dirname(info['data']['device_path'])
        self.assertEqual(NOVA_MNT, os.path.dirname(mount_point))
        self.assertTrue(mounts().get(mount_point, '').startswith('nfs'),
                        '%s is not an NFS mount' % mount_point)
        self.assertEqual('raw', disk.find('driver').get('type'))
        print('%s made:\n%s' % (answer['driver'], answer['xml']))
        try:
            return qemu.qemu_io(answer['xml'], write=write, read=OFFSETS)
        finally:
            self.nova.call({'op': 'detach', 'connection_info': info})
            self.assertNotIn(mount_point, mounts())

    def brick(self, volume, write=None):
        request = {'op': 'brick', 'connection_info': self.connection(volume),
                   'read': OFFSETS}
        if write:
            request['write'] = {'seed': write[0], 'offsets': write[1]}
        answer = self.nova.call(request)
        self.assertEqual(self.driver.local_path(volume),
                         answer['device_info']['path'])
        return {int(off): digest for off, digest in answer['read'].items()}

    def new_volume(self, make=None, *args):
        vol = self.volume(size=1)
        vol.update((make or self.driver.create_volume)(vol, *args))
        vol.save()
        self.volumes.append(vol)
        return vol

    contents = staticmethod(path_share.PathShareAttachTest.contents)

    def test_nova_mounts_and_qemu_uses_the_file_through_snapshot_clone(self):
        start = time.monotonic()
        vol = self.new_volume()
        first = (FIRST, [0, 300, 1023])
        after_first = self.contents(first)
        self.assertEqual(after_first, self.use(vol, write=first))
        self.assertEqual(after_first,
                         pattern.read(self.driver.local_path(vol), OFFSETS))
        snap = self.created_snapshot(vol)
        self.volumes.append(snap)

        host = (HOST, [512])
        self.assertEqual(self.contents(first, host),
                         self.brick(vol, write=host))
        after_second = self.contents(first, host, (SECOND, [0]))
        self.assertEqual(after_second, self.use(vol, write=(SECOND, [0])))

        from_snap = self.new_volume(self.driver.create_volume_from_snapshot,
                                    snap)
        self.assertEqual(after_first, self.use(from_snap))
        clone = self.new_volume(self.driver.create_cloned_volume, vol)
        self.assertEqual(after_second, self.use(clone))
        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        self.assertEqual(after_first, self.use(vol))
        print('NFS export attach in the guest: %.1f s'
              % (time.monotonic() - start))


class GuestNfsAttachTest(unittest.TestCase):
    """On the host: run NfsExportAttachTest in the test guest."""

    def setUp(self):
        if EXPORT:
            self.skipTest('already in the guest')
        reason = path_share.skip_reason(need_share=False, need_kit=False)
        if reason:
            self.skipTest(reason)
        from tests.guest import Guest
        self.guest = Guest(GUEST, memory_mb=1024).start()
        self.addCleanup(self.guest.stop)

    def test_in_guest(self):
        test = '%s.NfsExportAttachTest' % __name__
        rc, out, err = self.guest.run(
            ['env', 'CINDER_EXT_TEST_NFS_EXPORT=%s' % self.guest.export,
             'PYTHONPATH=%s' % TOP, 'PYTHONWARNINGS=ignore',
             'CINDER_EXT_NOVA_VENV=%s' % novavenv.VENV,
             sys.executable, '-m', 'unittest', '-v', test],
            cwd=TOP, timeout=IN_GUEST_TIMEOUT)
        print(out[-3000:])
        self.assertEqual(0, rc, '%s\n%s' % (out[-5000:], err[-5000:]))
        self.assertIn('Ran 1 test', err)
        self.assertNotIn('skipped', err)
