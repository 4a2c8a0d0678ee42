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

"""Backups of a volume or snapshot named by its Cinder id: found through
cinder.conf, point-in-time copy taken under the driver's own lock (real
tooz file locks through Cinder's coordinator), on a loop XFS with reflink
and on ext4 without."""

import json
import os
import shutil
import time
import uuid

from tooz import coordination as tooz_coordination

from cinder_ext.backup import cinder_source
from cinder_ext.backup import repository
from cinder_ext import locks
from tests.functional.backup import fixtures
from tests.unit.backup import helpers

MiB = helpers.MiB


def write_blocks(path, offsets, seed):
    """A distinct MiB at each offset."""
    with open(path, 'r+b') as f:
        for offset in offsets:
            f.seek(offset)
            f.write(((seed + str(offset).encode()) * MiB)[:MiB])


class _CinderIdTest(helpers.TempDirTest):
    fs = None

    @classmethod
    def setUpClass(cls):
        cls.mount = None
        if os.geteuid() == 0 and shutil.which('mkfs.' + cls.fs):
            cls.mount = fixtures.mount_testfs(cls.fs, '2G')

    @classmethod
    def tearDownClass(cls):
        if cls.mount:
            fixtures.unmount_testfs(cls.mount)

    def setUp(self):
        super().setUp()
        if not self.mount:
            self.skipTest('needs root and mkfs.%s' % self.fs)
        self.share = os.path.join(self.mount, uuid.uuid4().hex)
        os.mkdir(self.share)
        self.addCleanup(shutil.rmtree, self.share, True)
        self.conf, self.locks = fixtures.write_cinder_conf(self.dir,
                                                           self.share)
        self.repo = os.path.join(self.dir, 'repo')
        fixtures.cli('init', '--repo', self.repo, '--chunk-size', '1M',
                     check=True)
        self.vid = str(uuid.uuid4())
        self.volume = os.path.join(self.share, 'volume-%s' % self.vid)
        with open(self.volume, 'wb') as f:
            f.truncate(256 * MiB)
        write_blocks(self.volume, [0, 100 * MiB], seed=b'one')

    def backup(self, *extra):
        return fixtures.cli('backup', '--repo', self.repo, '--json',
                            '--cinder-conf', self.conf, '--backend', 'be1',
                            *extra)

    def result(self, proc):
        self.assertEqual(0, proc.returncode, proc.stderr + proc.stdout)
        return json.loads(proc.stdout.splitlines()[-1])

    def leftovers(self):
        return [n for n in os.listdir(self.share)
                if n.endswith('.new') or n.startswith('.cinder_ext-tmp')]


class ReflinkCinderIdTest(_CinderIdTest):
    fs = 'xfs'

    def test_volume_full_then_incremental_from_the_base(self):
        full = self.result(self.backup('--from-volume', self.vid))
        self.assertEqual(self.vid, full['volume_id'])
        base = os.path.join(self.share,
                            cinder_source.BASE_PREFIX + self.vid)
        self.assertTrue(os.path.exists(base))
        write_blocks(self.volume, [200 * MiB], seed=b'two')
        incr = self.result(self.backup('--from-volume', self.vid,
                                       '--incremental'))
        self.assertEqual('fiemap', incr['change_detection'])
        self.assertEqual(full['backup_id'], incr['parent_id'])
        self.assertLessEqual(incr['bytes_read'], 2 * MiB)
        target = os.path.join(self.dir, 'restored')
        fixtures.cli('restore', '--repo', self.repo, incr['backup_id'],
                     target, check=True)
        self.assertEqual(helpers.sha256_file(self.volume),
                         helpers.sha256_file(target))
        self.assertEqual([], self.leftovers())

    def test_cinder_snapshot_is_read_as_is(self):
        sid = str(uuid.uuid4())
        snap = os.path.join(self.share, 'snapshot-%s' % sid)
        shutil.copyfile(self.volume, snap)
        res = self.result(self.backup('--from-snapshot', sid,
                                      '--volume-id', self.vid))
        self.assertEqual(self.vid, res['volume_id'])
        manifest = repository.Repository.open(self.repo).read_manifest(
            res['backup_id'])
        self.assertEqual(snap, manifest['source'])

    def test_volume_deleted_while_the_driver_held_its_lock(self):
        """The driver's delete holds the volume's lock: the backup waits
        for it, then fails cleanly (the volume is gone), leaving no
        snapshot, no base and no backup."""
        coordinator = tooz_coordination.get_coordinator(
            'file://' + self.locks, b'test-driver')
        coordinator.start()
        self.addCleanup(coordinator.stop)
        lock = coordinator.get_lock(
            ('cinder-' + locks.for_key(self.vid)).encode())
        self.assertTrue(lock.acquire())
        proc = fixtures.cli_popen('backup', '--repo', self.repo, '--json',
                                  '--cinder-conf', self.conf, '--backend',
                                  'be1', '--from-volume', self.vid)
        try:
            time.sleep(3)  # long enough for the backup to reach the lock
            self.assertIsNone(proc.poll(), 'the backup did not wait')
            self.assertEqual([], self.leftovers())
            os.unlink(self.volume)
        finally:
            lock.release()
        out, err = proc.communicate(timeout=120)
        self.assertEqual(1, proc.returncode, out + err)
        self.assertIn('SourceError', out)
        self.assertEqual([], os.listdir(self.share))
        self.assertEqual([], repository.Repository.open(
            self.repo).backup_ids())

    def test_unknown_volume_and_backend(self):
        proc = self.backup('--from-volume', str(uuid.uuid4()))
        self.assertEqual(1, proc.returncode)
        self.assertIn('not found on backend be1', proc.stdout)
        proc = fixtures.cli('backup', '--repo', self.repo, '--cinder-conf',
                            self.conf, '--backend', 'nope', '--from-volume',
                            self.vid)
        self.assertEqual(2, proc.returncode)
        proc = fixtures.cli('backup', '--repo', self.repo, '--from-volume',
                            self.vid, self.volume)
        self.assertEqual(2, proc.returncode)


class NoReflinkCinderIdTest(_CinderIdTest):
    fs = 'ext4'

    def test_a_live_volume_without_reflink_is_refused(self):
        """No point-in-time copy is possible: refused, nothing read; the
        operator backs up a Cinder snapshot instead."""
        proc = self.backup('--from-volume', self.vid)
        self.assertEqual(2, proc.returncode, proc.stdout + proc.stderr)
        self.assertIn('snapshot', proc.stdout)
        self.assertEqual([], repository.Repository.open(
            self.repo).backup_ids())
        self.assertEqual(['volume-%s' % self.vid], os.listdir(self.share))
