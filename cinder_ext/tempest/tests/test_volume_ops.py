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
"""Clone, volume from snapshot, extend and revert on cinder-ext."""

import os

from tempest.common import waiters
from tempest import config
from tempest.lib import decorators

from cinder_ext.tempest.tests import base

CONF = config.CONF
GiB = 1024 ** 3


class VolumeOpsTest(base.BaseCinderExtTest):
    """Data-path operations, checked on the share when it is visible."""

    def _check_file_size(self, volume):
        if self.share_path():
            self.assertEqual(volume['size'] * GiB,
                             os.path.getsize(self.volume_file(volume['id'])))

    @decorators.idempotent_id('199f828f-148a-4b84-ac9e-91902fec8515')
    def test_clone_larger(self):
        """A clone may be larger than its source and keeps its data."""
        src = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(src['id']),
                               'clone-' + src['id'])
        clone = self.create_volume(source_volid=src['id'],
                                   size=src['size'] + 1)
        self.assertEqual(src['size'] + 1, clone['size'])
        self.assertEqual(src['id'], clone['source_volid'])
        self._check_file_size(clone)
        if self.share_path():
            self.assertPattern(self.volume_file(clone['id']),
                               'clone-' + src['id'])

    @decorators.idempotent_id('69837a98-ae14-481f-acfc-09933ee5414b')
    def test_volume_from_snapshot_larger(self):
        """A volume from a snapshot may be larger and holds the snapshot's
        data, not the data written to the source afterwards."""
        src = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(src['id']), 'before')
        snap = self.create_snapshot(src['id'])
        if self.share_path():
            self.write_pattern(self.volume_file(src['id']), 'after')
        vol = self.create_volume(snapshot_id=snap['id'],
                                 size=snap['size'] + 1)
        self.assertEqual(snap['size'] + 1, vol['size'])
        self.assertEqual(snap['id'], vol['snapshot_id'])
        self._check_file_size(vol)
        if self.share_path():
            self.assertPattern(self.volume_file(vol['id']), 'before')

    @decorators.idempotent_id('a8f76dd2-88bc-4f14-b0bd-6926f7b7f4b9')
    def test_extend(self):
        """Extending an available volume grows it and keeps its data."""
        vol = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'extend')
        new_size = vol['size'] + 1
        self.volumes_client.extend_volume(vol['id'], new_size=new_size)
        waiters.wait_for_volume_resource_status(self.volumes_client,
                                                vol['id'], 'available')
        vol = self.volumes_client.show_volume(vol['id'])['volume']
        self.assertEqual(new_size, vol['size'])
        self._check_file_size(vol)
        if self.share_path():
            self.assertPattern(self.volume_file(vol['id']), 'extend')


class RevertTest(base.BaseCinderExtTest):
    """Revert to snapshot needs microversion 3.40."""

    min_microversion = '3.40'

    @decorators.idempotent_id('b1398649-2336-4218-b2d1-c395bc4faaaf')
    def test_revert_to_snapshot(self):
        """Revert brings back the snapshot's data; the volume stays usable
        and the snapshot stays."""
        vol = self.create_volume()
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'snapshotted')
        snap = self.create_snapshot(vol['id'])
        if self.share_path():
            self.write_pattern(self.volume_file(vol['id']), 'overwritten')
        self.ext_client.revert_to_snapshot(vol['id'], snap['id'])
        waiters.wait_for_volume_resource_status(self.volumes_client,
                                                vol['id'], 'available')
        waiters.wait_for_volume_resource_status(self.snapshots_client,
                                                snap['id'], 'available')
        vol = self.volumes_client.show_volume(vol['id'])['volume']
        self.assertEqual(snap['size'], vol['size'])
        if self.share_path():
            self.assertPattern(self.volume_file(vol['id']), 'snapshotted')
            self.assertPattern(self.snapshot_file(snap['id']), 'snapshotted')
