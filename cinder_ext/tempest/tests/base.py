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
"""Base class of the cinder-ext tempest tests.

Uses only tempest's stable interfaces (tempest.lib, tempest.config,
tempest.test, tempest.common.waiters); never tempest.api.
"""

import os

from tempest.common import waiters
from tempest import config
from tempest.lib.common import api_version_utils
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils
from tempest import test

from cinder_ext.tempest.services import volumes_ext_client

CONF = config.CONF

MiB = 1024 * 1024


class BaseCinderExtTest(api_version_utils.BaseMicroversionTest,
                        test.BaseTestCase):
    """Admin and primary clients, resource helpers with class cleanup."""

    credentials = ['primary', 'admin']
    # 3.16: manage into a cluster; 3.17: list manageable volumes by cluster.
    min_microversion = '3.17'
    max_microversion = 'latest'

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.service_available.cinder:
            raise cls.skipException('Cinder is not available')
        if not CONF.cinder_ext.run_tests:
            raise cls.skipException('[cinder_ext] run_tests is False')
        api_version_utils.check_skip_with_microversion(
            cls.min_microversion, cls.max_microversion,
            CONF.volume.min_microversion, CONF.volume.max_microversion)

    @classmethod
    def setup_credentials(cls):
        cls.set_network_resources()
        super().setup_credentials()

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.volumes_client = cls.os_primary.volumes_client_latest
        cls.snapshots_client = cls.os_primary.snapshots_client_latest
        cls.admin_volumes_client = cls.os_admin.volumes_client_latest
        cls.admin_snapshots_client = cls.os_admin.snapshots_client_latest
        cls.admin_volume_manage_client = (
            cls.os_admin.volume_manage_client_latest)
        cls.admin_snapshot_manage_client = (
            cls.os_admin.snapshot_manage_client_latest)
        cls.admin_scheduler_stats_client = (
            cls.os_admin.volume_scheduler_stats_client_latest)
        params = config.service_client_config('volume')
        cls.ext_client = volumes_ext_client.VolumesExtClient(
            cls.os_primary.auth_provider, **params)
        cls.admin_ext_client = volumes_ext_client.VolumesExtClient(
            cls.os_admin.auth_provider, **params)

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.request_microversion = (
            api_version_utils.select_request_microversion(
                cls.min_microversion, CONF.volume.min_microversion))
        cls.setup_api_microversion_fixture(
            volume_microversion=cls.request_microversion)

    # ---------------------------------------------------------- resources
    @classmethod
    def create_volume(cls, wait_until='available', **kwargs):
        kwargs.setdefault('size', CONF.volume.volume_size)
        kwargs.setdefault('name', data_utils.rand_name(
            prefix='cinder-ext', name=cls.__name__ + '-volume'))
        if CONF.volume.volume_type:
            kwargs.setdefault('volume_type', CONF.volume.volume_type)
        volume = cls.volumes_client.create_volume(**kwargs)['volume']
        cls.addClassResourceCleanup(
            cls.volumes_client.wait_for_resource_deletion, volume['id'])
        cls.addClassResourceCleanup(test_utils.call_and_ignore_notfound_exc,
                                    cls.volumes_client.delete_volume,
                                    volume['id'])
        if wait_until:
            waiters.wait_for_volume_resource_status(
                cls.volumes_client, volume['id'], wait_until)
        return cls.volumes_client.show_volume(volume['id'])['volume']

    @classmethod
    def create_snapshot(cls, volume_id, **kwargs):
        kwargs.setdefault('name', data_utils.rand_name(
            prefix='cinder-ext', name=cls.__name__ + '-snapshot'))
        snapshot = cls.snapshots_client.create_snapshot(
            volume_id=volume_id, **kwargs)['snapshot']
        cls.addClassResourceCleanup(
            cls.snapshots_client.wait_for_resource_deletion, snapshot['id'])
        cls.addClassResourceCleanup(test_utils.call_and_ignore_notfound_exc,
                                    cls.snapshots_client.delete_snapshot,
                                    snapshot['id'])
        waiters.wait_for_volume_resource_status(
            cls.snapshots_client, snapshot['id'], 'available')
        return cls.snapshots_client.show_snapshot(snapshot['id'])['snapshot']

    def admin_show_volume(self, volume_id):
        return self.admin_volumes_client.show_volume(volume_id)['volume']

    def manage_volume(self, host, source_name, **kwargs):
        """Manage source_name on host; the volume, deleted at cleanup."""
        kwargs.setdefault('name', data_utils.rand_name(
            prefix='cinder-ext', name=self.__class__.__name__ + '-managed'))
        if CONF.volume.volume_type:
            kwargs.setdefault('volume_type', CONF.volume.volume_type)
        volume = self.admin_volume_manage_client.manage_volume(
            host=host, ref={'source-name': source_name},
            **kwargs)['volume']
        self.addCleanup(self.admin_volumes_client.wait_for_resource_deletion,
                        volume['id'])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.admin_volumes_client.delete_volume,
                        volume['id'])
        return volume

    def unmanage_volume(self, volume_id):
        self.admin_volumes_client.unmanage_volume(volume_id)
        self.admin_volumes_client.wait_for_resource_deletion(volume_id)

    # ---------------------------------------------------------- files
    @staticmethod
    def share_path():
        """The share directory when it is visible here, else None."""
        path = CONF.cinder_ext.share_path
        if path and os.path.isdir(path):
            return path
        return None

    def volume_file(self, volume_id):
        return os.path.join(self.share_path(),
                            CONF.cinder_ext.volume_template % volume_id)

    def snapshot_file(self, snapshot_id):
        return os.path.join(self.share_path(),
                            CONF.cinder_ext.snapshot_template % snapshot_id)

    @staticmethod
    def pattern(text):
        text = text.encode()
        return (text * (MiB // len(text) + 1))[:MiB]

    def write_pattern(self, path, text):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, self.pattern(text), 0)
            os.fsync(fd)
        finally:
            os.close(fd)

    def assertPattern(self, path, text):
        with open(path, 'rb') as f:
            got = f.read(MiB)
        self.assertTrue(got == self.pattern(text),
                        '%s does not hold pattern %r' % (path, text))
