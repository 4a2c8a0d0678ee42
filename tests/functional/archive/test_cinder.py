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

"""cinder-ext-backup archive of Cinder objects named by id, through a
cinder.conf whose NFS/POSIX backend has a share directory on a loop XFS:
a volume (reflinked under the driver's lock, taken through Cinder's
coordinator with real tooz file locks), a snapshot (read as it is), and
every volume of the backend with one of them broken."""

import os
import time
import uuid

from tooz import coordination as tooz_coordination

from tests.functional.archive import base
from tests.functional.archive import disks
from tests.functional.backup import fixtures
from tests.unit.backup import helpers
from cinder_ext import locks

EXCLUDE = ['--exclude', 'skipme']
EXCLUDED = ['./lost+found', './skipme']


class CinderArchiveTest(base.ArchiveTestBase):

    def setUp(self):
        super().setUp()
        self.share = os.path.join(self.work, 'share')
        os.mkdir(self.share)
        self.conf, self.locks = fixtures.write_cinder_conf(self.dir,
                                                           self.share)

    def volume(self, name, fill=True):
        """A GPT disk with one ext4 (fill), or 64 MiB of zeros."""
        path = os.path.join(self.share, name)
        if not fill:
            disks.make_image(path, 64, None, [])
            return path, None
        placed = disks.make_image(path, 200, 'gpt', [(None, None)])
        number, offset, size = placed[0]
        return path, disks.fill_filesystem(path, offset, size, 'ext4',
                                           self.rng)

    def cinder(self, *args):
        return self.archive('--cinder-conf', self.conf, '--backend', 'be1',
                            *(list(args) + EXCLUDE))

    def check(self, result, tree):
        self.assertEqual(['p1-ext4.tar'], result['archives'])
        self.assert_sums(result['path'])
        self.assert_tar(os.path.join(result['path'], 'p1-ext4.tar'), tree,
                        EXCLUDED)

    def test_volume_waits_for_the_driver_lock(self):
        vid = str(uuid.uuid4())
        path, tree = self.volume('volume-%s' % vid)
        sha = helpers.sha256_file(path)
        coordinator = tooz_coordination.get_coordinator(
            'file://' + self.locks, b'test-driver')
        coordinator.start()
        self.addCleanup(coordinator.stop)
        lock = coordinator.get_lock(('cinder-' + locks.for_key(vid)).encode())
        self.assertTrue(lock.acquire())
        proc = fixtures.cli_popen(
            'archive', '--json', '--out', self.out, '--workdir', self.mounts,
            '--cinder-conf', self.conf, '--backend', 'be1', '--from-volume',
            vid, *EXCLUDE)
        try:
            time.sleep(3)  # long enough to reach the lock
            self.assertIsNone(proc.poll(), 'the archive did not wait')
            self.assertEqual(['volume-%s' % vid], os.listdir(self.share))
        finally:
            lock.release()
        out, err = proc.communicate(timeout=120)
        proc.stdout, proc.stderr = out, err
        result, manifest = self.ok(proc)
        self.assertEqual(vid, result['volume_id'])
        self.assertEqual('reflink', manifest['snapshot']['kind'])
        self.assertEqual('volume %s' % vid, manifest['source'])
        self.assertTrue(result['path'].startswith(os.path.join(self.out,
                                                               vid)))
        self.check(result, tree)
        self.assert_clean(path, sha)
        self.assertEqual(['volume-%s' % vid], os.listdir(self.share))

    def test_snapshot_is_read_as_it_is(self):
        sid = str(uuid.uuid4())
        path, tree = self.volume('snapshot-%s' % sid)
        sha = helpers.sha256_file(path)
        result, manifest = self.ok(self.cinder('--from-snapshot', sid))
        self.assertEqual('as-is', manifest['snapshot']['kind'])
        self.check(result, tree)
        self.assert_clean(path, sha)

    def test_all_volumes_one_broken(self):
        good = sorted(str(uuid.uuid4()) for _ in range(2))
        broken = str(uuid.uuid4())
        made = {vid: self.volume('volume-%s' % vid) for vid in good}
        bad_path, _ = self.volume('volume-%s' % broken, fill=False)
        self.volume('not-a-volume', fill=False)
        shas = {vid: helpers.sha256_file(p) for vid, (p, t) in made.items()}
        bad_sha = helpers.sha256_file(bad_path)
        proc = self.cinder('--all')
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        lines = self.lines(proc)
        summary = lines[-1]
        self.assertEqual(sorted(good), sorted(summary['archived']))
        self.assertEqual(1, len(summary['failed']))
        self.assertTrue(summary['failed'][0].startswith(broken + ': '))
        self.assertIn('no filesystem and no partition table',
                      summary['failed'][0])
        self.assert_clean(bad_path, bad_sha)
        results = {r['volume_id']: r for r in lines
                   if r['event'] == 'result' and 'path' in r}
        for vid in good:
            self.check(results[vid], made[vid][1])
            self.assert_clean(made[vid][0], shas[vid])
        self.assertFalse(os.path.exists(os.path.join(self.out, broken)) and
                         os.listdir(os.path.join(self.out, broken)))
        self.assertNotIn('not-a-volume', os.listdir(self.out))
