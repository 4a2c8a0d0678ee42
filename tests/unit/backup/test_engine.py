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

"""The engine end to end on real files in a temp dir (any filesystem)."""

import os

from cinder_ext.backup import chunkfile
from cinder_ext.backup import engine
from cinder_ext.backup import exception
from cinder_ext.backup import repository
from tests.unit.backup import helpers

MiB = helpers.MiB
CS = 1 << 20


class EngineTest(helpers.TempDirTest):

    def setUp(self):
        super().setUp()
        self.repo = repository.Repository.init(self.path('repo'), CS)
        self.engine = engine.BackupEngine(self.repo, workers=2)
        self.src = self.path('vol')

    def random_pieces(self, size, count, max_len):
        pieces = []
        for _ in range(count):
            length = self.rng.randrange(1, max_len)
            pieces.append((self.rng.randrange(0, size - length), length))
        return pieces

    def restored_equals_source(self, backup_id):
        out = self.path('out-' + backup_id)
        self.engine.restore(backup_id, out)
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(out))
        return out

    def test_full_backup_reads_only_data_and_restores_sparse(self):
        helpers.make_sparse(self.src, 64 * MiB,
                            [(3 * MiB + 5, 100000), (40 * MiB, 2 * MiB)],
                            self.rng)
        manifest = self.engine.backup(self.src, 'v1', 'b1')
        self.assertLessEqual(manifest['stats']['bytes_read'],
                             helpers.allocated(self.src))
        self.assertEqual([3, 40, 41], [i for i, _c in manifest['chunks']])
        out = self.restored_equals_source('b1')
        self.assertLessEqual(helpers.allocated(out), 4 * MiB)
        self.assertEqual(64 * MiB, os.path.getsize(out))

    def test_incremental_by_hash_stores_only_changes(self):
        helpers.make_sparse(self.src, 32 * MiB, [(0, 8 * MiB)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        with open(self.src, 'r+b') as f:
            f.seek(5 * MiB + 7)
            f.write(b'changed')
            f.seek(20 * MiB)
            f.write(b'new data')
        manifest = self.engine.backup(self.src, 'v1', 'b2', incremental=True)
        self.assertEqual('b1', manifest['parent_id'])
        self.assertEqual([5, 20], [i for i, _c in manifest['chunks']])
        self.assertEqual(2, manifest['stats']['chunks_new'])
        self.restored_equals_source('b2')
        self.assertEqual([], self.engine.verify(deep=True))
        self.assertEqual([], self.engine.verify(compare=self.src))

    def test_punched_data_becomes_a_hole_in_the_incremental(self):
        helpers.make_sparse(self.src, 8 * MiB, [(0, 8 * MiB)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        with open(self.src, 'r+b') as f:
            f.truncate(2 * MiB)
            f.truncate(8 * MiB)
        manifest = self.engine.backup(self.src, 'v1', 'b2', incremental=True)
        self.assertEqual([[i, None] for i in range(2, 8)],
                         manifest['chunks'])
        self.restored_equals_source('b2')

    def test_volume_grows_and_shrinks_between_backups(self):
        helpers.make_sparse(self.src, 5 * MiB + 100, [(5 * MiB, 100)],
                            self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        with open(self.src, 'r+b') as f:
            f.seek(9 * MiB)
            f.write(b'grown')
        self.engine.backup(self.src, 'v1', 'b2', incremental=True)
        self.restored_equals_source('b2')
        with open(self.src, 'r+b') as f:
            f.truncate(3 * MiB)
        self.engine.backup(self.src, 'v1', 'b3', incremental=True)
        self.restored_equals_source('b3')
        self.restored_equals_source('b3')  # restore over an existing file

    def test_randomized_chain_restores_every_state(self):
        size = 24 * MiB + self.rng.randrange(CS)
        helpers.make_sparse(self.src, size,
                            self.random_pieces(size, 10, 3 * MiB), self.rng)
        digests, parent = {}, None
        for n in range(5):
            backup_id = 'b%d' % n
            self.engine.backup(self.src, 'v1', backup_id, parent_id=parent)
            digests[backup_id] = helpers.sha256_file(self.src)
            parent = backup_id
            with open(self.src, 'r+b') as f:
                for offset, length in self.random_pieces(size, 3, MiB):
                    f.seek(offset)
                    f.write(helpers.random_bytes(self.rng, length))
        for backup_id, digest in digests.items():
            out = self.path('o-' + backup_id)
            self.engine.restore(backup_id, out)
            self.assertEqual(digest, helpers.sha256_file(out),
                             'seed %d' % self.seed)

    def test_dedup_across_volumes(self):
        helpers.make_sparse(self.src, 4 * MiB, [(0, 4 * MiB)], self.rng)
        first = self.engine.backup(self.src, 'v1', 'b1')
        second = self.engine.backup(self.src, 'v2', 'b2')
        self.assertEqual(4, first['stats']['chunks_new'])
        self.assertEqual(4, second['stats']['chunks_reused'])
        self.assertEqual(0, second['stats']['bytes_stored'])

    def test_flipped_byte_is_named_and_nothing_corrupt_written(self):
        helpers.make_sparse(self.src, 4 * MiB, [(0, 4 * MiB)], self.rng)
        manifest = self.engine.backup(self.src, 'v1', 'b1')
        index, chunk_id = manifest['chunks'][2]
        path = self.path('repo', 'chunks', chunk_id[:2], chunk_id)
        with open(path, 'r+b') as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 0x01]))
        self.assertEqual([], self.engine.verify())  # quick: present
        problems = self.engine.verify(deep=True)
        self.assertEqual([('b1', chunk_id, 2 * MiB, 'corrupt')],
                         [(p['backup_id'], p['chunk_id'], p['offset'],
                           p['problem']) for p in problems])
        out = self.path('out')
        with self.assertRaises(exception.ChunkCorrupt) as ctx:
            self.engine.restore('b1', out)
        message = str(ctx.exception)
        for word in ('b1', chunk_id, str(2 * MiB)):
            self.assertIn(word, message)
        with open(out, 'rb') as f, open(self.src, 'rb') as s:
            self.assertEqual(s.read(2 * MiB), f.read(2 * MiB))
            self.assertEqual(bytes(CS), f.read(CS))  # never written

    def test_missing_chunk_found_by_quick_verify(self):
        helpers.make_sparse(self.src, 2 * MiB, [(0, 10)], self.rng)
        manifest = self.engine.backup(self.src, 'v1', 'b1')
        chunk_id = manifest['chunks'][0][1]
        os.unlink(self.path('repo', 'chunks', chunk_id[:2], chunk_id))
        problems = self.engine.verify()
        self.assertEqual('missing', problems[0]['problem'])
        self.assertRaises(exception.ChunkMissing, self.engine.restore, 'b1',
                          self.path('out'))

    def test_target_too_small_is_refused(self):
        helpers.make_sparse(self.src, 4 * MiB, [(0, 10)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        small = self.path('small')
        with open(small, 'wb') as f:
            f.truncate(MiB)
        with open(small, 'r+b') as f:
            self.assertRaises(exception.TargetTooSmall, self.engine.restore,
                              'b1', f)
        self.assertEqual(MiB, os.path.getsize(small))

    def test_restore_into_open_file_zeroes_stale_data(self):
        helpers.make_sparse(self.src, 4 * MiB, [(MiB, 10)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        target = self.path('target')
        helpers.make_sparse(target, 4 * MiB, [(0, 4 * MiB)], self.rng)
        with open(target, 'r+b') as f:
            self.engine.restore('b1', f)
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(target))

    def test_delete_refuses_a_needed_parent(self):
        helpers.make_sparse(self.src, 2 * MiB, [(0, 10)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        self.engine.backup(self.src, 'v1', 'b2', incremental=True)
        self.assertRaisesRegex(exception.HasDependents, 'b2',
                               self.engine.delete, 'b1')
        self.engine.delete('b2')
        self.engine.delete('b1')
        self.assertRaises(exception.BackupNotFound, self.engine.delete, 'b1')
        self.assertEqual(1, self.engine.gc(grace=0)['chunks_removed'])

    def test_unknown_ids_and_duplicates(self):
        helpers.make_sparse(self.src, MiB, [(0, 10)], self.rng)
        self.assertRaises(exception.ParentNotFound, self.engine.backup,
                          self.src, 'v1', incremental=True)
        self.engine.backup(self.src, 'v1', 'b1')
        self.assertRaises(exception.BackupExists, self.engine.backup,
                          self.src, 'v1', 'b1')
        self.assertRaises(exception.BackupNotFound, self.engine.restore,
                          'nope', self.path('out'))
        self.assertRaises(exception.SourceError, self.engine.backup,
                          self.path('missing'), 'v1')

    def test_encrypted_repository_roundtrip(self):
        repo = repository.Repository.init(self.path('enc'), CS,
                                          kdf='scrypt', secret=b'pass')
        eng = engine.BackupEngine(repo)
        helpers.make_sparse(self.src, 3 * MiB, [(0, 3 * MiB)], self.rng)
        eng.backup(self.src, 'v1', 'b1')
        eng = engine.BackupEngine.open(self.path('enc'), b'pass')
        eng.restore('b1', self.path('out'))
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(self.path('out')))
        self.assertEqual([], eng.verify(deep=True))
        self.assertRaises(exception.WrongKey, engine.BackupEngine.open,
                          self.path('enc'), b'wrong')

    def test_gc_spares_young_unreferenced_chunks(self):
        helpers.make_sparse(self.src, MiB, [(0, MiB)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        # A chunk a running backup has written but not yet named.
        chunk_id = self.repo.chunk_id(b'in flight')
        header, payload = chunkfile.encode(b'in flight', chunk_id, 'none')
        self.repo.write_chunk(chunk_id, header, payload)
        self.repo.flush()  # a batch made durable, no manifest yet
        stats = self.engine.gc()
        self.assertEqual((0, 1, 1), (stats['chunks_removed'],
                                     stats['young_spared'],
                                     stats['chunks_kept']))
        self.assertTrue(self.repo.has_chunk(chunk_id))
        self.assertEqual(1, self.engine.gc(grace=0)['chunks_removed'])
        self.assertFalse(self.repo.has_chunk(chunk_id))
        self.restored_equals_source('b1')

    def test_export_import_record(self):
        helpers.make_sparse(self.src, MiB, [(0, 10)], self.rng)
        self.engine.backup(self.src, 'v1', 'b1')
        record = self.engine.export_record('b1')
        self.engine.delete('b1')
        self.engine.import_record(record)
        self.restored_equals_source('b1')
