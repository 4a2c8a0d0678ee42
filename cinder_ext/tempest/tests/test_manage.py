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
"""Unmanage renames, manage takes the renamed object back."""

import os
import time

from tempest.common import waiters
from tempest import config
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from cinder_ext.tempest.tests import base

CONF = config.CONF


class ManageTest(base.BaseCinderExtTest):
    """Manage/unmanage of volumes and snapshots, and the manageable lists.

    On unmanage the driver renames volume-<id> to unmanaged-volume-<id>
    (snapshot-<id> to unmanaged-snapshot-<id>); that name is what manage
    is given back.
    """

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.volume_feature_enabled.manage_volume:
            raise cls.skipException('manage_volume is disabled')

    def _unmanaged_volume_name(self, volume_id):
        return CONF.cinder_ext.unmanaged_volume_template % volume_id

    def _unmanaged_snapshot_name(self, snapshot_id):
        return CONF.cinder_ext.unmanaged_snapshot_template % snapshot_id

    def _wait_status_in(self, client, volume_id, wanted):
        """Poll until the volume status is one of wanted; return it."""
        deadline = time.time() + client.build_timeout
        while True:
            status = client.show_volume(volume_id)['volume']['status']
            if status in wanted:
                return status
            if time.time() > deadline:
                self.fail('volume %s is %s, not one of %s'
                          % (volume_id, status, wanted))
            time.sleep(client.build_interval)

    @decorators.idempotent_id('51982fab-ee24-478a-a410-109db0b62302')
    def test_unmanage_manage_volume_renamed(self):
        """An unmanaged volume is managed again under its new name, with
        its size and data."""
        vol = self.create_volume()
        vol = self.admin_show_volume(vol['id'])
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'manage-me')
        self.unmanage_volume(vol['id'])
        if self.share_path():
            self.assertFalse(os.path.exists(self.volume_file(vol['id'])))
            self.assertTrue(os.path.exists(os.path.join(
                self.share_path(), self._unmanaged_volume_name(vol['id']))))
        new = self.manage_volume(vol['os-vol-host-attr:host'],
                                 self._unmanaged_volume_name(vol['id']),
                                 availability_zone=vol['availability_zone'])
        waiters.wait_for_volume_resource_status(self.admin_volumes_client,
                                                new['id'], 'available')
        new = self.admin_show_volume(new['id'])
        self.assertEqual(vol['size'], new['size'])
        self.assertEqual(vol['volume_type'], new['volume_type'])
        if self.share_path():
            self.assertPattern(self.volume_file(new['id']), 'manage-me')
            self.assertFalse(os.path.exists(os.path.join(
                self.share_path(), self._unmanaged_volume_name(vol['id']))))

    @decorators.idempotent_id('bb44ab9e-ea36-40bd-b745-fd2332342db6')
    def test_manage_managed_volume_refused(self):
        """Managing the file of a live volume (volume-<id>) is refused and
        leaves that volume alone."""
        vol = self.create_volume()
        vol = self.admin_show_volume(vol['id'])
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'still-mine')
        ref = CONF.cinder_ext.volume_template % vol['id']
        try:
            new = self.manage_volume(vol['os-vol-host-attr:host'], ref)
        except (lib_exc.BadRequest, lib_exc.Conflict):
            pass
        else:
            status = self._wait_status_in(
                self.admin_volumes_client, new['id'],
                ('error_managing', 'error', 'available'))
            self.assertIn(status, ('error_managing', 'error'),
                          'managing %s of a live volume was accepted' % ref)
        vol = self.admin_show_volume(vol['id'])
        self.assertEqual('available', vol['status'])
        if self.share_path():
            self.assertPattern(self.volume_file(vol['id']), 'still-mine')

    @decorators.idempotent_id('f405a311-ea11-4b11-899c-e5345ef33bd3')
    def test_unmanage_manage_snapshot_renamed(self):
        """An unmanaged snapshot is managed again under its new name."""
        if not CONF.volume_feature_enabled.manage_snapshot:
            raise self.skipException('manage_snapshot is disabled')
        vol = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'snap-data')
        snap = self.create_snapshot(vol['id'])
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'later-data')
        self.admin_snapshots_client.unmanage_snapshot(snap['id'])
        self.admin_snapshots_client.wait_for_resource_deletion(snap['id'])
        if self.share_path():
            self.assertTrue(os.path.exists(os.path.join(
                self.share_path(), self._unmanaged_snapshot_name(snap['id']))))
        new = self.admin_snapshot_manage_client.manage_snapshot(
            volume_id=vol['id'],
            ref={'source-name': self._unmanaged_snapshot_name(snap['id'])},
            name=data_utils.rand_name(prefix='cinder-ext',
                                      name='managed-snapshot'))['snapshot']
        self.addCleanup(
            self.admin_snapshots_client.wait_for_resource_deletion,
            new['id'])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.admin_snapshots_client.delete_snapshot,
                        new['id'])
        waiters.wait_for_volume_resource_status(
            self.admin_snapshots_client, new['id'], 'available')
        new = self.admin_snapshots_client.show_snapshot(new['id'])['snapshot']
        self.assertEqual(snap['size'], new['size'])
        self.assertEqual(vol['id'], new['volume_id'])
        if self.share_path():
            self.assertPattern(self.snapshot_file(new['id']), 'snap-data')

    @decorators.idempotent_id('58cd8eff-e41d-4255-b2b6-9c13aaa7b895')
    def test_manageable_volumes_list(self):
        """manageable_volumes shows an unmanaged volume as safe to manage
        and never a managed one as safe."""
        managed = self.admin_show_volume(self.create_volume()['id'])
        gone = self.admin_show_volume(self.create_volume()['id'])
        self.unmanage_volume(gone['id'])
        unmanaged_name = self._unmanaged_volume_name(gone['id'])
        # take it back at the end, so that nothing is left on the share
        self.addCleanup(self._manage_and_wait, gone['os-vol-host-attr:host'],
                        unmanaged_name)
        host = gone['os-vol-host-attr:host'].split('#')[0]
        listing = self.admin_ext_client.list_manageable_volumes(
            host=host)['manageable-volumes']
        by_name = {v['reference'].get('source-name'): v for v in listing}
        self.assertIn(unmanaged_name, by_name, listing)
        entry = by_name[unmanaged_name]
        self.assertTrue(entry['safe_to_manage'], entry)
        self.assertEqual(gone['size'], entry['size'])
        managed_name = CONF.cinder_ext.volume_template % managed['id']
        if managed_name in by_name:
            self.assertFalse(by_name[managed_name]['safe_to_manage'],
                             by_name[managed_name])
            self.assertEqual(managed['id'], by_name[managed_name]['cinder_id'])

    def _manage_and_wait(self, host, source_name):
        new = self.manage_volume(host, source_name)
        waiters.wait_for_volume_resource_status(self.admin_volumes_client,
                                                new['id'], 'available')

    @decorators.idempotent_id('4c3dc4aa-b7c5-4412-8414-c9fc5021019f')
    def test_manageable_snapshots_list(self):
        """manageable_snapshots shows an unmanaged snapshot as safe to
        manage."""
        if not CONF.volume_feature_enabled.manage_snapshot:
            raise self.skipException('manage_snapshot is disabled')
        vol = self.admin_show_volume(self.create_volume()['id'])
        snap = self.create_snapshot(vol['id'])
        self.admin_snapshots_client.unmanage_snapshot(snap['id'])
        self.admin_snapshots_client.wait_for_resource_deletion(snap['id'])
        name = self._unmanaged_snapshot_name(snap['id'])

        def manage_back():
            new = self.admin_snapshot_manage_client.manage_snapshot(
                volume_id=vol['id'], ref={'source-name': name})['snapshot']
            waiters.wait_for_volume_resource_status(
                self.admin_snapshots_client, new['id'], 'available')
            self.admin_snapshots_client.delete_snapshot(new['id'])
            self.admin_snapshots_client.wait_for_resource_deletion(new['id'])
        self.addCleanup(manage_back)
        host = vol['os-vol-host-attr:host'].split('#')[0]
        listing = self.admin_ext_client.list_manageable_snapshots(
            host=host)['manageable-snapshots']
        by_name = {s['reference'].get('source-name'): s for s in listing}
        self.assertIn(name, by_name, listing)
        self.assertTrue(by_name[name]['safe_to_manage'], by_name[name])
