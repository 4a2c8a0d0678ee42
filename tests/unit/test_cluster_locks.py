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

"""A cluster refuses tooz's file driver unless its directory is shared."""

import os

from cinder import exception as cinder_exception
import fixtures
import testtools

from cinder_ext import coordination_check
from tests import base

MOUNTS = """\
/dev/vda / ext4 rw 0 0
server:/locks /var/lib/cinder/shared-locks nfs4 rw 0 0
/dev/vdb /var/lib/cinder/shared-locks/local xfs rw 0 0
"""


class FilesystemOfTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.mounts = self.useFixture(fixtures.TempDir()).join('mounts')
        with open(self.mounts, 'w') as f:
            f.write(MOUNTS)

    def local(self, url):
        return coordination_check.node_local_lock_dir(url, self.mounts)

    def test_network_and_local_directories(self):
        self.assertIsNone(self.local(
            'file:///var/lib/cinder/shared-locks/cinder'))
        self.assertEqual('/var/lib/cinder/shared-locks/local/x',
                         self.local(
                             'file:///var/lib/cinder/shared-locks/local/x'))
        self.assertEqual('/var/lib/cinder', self.local(
            'file:///var/lib/cinder'))

    def test_servers_are_never_node_local(self):
        for url in ('etcd3+http://127.0.0.1:2379', 'redis://127.0.0.1:6379',
                    'zookeeper://127.0.0.1:2181'):
            self.assertIsNone(self.local(url))


class ClusterStartupTest(base.DriverTestCase):

    def test_cluster_with_local_file_locks_is_refused(self):
        lock_dir = os.path.join(self.share, 'locks')
        self.override_config('backend_url', 'file://' + lock_dir,
                             group='coordination')
        err = self.assertRaises(cinder_exception.InvalidConfigurationValue,
                                self.make_driver, cluster_name='cluster1')
        self.assertIn('[coordination] backend_url', str(err))

    def test_single_service_may_use_file_locks(self):
        self.assertIsNotNone(self.make_driver())

    def test_cluster_with_lock_server_is_accepted(self):
        self.override_config('backend_url', 'etcd3+http://127.0.0.1:2379',
                             group='coordination')
        self.assertIsNotNone(self.make_driver(cluster_name='cluster1'))
