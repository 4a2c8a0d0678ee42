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

"""The reader/writer lock of a Swift repository through real tooz
backends (redis, etcd, file), between real processes."""

import json
import time

from tests.functional.backup_swift import fixtures
from tests.functional.backup_swift import test_swift_repository as base
from tests.unit.backup import helpers

MiB = helpers.MiB


class LockTests(object):

    def setUp(self):
        super().setUp()
        self.cli('init', '--chunk-size', '1M', '--compression', 'zlib',
                 check=True)

    def hold(self, mode):
        holder = fixtures.Holder(self.url, self.locks.url, mode, None)
        self.addCleanup(holder.kill)
        return holder

    def test_readers_share_and_block_gc(self):
        reader = self.hold('shared')
        # another reader (a verify) runs beside it
        self.assertEqual(0, self.cli('verify', '--lock-timeout', '5')
                         .returncode)
        busy = self.cli('gc', '--lock-timeout', '1')
        self.assertEqual(4, busy.returncode, busy.stderr)
        self.assertIn('busy', busy.stderr)
        gc = fixtures.cli_popen('gc', '--repo', self.url, '--lock-url',
                                self.locks.url, '--json')
        time.sleep(1)
        self.assertIsNone(gc.poll())  # waiting for the reader
        reader.release()
        out, err = gc.communicate(timeout=60)
        self.assertEqual(0, gc.returncode, err)
        self.assertIn('chunks_removed', out)

    def test_a_writer_blocks_readers(self):
        writer = self.hold('exclusive')
        src = self.path('vol')
        helpers.make_sparse(src, 2 * MiB, [(0, MiB)], self.rng)
        busy = self.cli('backup', src, '--lock-timeout', '1')
        self.assertEqual(4, busy.returncode, busy.stderr)
        writer.release()
        self.cli('backup', src, '--lock-timeout', '30', check=True)

    def test_a_killed_reader_does_not_block_gc(self):
        reader = self.hold('shared')
        reader.kill()
        started = time.monotonic()
        gc = self.cli('gc', '--lock-timeout', '30')
        self.assertEqual(0, gc.returncode, gc.stderr)
        # the backend's lease (3 s here) ends the dead reader's claim
        self.assertLess(time.monotonic() - started, 20)

    def test_gc_waits_for_a_running_backup(self):
        """A real backup (zlib on random data: seconds) and gc --grace 0
        started beside it: gc waits, the backup stays whole."""
        src = self.path('vol')
        helpers.make_sparse(src, 64 * MiB, [(0, 40 * MiB)], self.rng)
        backup = fixtures.cli_popen('backup', src, '--repo', self.url,
                                    '--lock-url', self.locks.url,
                                    '--backup-id', 'b', '--workers', '1')
        deadline = time.monotonic() + 60
        while not self.chunk_objects():
            self.assertIsNone(backup.poll(), backup.communicate())
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        gc = self.cli('gc', '--grace', '0', '--json')
        self.assertEqual(0, gc.returncode, gc.stderr)
        _out, err = backup.communicate(timeout=120)
        self.assertEqual(0, backup.returncode, err)
        stats = json.loads(gc.stdout.splitlines()[-1])
        self.assertEqual(0, stats['chunks_removed'])
        self.assertEqual(0, self.cli('verify', '--deep').returncode)
        out = self.path('out')
        self.cli('restore', 'b', out, check=True)
        self.assertEqual(helpers.sha256_file(src), helpers.sha256_file(out))


class RedisLockTest(LockTests, base.SwiftTestBase):
    lock_kind = 'redis'


class EtcdLockTest(LockTests, base.SwiftTestBase):
    lock_kind = 'etcd'


class FileLockTest(LockTests, base.SwiftTestBase):
    lock_kind = 'file'
