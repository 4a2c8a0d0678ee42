"""Share specs, NFS mounting through os-brick, and NFS connection info.

No NFS client runs here: the executor that os-brick hands its mount
command to is the boundary these tests stand in for; mkdir runs for real.
"""

import os

from cinder import exception as cinder_exception
from oslo_concurrency import processutils

from cinder_ext import exception
from cinder_ext.storage import shares
from tests import base


_run = processutils.execute


class RecordingExecutor:
    def __init__(self):
        self.commands = []

    def __call__(self, *cmd, **kwargs):
        self.commands.append(cmd)
        if cmd[0] == 'mkdir':
            return _run(*cmd)
        return '', ''


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
        self.executor = RecordingExecutor()
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
                          'options': 'vers=4.2'}, info['data'])
        self.assertEqual(self.base_dir, info['mount_point_base'])

    def test_unknown_share_in_provider_location(self):
        vol = self.volume(provider_location='other:/export')
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.extend_volume, vol, 2)
