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

"""A path share unmounted under a running driver is refused, never
written into; mounted again, it serves again.  Needs root (loop mount).
"""

import os
import subprocess

from cinder import exception as cinder_exception

from tests import base

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TESTFS = os.path.join(TOP, 'tools', 'testfs')
MOUNT = '/tmp/cinder-ext-unmount-test'


class UnmountedShareTest(base.DriverTestCase):
    share_dir = MOUNT

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest('loop mounts need root')
        subprocess.run([TESTFS, 'up', 'xfs', MOUNT, '300M'], check=True,
                       stdout=subprocess.DEVNULL)
        self.addCleanup(subprocess.run, [TESTFS, 'down', MOUNT], check=True)
        super().setUp()

    def test_unmounted_share_is_refused_then_served_again(self):
        vol = self.created_volume()
        image = MOUNT + '.img'
        subprocess.run(['umount', MOUNT], check=True)
        try:
            self.assertRaises(cinder_exception.VolumeBackendAPIException,
                              self.driver.create_volume, self.volume())
            self.assertRaises(cinder_exception.VolumeBackendAPIException,
                              self.driver.extend_volume, vol, 2)
            self.driver._update_volume_stats()
            self.assertEqual(0, self.driver._stats['shares'])
            # Nothing was written into the bare mount point.
            self.assertEqual([], os.listdir(MOUNT))
        finally:
            subprocess.run(['mount', '-o', 'loop', image, MOUNT], check=True)
        self.driver.extend_volume(vol, 2)
        self.assertEqual(2 * base.GiB, os.path.getsize(self.path(vol.name)))
        self.assertEqual({'provider_location': MOUNT},
                         self.driver.create_volume(self.volume()))
