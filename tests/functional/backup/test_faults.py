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

"""Faults with real processes and filesystems: SIGKILL mid-backup, a full
repository, prune and gc beside a running backup."""

import json
import os
import signal
import time

from cinder_ext.backup import engine
from cinder_ext.backup import repository
from cinder_ext.backup import retention
from tests.functional.backup import fixtures
from tests.unit.backup import helpers

MiB = helpers.MiB


class ProcessFaultTest(helpers.TempDirTest):
    """Needs no root: the repository is a plain directory."""

    def setUp(self):
        super().setUp()
        self.repo_path = self.path('repo')
        # zlib on random data runs at ~50 MB/s: a backup of 128 MiB takes
        # seconds, time enough to act beside it.
        fixtures.cli('init', '--repo', self.repo_path, '--chunk-size', '1M',
                     '--compression', 'zlib', check=True)
        self.src = self.path('vol')
        helpers.make_sparse(self.src, 128 * MiB, [(0, 48 * MiB)], self.rng)

    def engine(self):
        return engine.BackupEngine.open(self.repo_path)

    def stored(self):
        return sum(len(files) for _d, _s, files in
                   os.walk(os.path.join(self.repo_path, 'chunks')))

    def wait_for_chunks(self, proc, count, timeout=120):
        """Until the running backup has stored ``count`` more files."""
        target = self.stored() + count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stored() >= target:
                return
            if proc.poll() is not None:
                self.fail('backup ended early: %s' % (proc.communicate(),))
            time.sleep(0.005)
        self.fail('backup wrote no chunks')

    def finish(self, proc):
        out, err = proc.communicate()
        self.assertEqual(0, proc.returncode, err)
        return out

    def test_sigkill_mid_backup_leaves_a_consistent_repository(self):
        fixtures.cli('backup', self.src, '--repo', self.repo_path,
                     '--backup-id', 'b0', check=True)
        for attempt in range(3):
            with open(self.src, 'r+b') as f:
                f.seek(64 * MiB)
                f.write(helpers.random_bytes(self.rng, 32 * MiB))
            proc = fixtures.cli_popen('backup', self.src, '--repo',
                                      self.repo_path, '--backup-id', 'k%d' %
                                      attempt, '--workers', '2')
            # 32 new chunks: kill after a random 4..24 of them, so the
            # signal lands inside the backup, never after it ended.
            self.wait_for_chunks(proc, self.rng.randint(4, 24))
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            self.assertEqual(-signal.SIGKILL, proc.returncode)
            eng = self.engine()
            self.assertEqual(['b0'], eng.repo.backup_ids())
            self.assertEqual([], eng.verify(deep=True))
        # The next backup succeeds and restores; gc clears leftovers.
        result = fixtures.cli('backup', self.src, '--repo', self.repo_path,
                              '--incremental', '--backup-id', 'b1', '--json')
        self.assertEqual(0, result.returncode, result.stderr)
        eng = self.engine()
        eng.gc(grace=0)
        self.assertEqual([], eng.verify(deep=True, compare=self.src))
        out = self.path('out')
        eng.restore('b1', out)
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(out))

    def test_prune_and_gc_beside_a_running_backup(self):
        fixtures.cli('backup', self.src, '--repo', self.repo_path,
                     '--backup-id', 'old', check=True)
        with open(self.src, 'r+b') as f:
            f.seek(0)
            f.write(helpers.random_bytes(self.rng, 48 * MiB))  # all new
        proc = fixtures.cli_popen('backup', self.src, '--repo',
                                  self.repo_path, '--backup-id', 'new',
                                  '--workers', '1')
        self.wait_for_chunks(proc, 8)
        # Without the lock (an NFS without locking), gc's grace period
        # alone keeps what the running backup wrote.
        stats = retention.gc(repository.Repository.open(self.repo_path))
        self.assertEqual(0, stats['chunks_removed'])
        self.assertGreater(stats['young_spared'], 0)
        busy = fixtures.cli('gc', '--repo', self.repo_path,
                            '--lock-timeout', '0.1')
        self.assertEqual(4, busy.returncode, busy.stderr)
        self.assertIn('busy', busy.stderr)
        # With the lock, prune and gc wait for the backup, then run.
        prune = fixtures.cli_popen('prune', '--repo', self.repo_path,
                                   '--keep-last', '1', '--json')
        gc = fixtures.cli_popen('gc', '--repo', self.repo_path,
                                '--grace', '0', '--json')
        self.finish(proc)
        pruned = json.loads(self.finish(prune).splitlines()[-1])
        self.finish(gc)
        self.assertEqual((['new'], ['old']),
                         (pruned['kept'], pruned['removed']))
        eng = self.engine()
        eng.gc(grace=0)
        self.assertEqual([], eng.verify(deep=True, compare=self.src))
        out = self.path('out')
        eng.restore('new', out)
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(out))


class DiskFullTest(helpers.TempDirTest):

    def setUp(self):
        super().setUp()
        fixtures.need_root(self)
        self.mount = fixtures.mount_tmpfs('24m')
        self.addCleanup(fixtures.unmount, self.mount)
        self.repo_path = os.path.join(self.mount, 'repo')
        self.src = self.path('vol')

    def test_full_repository_fails_cleanly(self):
        fixtures.cli('init', '--repo', self.repo_path, '--chunk-size', '1M',
                     '--compression', 'none', check=True)
        helpers.make_sparse(self.src, 64 * MiB, [(0, 4 * MiB)], self.rng)
        fixtures.cli('backup', self.src, '--repo', self.repo_path,
                     '--backup-id', 'b1', check=True)
        digest = helpers.sha256_file(self.src)
        helpers.make_sparse(self.src, 64 * MiB, [(0, 48 * MiB)], self.rng)
        result = fixtures.cli('backup', self.src, '--repo', self.repo_path,
                              '--backup-id', 'b2')
        self.assertEqual(1, result.returncode)
        self.assertIn('No space left in repository', result.stderr)
        self.assertIn('the backup was not recorded', result.stderr)
        eng = engine.BackupEngine.open(self.repo_path)
        self.assertEqual(['b1'], eng.repo.backup_ids())
        self.assertEqual([], os.listdir(os.path.join(self.repo_path,
                                                     'manifests'))[1:])
        self.assertEqual([], eng.verify(deep=True))
        out = self.path('out')
        eng.restore('b1', out)
        self.assertEqual(digest, helpers.sha256_file(out))
        # Space freed: gc removes the orphans and the next backup fits.
        eng.gc(grace=0)
        helpers.make_sparse(self.src, 64 * MiB, [(0, 8 * MiB)], self.rng)
        self.assertEqual(0, fixtures.cli(
            'backup', self.src, '--repo', self.repo_path).returncode)
