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

"""Share specs, NFS mounting through os-brick, and NFS connection info.

No NFS client runs here: the executor that os-brick hands its mount
command to is the boundary these tests stand in for.  It mounts a tmpfs
in the export's place (root only), so the driver sees a real mount
point; mkdir runs for real.
"""

import os

from cinder import exception as cinder_exception
from oslo_concurrency import processutils

from cinder_ext import exception
from cinder_ext.storage import shares
from tests import base


_run = processutils.execute


class RecordingExecutor:
    """Records commands; ``mount -t nfs`` mounts a tmpfs instead."""

    def __init__(self):
        self.commands = []
        self.mounted = []

    def __call__(self, *cmd, **kwargs):
        self.commands.append(cmd)
        if cmd[0] == 'mkdir':
            return _run(*cmd)
        if cmd[0] == 'mount' and '-t' in cmd:
            target = cmd[-1]
            _run('mount', '-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', target)
            self.mounted.append(target)
        return '', ''

    def unmount_all(self):
        while self.mounted:
            _run('umount', self.mounted.pop())


class ShareSpecTest(base.test.TestCase):

    def test_forms(self):
        self.assertTrue(shares.is_nfs_export('nfs1:/srv/cinder'))
        self.assertTrue(shares.is_nfs_export('[fd00::1]:/srv'))
        self.assertFalse(shares.is_nfs_export('/mnt/share'))
        for bad in ([], ['relative/path'], ['/a', '/a'], ['host:relative']):
            self.assertRaises(exception.ShareUnavailable, shares.validate,
                              bad)


class NfsShareTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        if os.getuid() != 0:
            self.skipTest('bind-mounting an export stand-in needs root')
        self.executor = RecordingExecutor()
        self.addCleanup(self.executor.unmount_all)
        self.base_dir = os.path.join(self.share, 'mnt')
        self.patch('cinder_ext.volume.nfs.processutils.execute',
                   self.executor)
        self.driver = self.make_driver(
            shares=['nfs1.example.com:/srv/cinder'],
            cinder_ext_mount_point_base=self.base_dir,
            cinder_ext_mount_options='vers=4.2',
            cinder_ext_use_privsep=False)

    def test_mounts_with_options_under_base(self):
        mounts = [c for c in self.executor.commands if c[0] == 'mount']
        self.assertEqual(1, len(mounts))
        cmd = mounts[0]
        self.assertIn('nfs1.example.com:/srv/cinder', cmd)
        self.assertIn('vers=4.2', ' '.join(cmd))
        root = self.driver.shares.mount_point('nfs1.example.com:/srv/cinder')
        self.assertTrue(root.startswith(self.base_dir + '/'))
        self.assertIn(root, cmd)

    def test_nfs_connection_info(self):
        vol = self.created_volume()
        info = self.driver.initialize_connection(vol, {'host': 'compute1'})
        self.assertEqual('nfs', info['driver_volume_type'])
        self.assertEqual({'export': 'nfs1.example.com:/srv/cinder',
                          'name': vol.name, 'format': 'raw',
                          'options': '-o vers=4.2'}, info['data'])
        self.assertEqual(self.base_dir, info['mount_point_base'])

    def test_unknown_share_in_provider_location(self):
        vol = self.volume(provider_location='other:/export')
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.extend_volume, vol, 2)

    def test_export_unmounted_under_the_driver_is_mounted_again(self):
        root = self.driver.shares.mount_point('nfs1.example.com:/srv/cinder')
        self.executor.unmount_all()
        vol = self.created_volume()
        mounts = [c for c in self.executor.commands if c[0] == 'mount']
        self.assertEqual(2, len(mounts))
        self.assertTrue(os.path.ismount(root))
        # The volume went to the (new) export, not into the bare mount
        # point, which is empty once the export is gone again.
        self.assertTrue(os.path.exists(os.path.join(root, vol.name)))
        self.executor.unmount_all()
        self.assertEqual([], os.listdir(root))

    def test_mount_point_is_os_bricks(self):
        from cinder_ext.privileged import roots
        self.assertEqual(
            self.driver.shares.mount_point('nfs1.example.com:/srv/cinder'),
            roots.nfs_mount_point(self.base_dir,
                                  'nfs1.example.com:/srv/cinder'))
