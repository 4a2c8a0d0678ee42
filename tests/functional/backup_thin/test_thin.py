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

"""Backups of thin LVs on real LVM, in the test guest.

The backup engine reads the device, so the CLI runs in the guest (the
host's venv over 9p), against a VG made on the guest's data disk: a thin
pool and thin LVs with data at scattered offsets.  The repository lives in
the guest's RAM (``/tmp`` is its tmpfs overlay).

Environment: CINDER_EXT_THIN_BACKUP_GUEST (guest name, default
``thinbackup``; booted with one 4G disk and no export when not running).
"""

import json
import os
import shlex
import sys
import uuid

import testtools

from tests.functional.lvm import base

MiB = 1024 ** 2
KiB = 1024
GUEST = os.environ.get('CINDER_EXT_THIN_BACKUP_GUEST', 'thinbackup')
LV_SIZE = 512 * MiB
POOL_SIZE = 1024 * MiB
# the venv running the tests: the guest sees the host's root over 9p
CLI = '%s -m cinder_ext.backup.cli' % sys.executable
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
# Data written at first: (offset, length), in bytes; the pool's blocks are
# 64 KiB, so these are exactly the mapped ranges.
FIRST = [(0, 1 * MiB), (100 * MiB, 2 * MiB),
         (300 * MiB + 64 * KiB, 64 * KiB), (LV_SIZE - 128 * KiB, 128 * KiB)]
_state = {}


def guest():
    """The guest and this process's VG (made once; removed at exit)."""
    return base.thin_pool_guest(GUEST, 'ctb', POOL_SIZE, _state)


class ThinBackupTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('the test guest needs root')
        self.guest, self.vg = guest()
        self.repo = '/tmp/thinbackup-%s' % uuid.uuid4().hex[:8]
        self.lv = 'volume-%s' % uuid.uuid4()
        self.volume_id = self.lv[len('volume-'):]
        self.base_name = '_backup-base-%s' % self.volume_id
        self.addCleanup(self.sh, 'rm -rf %s %s.img' % (self.repo, self.repo))
        self.addCleanup(self.remove_lvs)
        self.sh('lvcreate -q -T %s/pool -V %db -n %s'
                % (self.vg, LV_SIZE, self.lv))
        self.cli('init')

    # -- guest helpers ----------------------------------------------------
    def sh(self, script, timeout=600):
        return base.sh(self.guest, script, timeout)

    def remove_lvs(self):
        names = self.lvs()
        victims = ['%s/%s' % (self.vg, n) for n in names if n != 'pool']
        if victims:
            self.guest.run(['lvremove', '-f', '-y'] + victims)

    def lvs(self):
        """{LV name: tags} of the VG."""
        out = self.sh('lvs --noheadings --separator "|" -o lv_name,lv_tags '
                      '%s' % self.vg)
        rows = [line.strip().split('|') for line in out.splitlines()
                if line.strip()]
        return {name: tags for name, tags in rows}

    def dev(self, name=None):
        return '/dev/%s/%s' % (self.vg, name or self.lv)

    def write(self, ranges):
        """Random data at (offset, length) byte ranges (64 KiB aligned)."""
        self.sh('; '.join(
            'dd if=/dev/urandom of=%s bs=64K seek=%d count=%d oflag=direct '
            'conv=notrunc status=none' % (self.dev(), o // (64 * KiB),
                                          n // (64 * KiB))
            for o, n in ranges))

    def sha(self, path):
        return self.sh('sha256sum < %s' % shlex.quote(path)).split()[0]

    def cli(self, *args, expect=0):
        """Run the CLI in the guest; the last JSON line (result/error)."""
        argv = '%s %s --repo %s --json --no-progress %s' % (
            CLI, args[0], self.repo, ' '.join(shlex.quote(a)
                                              for a in args[1:]))
        rc, out, err = self.guest.run(['sh', '-c', 'cd %s && %s' % (
            TOP, argv)], timeout=600)
        lines = [json.loads(line) for line in out.splitlines()
                 if line.startswith('{')]
        self.assertEqual(expect, rc, 'guest: %s\nstdout: %s\nstderr: %s'
                         % (argv, out[-2000:], err[-2000:]))
        return lines[-1] if lines else None

    def backup(self, *extra, expect=0):
        return self.cli('backup', '--volume-id', self.volume_id, *extra,
                        self.dev(), expect=expect)

    def manifest(self, backup_id):
        return self.cli('show', backup_id)

    def assert_no_temporary(self):
        self.assertEqual([], [n for n in self.lvs()
                              if n.startswith('_backup-new-')])

    # -- tests --------------------------------------------------------------
    def test_full_incremental_restore_delete(self):
        self.write(FIRST)
        full = self.manifest(self.backup('--snapshot-base',
                                         self.base_name)['backup_id'])
        written = sum(n for _o, n in FIRST)
        # only the mapped data is read: 3.3 MiB of a 512 MiB LV
        self.assertEqual(written, full['stats']['bytes_read'])
        self.assertLess(full['stats']['bytes_stored'], written + 64 * KiB)
        self.assertEqual('full', full['change_detection'])
        self.assertEqual('thin', full['source_kind'])
        self.assertEqual('%s/%s' % (self.vg, self.base_name),
                         full['thin_base'])
        lvs = self.lvs()
        self.assertEqual('cinder_ext_backup.' + full['backup_id'],
                         lvs[self.base_name])
        self.assert_no_temporary()

        # two small changes: one inside the 2 MiB range at 100 MiB (its
        # chunk holds 2 MiB of mapped data), one in a hole at 200 MiB
        self.write([(101 * MiB, 64 * KiB), (200 * MiB, 128 * KiB)])
        incr = self.manifest(self.backup(
            '--incremental', '--snapshot-base', self.base_name)['backup_id'])
        self.assertEqual('thin_delta', incr['change_detection'])
        self.assertEqual(full['backup_id'], incr['parent_id'])
        self.assertEqual(2 * MiB + 128 * KiB, incr['stats']['bytes_read'])
        self.assertEqual([100 * MiB // (4 * MiB), 200 * MiB // (4 * MiB)],
                         [index for index, _id in incr['chunks']])
        self.assertEqual('cinder_ext_backup.' + incr['backup_id'],
                         self.lvs()[self.base_name])
        self.assert_no_temporary()

        target = self.repo + '.img'
        self.cli('restore', incr['backup_id'], target)
        self.assertEqual(self.sha(self.dev()), self.sha(target))

        # deleting the newest backup removes the base that holds its state
        self.cli('delete', incr['backup_id'])
        self.assertNotIn(self.base_name, self.lvs())
        # the next incremental has no base: it compares hashes of the
        # mapped data only, and keeps a new base
        again = self.manifest(self.backup(
            '--incremental', '--snapshot-base', self.base_name)['backup_id'])
        self.assertEqual('hash', again['change_detection'])
        self.assertEqual(written + 128 * KiB, again['stats']['bytes_read'])
        self.assertEqual('cinder_ext_backup.' + again['backup_id'],
                         self.lvs()[self.base_name])

    def test_restore_to_a_thin_lv_discards_its_holes(self):
        """Holes of the backup are discarded on a thin LV target, not
        zeroed: the target's pool blocks are unmapped (zeroing would map
        every block and fill the pool), and it reads as the source."""
        self.write(FIRST)
        full = self.backup()
        target = 'restore-%s' % uuid.uuid4().hex[:8]
        self.sh('lvcreate -q -T %s/pool -V %db -n %s'
                % (self.vg, LV_SIZE, target))
        # stale data where the source has holes
        self.sh('dd if=/dev/urandom of=%s bs=1M seek=50 count=4 '
                'oflag=direct status=none; dd if=/dev/urandom of=%s bs=1M '
                'seek=400 count=4 oflag=direct status=none'
                % (self.dev(target), self.dev(target)))
        self.cli('restore', full['backup_id'], self.dev(target))
        self.assertEqual(self.sha(self.dev()), self.sha(self.dev(target)))
        used = self.sh('lvs --noheadings --units b --nosuffix -o '
                       'lv_name,data_percent %s/%s %s/%s' % (
                           self.vg, self.lv, self.vg, target))
        percent = {n: float(p) for n, p in
                   (line.split() for line in used.splitlines())}
        # the 8 MiB of stale data are unmapped again
        self.assertLessEqual(percent[target], percent[self.lv] + 0.1)

    def test_discard_is_recorded_as_zeroes(self):
        self.write(FIRST)
        full = self.backup('--snapshot-base', self.base_name)
        # unmap the first MiB: thin_delta reports it left_only
        self.sh('blkdiscard -o 0 -l %d %s' % (MiB, self.dev()))
        incr = self.manifest(self.backup(
            '--incremental', '--snapshot-base', self.base_name)['backup_id'])
        self.assertEqual('thin_delta', incr['change_detection'])
        self.assertEqual(0, incr['stats']['bytes_read'])
        self.assertEqual([[0, None]], incr['chunks'])
        self.assertEqual(full['backup_id'], incr['parent_id'])
        target = self.repo + '.img'
        self.cli('restore', incr['backup_id'], target)
        self.assertEqual(self.sha(self.dev()), self.sha(target))

    def test_without_base_no_snapshot_is_kept(self):
        self.write(FIRST[:1])
        result = self.manifest(self.backup()['backup_id'])
        self.assertEqual(MiB, result['stats']['bytes_read'])
        self.assertIsNone(result['thin_base'])
        self.assertEqual(['pool', self.lv], sorted(self.lvs()))

    def test_failures_leave_no_snapshot(self):
        self.write(FIRST[:1])
        # an incremental without a parent fails after the snapshot
        error = self.backup('--incremental', '--snapshot-base',
                            self.base_name, expect=1)
        self.assertEqual('ParentNotFound', error['error'])
        self.assertEqual(['pool', self.lv], sorted(self.lvs()))
        # a base name of the volume driver's is refused before anything
        error = self.backup('--snapshot-base', 'volume-x', expect=2)
        self.assertIn('prefix', error['message'])
        # a path that is no repository
        rc, out, _err = self.guest.run(['sh', '-c', 'cd %s && %s backup '
                                        '--repo /tmp --json %s' % (
                                            TOP, CLI, self.dev())])
        self.assertEqual(1, rc, out)
        self.assertEqual(['pool', self.lv], sorted(self.lvs()))

    def test_leftovers_of_a_killed_run_are_cleared(self):
        """A killed run leaves its snapshot and perhaps the pool's
        metadata snapshot reserved; the next run clears both."""
        self.write(FIRST[:2])
        self.sh('lvcreate -q -s -n _backup-new-%s -ay -K %s/%s && '
                'dmsetup message %s-pool-tpool 0 reserve_metadata_snap'
                % (self.lv, self.vg, self.lv, self.vg.replace('-', '--')))
        self.addCleanup(self.guest.run, [
            'dmsetup', 'message', '%s-pool-tpool' % self.vg.replace(
                '-', '--'), '0', 'release_metadata_snap'])
        result = self.manifest(self.backup('--snapshot-base',
                                           self.base_name)['backup_id'])
        self.assertEqual(3 * MiB, result['stats']['bytes_read'])
        self.assertEqual([self.base_name, 'pool', self.lv],
                         sorted(self.lvs()))
        rc, _out, _err = self.guest.run([
            'dmsetup', 'message', '%s-pool-tpool' % self.vg.replace(
                '-', '--'), '0', 'release_metadata_snap'])
        self.assertNotEqual(0, rc, 'the metadata snapshot stayed reserved')

    def test_killed_and_busy_runs(self):
        """A run killed after its snapshot leaves it; a run that times out
        on the repository lock removes its own and the killed run's."""
        self.write(FIRST[:1])
        marker = self.repo + '.locked'
        # hold the repository lock, as a prune would
        self.sh('python3 -c "import fcntl, os, time; f = open(\'%s/lock\', '
                '\'a\'); fcntl.lockf(f, fcntl.LOCK_EX); open(\'%s\', \'w\'); '
                'time.sleep(600)" >/dev/null 2>&1 & echo $! > %s.holder; '
                'for i in $(seq 100); do [ -e %s ] && break; sleep 0.2; done; '
                'test -e %s' % (self.repo, marker, self.repo, marker, marker))
        self.addCleanup(self.guest.run, ['sh', '-c', 'kill $(cat %s.holder)'
                                         % self.repo])
        temp = '_backup-new-' + self.lv
        pid = self.sh('(cd %s && exec %s backup --repo %s --json --volume-id '
                      '%s --snapshot-base %s %s >/dev/null 2>&1) & echo $!'
                      % (TOP, CLI, self.repo, self.volume_id,
                         self.base_name, self.dev())).strip()
        self.sh('for i in $(seq 300); do lvs %s/%s >/dev/null 2>&1 && '
                'break; sleep 0.5; done; kill -9 %s; sleep 0.5; '
                '! grep -q backup /proc/%s/cmdline 2>/dev/null'
                % (self.vg, temp, pid, pid))
        self.assertIn(temp, self.lvs())  # blocked on the lock, then killed
        error = self.backup('--lock-timeout', '1', '--snapshot-base',
                            self.base_name, expect=4)
        self.assertEqual('RepositoryBusy', error['error'])
        self.assertEqual(['pool', self.lv], sorted(self.lvs()))
        self.sh('kill $(cat %s.holder)' % self.repo)
        result = self.backup('--snapshot-base', self.base_name)
        self.assertEqual('full', result['change_detection'])
        self.assertEqual([self.base_name, 'pool', self.lv],
                         sorted(self.lvs()))
