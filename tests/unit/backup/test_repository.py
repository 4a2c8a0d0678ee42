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

import json
import os

from cinder_ext.backup import exception
from cinder_ext.backup import repository
from tests.unit.backup import helpers


class RepositoryTest(helpers.TempDirTest):

    def test_init_then_open(self):
        repo = repository.Repository.init(self.path('r'), 1 << 20, 'zlib')
        again = repository.Repository.open(self.path('r'))
        self.assertEqual(repo.config['id'], again.config['id'])
        self.assertEqual((1 << 20, 'zlib'),
                         (again.chunk_size, again.compression))

    def test_init_refuses_non_empty_dir(self):
        os.mkdir(self.path('r'))
        open(self.path('r', 'precious'), 'w').close()
        self.assertRaises(exception.RepositoryExists,
                          repository.Repository.init, self.path('r'))
        self.assertTrue(os.path.exists(self.path('r', 'precious')))

    def test_init_rejects_bad_chunk_size(self):
        self.assertRaises(exception.InvalidArgument,
                          repository.Repository.init, self.path('r'), 1000)

    def test_not_a_repository(self):
        with self.assertRaisesRegex(exception.NotARepository,
                                    'no config file'):
            repository.Repository.open(self.dir)
        with open(self.path('config'), 'w') as f:
            json.dump({'format': 'something-else'}, f)
        self.assertRaises(exception.NotARepository,
                          repository.Repository.open, self.dir)

    def test_future_version_is_refused(self):
        repository.Repository.init(self.path('r'))
        with open(self.path('r', 'config')) as f:
            config = json.load(f)
        config['version'] = 99
        with open(self.path('r', 'config'), 'w') as f:
            json.dump(config, f)
        self.assertRaises(exception.UnsupportedFormat,
                          repository.Repository.open, self.path('r'))

    def test_encryption_keys(self):
        repository.Repository.init(self.path('r'), kdf='hkdf',
                                   secret=b'k' * 32)
        self.assertRaises(exception.KeyRequired,
                          repository.Repository.open, self.path('r'))
        with self.assertRaisesRegex(exception.WrongKey, 'does not open'):
            repository.Repository.open(self.path('r'), b'x' * 32)
        repo = repository.Repository.open(self.path('r'), b'k' * 32)
        self.assertNotEqual(repo.chunk_id(b'a'),
                            repository.Repository.init(
                                self.path('plain')).chunk_id(b'a'))

    def test_manifest_written_once(self):
        repo = repository.Repository.init(self.path('r'))
        manifest = {'backup_id': 'b1', 'chunks': []}
        repo.write_manifest(manifest)
        self.assertRaises(exception.BackupExists, repo.write_manifest,
                          manifest)
        self.assertEqual(['b1'], repo.backup_ids())
        self.assertEqual([], os.listdir(self.path('r', 'chunks')))
        names = os.listdir(self.path('r', 'manifests'))
        self.assertEqual(['b1.json'], names)  # no temp file left

    def test_bad_backup_id(self):
        repo = repository.Repository.init(self.path('r'))
        for bad in ('../x', '', '.hidden', 'a/b'):
            self.assertRaises(exception.InvalidArgument, repo.read_manifest,
                              bad)

    def test_corrupt_manifest(self):
        repo = repository.Repository.init(self.path('r'))
        with open(self.path('r', 'manifests', 'b1.json'), 'w') as f:
            f.write('{not json')
        self.assertRaisesRegex(exception.ManifestCorrupt, 'b1',
                               repo.read_manifest, 'b1')

    def test_encrypted_manifest_tamper_detected(self):
        repo = repository.Repository.init(self.path('r'), kdf='hkdf',
                                          secret=b'k')
        repo.write_manifest({'backup_id': 'b1', 'size': 1, 'chunks': []})
        path = self.path('r', 'manifests', 'b1.json')
        with open(path) as f:
            manifest = json.load(f)
        manifest['size'] = 2
        with open(path, 'w') as f:
            json.dump(manifest, f)
        self.assertRaisesRegex(exception.ManifestCorrupt, 'MAC',
                               repo.read_manifest, 'b1')

    def test_lock_timeout_names_holder(self):
        repo = repository.Repository.init(self.path('r'))
        other = repository.Repository.open(self.path('r'))
        import threading
        held, release = threading.Event(), threading.Event()

        def hold():
            with other.shared():
                held.set()
                release.wait(10)
        thread = threading.Thread(target=hold)
        thread.start()
        try:
            held.wait(10)
            with self.assertRaises(exception.RepositoryBusy) as ctx:
                with repo.exclusive(timeout=0.2):
                    pass
            self.assertEqual(4, ctx.exception.exit_code)
        finally:
            release.set()
            thread.join()
        with repo.exclusive(timeout=5):
            pass
