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

"""The Cinder backup driver with cinder's own test database and objects,
a real repository and real volume files; the engine runs in its child
process as under cinder-backup."""

import json
import os
import tempfile

from cinder import context
from cinder.db import api as db
from cinder import exception as cinder_exception
from cinder.interface import backup_driver
from cinder.interface import util as interface_util
from cinder.tests.unit import test
from cinder.tests.unit import utils as cinder_utils

from cinder_ext.backup import cinder_driver
from cinder_ext.backup import repository
from tests import base

GiB = 1024 ** 3
MiB = 1024 ** 2


class CinderBackupDriverTest(test.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = context.get_admin_context()
        self.work = tempfile.mkdtemp(prefix='cinder-ext-bkdrv-')
        self.addCleanup(os.rmdir, self.work)
        self.addCleanup(base.empty_dir, self.work)
        self.repo = os.path.join(self.work, 'repo')
        self.override_config('cinder_ext_backup_repository', self.repo)
        self.override_config('cinder_ext_backup_chunk_size', MiB)
        self.driver = cinder_driver.CinderExtBackupDriver(self.ctxt)
        self.driver.check_for_setup_error()

    def volume_file(self, size_gib=1, offsets=(0, 300 * MiB)):
        volume = cinder_utils.create_volume(self.ctxt, size=size_gib)
        path = os.path.join(self.work, 'volume-%s' % volume.id)
        with open(path, 'wb') as f:
            f.truncate(size_gib * GiB)
        base.write_pattern(path, offsets)
        return volume, path

    def backup(self, volume, path, parent=None):
        backup = cinder_utils.create_backup(
            self.ctxt, volume_id=volume.id,
            parent_id=parent.id if parent else None)
        with open(path, 'rb') as f:
            updates = self.driver.backup(backup, f)
        backup.update(updates)
        backup.save()
        return backup

    def restore(self, backup, size_gib=1):
        target_volume = cinder_utils.create_volume(self.ctxt, size=size_gib)
        target = os.path.join(self.work, 'volume-%s' % target_volume.id)
        with open(target, 'wb') as f:  # as cinder-backup opens it
            self.driver.restore(backup, target_volume.id, f, True)
        return target_volume, target

    def test_registered_with_cinder(self):
        self.assertTrue(issubclass(cinder_driver.CinderExtBackupDriver,
                                   backup_driver.BackupDriver))
        names = [d.class_fqn for d in interface_util.get_backup_drivers()]
        self.assertIn('cinder_ext.backup.cinder_driver.CinderExtBackupDriver',
                      names)

    def test_full_and_incremental_round_trip(self):
        volume, path = self.volume_file()
        full = self.backup(volume, path)
        manifest = repository.Repository.open(self.repo).read_manifest(
            full.id)
        self.assertEqual(full.id, manifest['backup_id'])
        self.assertEqual(volume.id, manifest['volume_id'])
        # only the 2 MiB written were read, not the 1 GiB volume
        self.assertLessEqual(manifest['stats']['bytes_read'], 2 * MiB)
        self.assertEqual('cinder-ext',
                         json.loads(full.service_metadata)['engine'])

        base.write_pattern(path, [600 * MiB], seed=b'changed')
        incr = self.backup(volume, path, parent=full)
        manifest = repository.Repository.open(self.repo).read_manifest(
            incr.id)
        self.assertEqual(full.id, manifest['parent_id'])
        self.assertEqual(1, len([c for c in manifest['chunks']
                                 if c[1] is not None]))

        _vol, target = self.restore(incr)
        self.assertEqual(GiB, os.stat(target).st_size)
        self.assertEqual(base.sha256_of(path), base.sha256_of(target))
        # sparse: the holes stayed holes
        self.assertLess(os.stat(target).st_blocks * 512, 16 * MiB)

    def test_restore_into_a_larger_volume_keeps_its_size(self):
        volume, path = self.volume_file()
        backup = self.backup(volume, path)
        _vol, target = self.restore(backup, size_gib=2)
        self.assertEqual(2 * GiB, os.stat(target).st_size)
        self.assertEqual(base.sha256_of(path),
                         base.sha256_of(target, size=GiB))

    def test_volume_metadata_travels_with_the_backup(self):
        volume, path = self.volume_file()
        db.volume_metadata_update(self.ctxt, volume.id, {'owner': 'team-a'},
                                  False)
        backup = self.backup(volume, path)
        target_volume, _target = self.restore(backup)
        self.assertEqual('team-a', db.volume_metadata_get(
            self.ctxt, target_volume.id).get('owner'))

    def test_export_delete_import_restore(self):
        volume, path = self.volume_file()
        backup = self.backup(volume, path)
        record = self.driver.export_record(backup)
        self.driver.delete_backup(backup)
        self.assertRaises(cinder_exception.BackupDriverException,
                          self.restore, backup)
        self.driver.import_record(backup, json.loads(json.dumps(record)))
        _vol, target = self.restore(backup)
        self.assertEqual(base.sha256_of(path), base.sha256_of(target))

    def test_import_of_a_record_whose_chunks_are_gone_leaves_nothing(self):
        volume, path = self.volume_file()
        backup = self.backup(volume, path)
        record = self.driver.export_record(backup)
        self.driver.delete_backup(backup)
        repo = repository.Repository.open(self.repo)
        for entry in list(repo.iter_chunks()):
            os.unlink(os.path.join(self.repo, entry.key))
        self.assertRaises(cinder_exception.InvalidBackup,
                          self.driver.import_record, backup, record)
        self.assertEqual([], list(repo.backup_ids()))

    def test_import_under_a_new_id_is_a_copy(self):
        """As tempest's export/import test does: the record imported under
        another id while the original stays; either can be deleted."""
        volume, path = self.volume_file()
        backup = self.backup(volume, path)
        record = self.driver.export_record(backup)
        other = cinder_utils.create_backup(self.ctxt, volume_id=volume.id)
        self.driver.import_record(other, record)
        self.driver.delete_backup(backup)
        _vol, target = self.restore(other)
        self.assertEqual(base.sha256_of(path), base.sha256_of(target))
        self.assertEqual([other.id], list(repository.Repository.open(
            self.repo).backup_ids()))

    def test_bad_records_are_refused(self):
        volume, _path = self.volume_file()
        backup = cinder_utils.create_backup(self.ctxt, volume_id=volume.id)
        for info in ({}, {'cinder_ext_manifest': 'x'},
                     {'cinder_ext_manifest': {'chunks': []}}):
            self.assertRaises(cinder_exception.InvalidBackup,
                              self.driver.import_record, backup, info)

    def test_corrupt_chunk_fails_the_restore_clearly(self):
        volume, path = self.volume_file()
        backup = self.backup(volume, path)
        repo = repository.Repository.open(self.repo)
        chunk_id = next(c[1] for c in repo.read_manifest(backup.id)['chunks']
                        if c[1] is not None)
        chunk_path = os.path.join(self.repo, repo.chunk_key(chunk_id))
        with open(chunk_path, 'r+b') as f:
            f.seek(os.stat(chunk_path).st_size // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xff]))
        exc = self.assertRaises(cinder_exception.InvalidBackup,
                                self.restore, backup)
        self.assertIn(backup.id, str(exc))

    def test_delete_of_a_backup_missing_from_the_repository(self):
        volume, path = self.volume_file()
        backup = self.backup(volume, path)
        self.driver.delete_backup(backup)
        self.driver.delete_backup(backup)  # gone already: no error
        self.assertEqual([], list(repository.Repository.open(
            self.repo).backup_ids()))

    def test_a_source_that_is_not_a_path_is_refused(self):
        volume, _path = self.volume_file()
        backup = cinder_utils.create_backup(self.ctxt, volume_id=volume.id)
        self.assertRaises(cinder_exception.InvalidBackup,
                          self.driver.backup, backup, object())

    def test_a_directory_that_is_not_a_repository_is_refused(self):
        os.unlink(os.path.join(self.repo, os.listdir(self.repo)[0]))
        with open(os.path.join(self.repo, 'stray'), 'w'):
            pass
        self.assertRaises(cinder_exception.InvalidConfigurationValue,
                          self.driver.check_for_setup_error)
