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

"""Incrementals from FIEMAP on a loop-mounted XFS with reflink, and
block device sources and targets."""

import ctypes
import os
import shutil

from cinder_ext.backup import engine
from cinder_ext.backup import exception
from cinder_ext.backup import repository
from cinder_ext.backup import snapshot
from tests.functional.backup import fixtures
from tests.unit.backup import helpers

MiB = helpers.MiB
BASE = '.cinder_ext-backup-base-v1'
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]


class ReflinkIncrementalTest(helpers.TempDirTest):

    @classmethod
    def setUpClass(cls):
        cls.fs = None
        if os.geteuid() == 0 and shutil.which('mkfs.xfs'):
            cls.fs = fixtures.mount_testfs('xfs', '3G')

    @classmethod
    def tearDownClass(cls):
        if cls.fs:
            fixtures.unmount_testfs(cls.fs)

    def setUp(self):
        super().setUp()
        if not self.fs:
            self.skipTest('needs root and mkfs.xfs')
        self.work = os.path.join(self.fs, self.id().rsplit('.', 1)[-1])
        os.mkdir(self.work)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.repo = repository.Repository.init(
            os.path.join(self.work, 'repo'))
        self.engine = engine.BackupEngine(self.repo)
        self.src = os.path.join(self.work, 'volume-1')
        self.base = os.path.join(self.work, BASE)

    def scatter(self, size, data):
        pieces = [(self.rng.randrange(0, size - MiB) // 4096 * 4096, MiB)
                  for _ in range(data // MiB)]
        helpers.make_sparse(self.src, size, pieces, self.rng)

    def change(self, offsets):
        with open(self.src, 'r+b') as f:
            for offset in offsets:
                f.seek(offset)
                f.write(helpers.random_bytes(self.rng, MiB))

    def restore_matches(self, backup_id):
        out = os.path.join(self.work, 'out')
        self.engine.restore(backup_id, out)
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(out), 'seed %d' % self.seed)
        os.unlink(out)

    def test_incremental_reads_only_the_change_at_any_size(self):
        for size in (256 * MiB, 2048 * MiB):
            self.scatter(size, 64 * MiB)
            full = self.engine.backup(self.src, 'v1', base_name=BASE)
            self.assertEqual('full', full['change_detection'])
            self.assertEqual(full['backup_id'],
                             snapshot.backup_id_of(self.base))
            # 8 MiB in 8 places, each inside one 4 MiB chunk.
            self.change([i * 16 * MiB + 4096 for i in range(8)])
            inc = self.engine.backup(self.src, 'v1', incremental=True,
                                     base_name=BASE)
            self.assertEqual('fiemap', inc['change_detection'])
            self.assertEqual(full['backup_id'], inc['parent_id'])
            # Only the 8 touched chunks are read, at either size.
            self.assertLessEqual(inc['stats']['bytes_read'], 8 * 4 * MiB)
            self.assertEqual(8, len(inc['chunks']))
            self.assertEqual(inc['backup_id'],
                             snapshot.backup_id_of(self.base))
            self.restore_matches(inc['backup_id'])
            self.assertFalse(os.path.exists(self.base + '.new'))
            self.engine.delete(inc['backup_id'])
            self.assertFalse(os.path.exists(self.base))  # its base went
            self.engine.delete(full['backup_id'])

    def test_punched_hole_and_unchanged_run(self):
        self.scatter(128 * MiB, 32 * MiB)
        with open(self.src, 'r+b') as f:
            f.write(helpers.random_bytes(self.rng, 8 * MiB))
        self.engine.backup(self.src, 'v1', 'b1', base_name=BASE)
        inc = self.engine.backup(self.src, 'v1', 'b2', incremental=True,
                                 base_name=BASE)
        self.assertEqual((0, []), (inc['stats']['bytes_read'],
                                   inc['chunks']))
        fd = os.open(self.src, os.O_RDWR)
        try:  # punch the first 4 MiB (PUNCH_HOLE | KEEP_SIZE)
            self.assertEqual(0, LIBC.fallocate(fd, 3, 0, 4 * MiB))
        finally:
            os.close(fd)
        inc = self.engine.backup(self.src, 'v1', 'b3', incremental=True,
                                 base_name=BASE)
        self.assertEqual([[0, None]], inc['chunks'])
        self.restore_matches('b3')
        self.restore_matches('b3')

    def test_stale_base_falls_back_to_hashes(self):
        self.scatter(64 * MiB, 16 * MiB)
        self.engine.backup(self.src, 'v1', 'b1', base_name=BASE)
        os.setxattr(self.base, snapshot.BACKUP_XATTR, b'someone-else')
        self.change([5 * MiB])
        inc = self.engine.backup(self.src, 'v1', 'b2', incremental=True,
                                 base_name=BASE)
        self.assertEqual('hash', inc['change_detection'])
        self.restore_matches('b2')

    def test_failed_backup_keeps_the_old_base(self):
        self.scatter(64 * MiB, 8 * MiB)
        self.engine.backup(self.src, 'v1', 'b1', base_name=BASE)
        self.assertRaises(exception.BackupExists, self.engine.backup,
                          self.src, 'v1', 'b1', incremental=True,
                          base_name=BASE)
        self.assertEqual('b1', snapshot.backup_id_of(self.base))
        self.assertFalse(os.path.exists(self.base + '.new'))

    def test_block_device_source_and_target(self):
        self.scatter(64 * MiB, 8 * MiB)
        source_dev = fixtures.losetup(self.src)
        self.addCleanup(fixtures.losetup_detach, source_dev)
        backup = self.engine.backup(source_dev, 'v1', 'dev1')
        self.assertEqual('device', backup['source_kind'])
        stored = {i for i, _c in backup['chunks']}
        with open(self.src, 'rb') as f:
            nonzero = {i for i in range(16)
                       if f.read(4 * MiB) != bytes(4 * MiB)}
        self.assertEqual(nonzero, stored)  # zero chunks skipped
        target = os.path.join(self.work, 'target')
        helpers.make_sparse(target, 64 * MiB, [(0, 64 * MiB)], self.rng)
        target_dev = fixtures.losetup(target)
        self.addCleanup(fixtures.losetup_detach, target_dev)
        self.engine.restore('dev1', target_dev)
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(target_dev))
        small = os.path.join(self.work, 'small')
        helpers.make_sparse(small, 32 * MiB, [], self.rng)
        small_dev = fixtures.losetup(small)
        self.addCleanup(fixtures.losetup_detach, small_dev)
        self.assertRaises(exception.TargetTooSmall, self.engine.restore,
                          'dev1', small_dev)
