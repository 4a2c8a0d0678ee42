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

"""Backups through Cinder's API, with the data checked on the share when
it is visible: an incremental chain restores each state, and a backup of
an in-use volume comes from the temporary copy Cinder takes of it."""

from oslo_serialization import base64
from oslo_serialization import jsonutils as json
from tempest.common import waiters
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils
from tempest.lib import decorators

from cinder_ext.tempest.tests import base

CONF = config.CONF
# what os-brick reports for a host without iSCSI/FC: enough for the
# driver's file attach (path shares: gpfs; NFS exports: nfs)
CONNECTOR = {'host': 'cinder-ext-tempest', 'ip': '127.0.0.1',
             'platform': 'x86_64', 'os_type': 'linux', 'multipath': False}


class BaseBackupTest(base.BaseCinderExtTest):

    # 3.44: attachments can be completed (the in-use test)
    min_microversion = '3.44'

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.volume_feature_enabled.backup:
            raise cls.skipException('Cinder backup is not enabled')

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.backups_client = cls.os_primary.backups_client_latest

    def create_backup(self, volume_id, **kwargs):
        kwargs.setdefault('name', data_utils.rand_name(
            prefix='cinder-ext', name=self.__class__.__name__ + '-backup'))
        backup = self.backups_client.create_backup(
            volume_id=volume_id, **kwargs)['backup']
        self.addCleanup(self.backups_client.wait_for_resource_deletion,
                        backup['id'])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.backups_client.delete_backup, backup['id'])
        waiters.wait_for_volume_resource_status(
            self.backups_client, backup['id'], 'available')
        return self.backups_client.show_backup(backup['id'])['backup']

    def restore_to_new_volume(self, backup):
        volume = self.create_volume(size=backup['size'])
        self.backups_client.restore_backup(backup['id'],
                                           volume_id=volume['id'])
        waiters.wait_for_volume_resource_status(
            self.backups_client, backup['id'], 'available')
        waiters.wait_for_volume_resource_status(
            self.volumes_client, volume['id'], 'available')
        return volume


class BackupTest(BaseBackupTest):

    @decorators.idempotent_id('0b0c3d33-8d0e-4a57-93c4-0f8f0fbd1b6e')
    def test_incremental_chain_restores_each_state(self):
        vol = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'state-1')
        full = self.create_backup(vol['id'])
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'state-2')
        incr = self.create_backup(vol['id'], incremental=True)
        self.assertTrue(incr['is_incremental'])
        self.assertFalse(full['is_incremental'])

        restored_incr = self.restore_to_new_volume(incr)
        restored_full = self.restore_to_new_volume(full)
        if self.share_path():
            self.assertPattern(self.volume_file(restored_incr['id']),
                               'state-2')
            self.assertPattern(self.volume_file(restored_full['id']),
                               'state-1')
        # a restore into the volume the backup came from
        self.backups_client.restore_backup(full['id'], volume_id=vol['id'])
        waiters.wait_for_volume_resource_status(
            self.volumes_client, vol['id'], 'available')
        if self.share_path():
            self.assertPattern(self.volume_file(vol['id']), 'state-1')

    @decorators.idempotent_id('6d4b7c1e-57f3-4a0e-a3a4-9c2e3b1d7f20')
    def test_backup_of_an_in_use_volume(self):
        """Cinder backs up an in-use volume from a temporary clone (an
        instant reflink on this driver), never from the live file."""
        vol = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'in-use')
        # No Nova here: attach through the attachments API as a host
        # attach does (no instance; the driver's initialize_connection
        # runs), then complete it.
        attachment = self.ext_client.create_attachment(
            vol['id'], CONNECTOR)['attachment']
        self.addCleanup(waiters.wait_for_volume_resource_status,
                        self.volumes_client, vol['id'], 'available')
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.ext_client.delete_attachment, attachment['id'])
        self.ext_client.complete_attachment(attachment['id'])
        waiters.wait_for_volume_resource_status(
            self.volumes_client, vol['id'], 'in-use')

        backup = self.create_backup(vol['id'], force=True)
        waiters.wait_for_volume_resource_status(
            self.volumes_client, vol['id'], 'in-use')
        restored = self.restore_to_new_volume(backup)
        if self.share_path():
            self.assertPattern(self.volume_file(restored['id']), 'in-use')


class BackupRecordTest(BaseBackupTest):
    """Export and import of a backup's record, as tempest's own test does
    it (imported under a new id beside the original), but without its
    check that the backup service is an in-tree driver."""

    credentials = ['primary', 'admin']

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.admin_backups_client = cls.os_admin.backups_client_latest

    @decorators.idempotent_id('d8a4f0a2-1c4e-4f57-9a2b-3c6f4e2b9d11')
    def test_export_import_under_a_new_id(self):
        vol = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'record')
        backup = self.create_backup(vol['id'])
        record = self.admin_backups_client.export_backup(
            backup['id'])['backup-record']
        self.assertEqual(
            'cinder_ext.backup.cinder_driver.CinderExtBackupDriver',
            record['backup_service'])
        fields = json.loads(base64.decode_as_text(record['backup_url']))
        new_id = data_utils.rand_uuid()
        fields['id'] = new_id
        imported = self.admin_backups_client.import_backup(
            backup_service=record['backup_service'],
            backup_url=base64.encode_as_text(json.dumps(fields)))['backup']
        self.addCleanup(self.admin_backups_client.wait_for_resource_deletion,
                        new_id)
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.admin_backups_client.delete_backup, new_id)
        self.assertEqual(new_id, imported['id'])
        waiters.wait_for_volume_resource_status(
            self.admin_backups_client, new_id, 'available')

        # the original goes; the imported copy still restores
        self.backups_client.delete_backup(backup['id'])
        self.backups_client.wait_for_resource_deletion(backup['id'])
        restored = self.create_volume()
        self.admin_backups_client.restore_backup(new_id,
                                                 volume_id=restored['id'])
        waiters.wait_for_volume_resource_status(
            self.admin_backups_client, new_id, 'available')
        waiters.wait_for_volume_resource_status(
            self.volumes_client, restored['id'], 'available')
        if self.share_path():
            self.assertPattern(self.volume_file(restored['id']), 'record')
