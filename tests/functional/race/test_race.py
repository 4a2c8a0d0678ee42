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

"""N driver processes, one share, one lock backend: nothing lost or torn.

Picked by environment variables, as tooz's functional tests pick their
backend: CINDER_EXT_TEST_COORDINATION_URL is the tooz URL
(``tools/coordination url etcd|redis|file``) and CINDER_EXT_TEST_SHARE a
mounted, empty directory (``tools/testfs``).  Each test draws a new seed
and prints it (stderr, the test's details and every failure message);
CINDER_EXT_TEST_RACE_SEED=S replays seed S (the same operations, ids and
sizes; the interleaving is the kernel's).  CINDER_EXT_TEST_RACE_COPY=copy
forces copies instead of reflinks; CINDER_EXT_TEST_RACE_REPORT names a
file to which each check's result is appended as a JSON line.  The
restart test also needs the servers of ``tools/coordination`` (it
restarts them).  ``tools/soak`` runs many seeds with kills and restarts.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import testtools

from tests import base
from tests.functional.race import harness

URL = os.environ.get('CINDER_EXT_TEST_COORDINATION_URL')
SHARE = os.environ.get('CINDER_EXT_TEST_SHARE')
COPY_METHOD = os.environ.get('CINDER_EXT_TEST_RACE_COPY', 'auto')
REPORT = os.environ.get('CINDER_EXT_TEST_RACE_REPORT')  # JSON lines
WORKERS = 4
OPS = 75            # per worker: 300 in all
STATE_VIOLATIONS = ('lost', 'stray', 'has ', 'content', 'journal says',
                    'already gone', 'replaced', 'renamed over', 'removed')


class RaceTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if not URL or not SHARE:
            self.skipTest('needs CINDER_EXT_TEST_COORDINATION_URL (see '
                          'tools/coordination url) and CINDER_EXT_TEST_SHARE')
        if not os.path.ismount(SHARE) and not os.path.isdir(SHARE):
            self.skipTest('%s is not a directory' % SHARE)
        self.seed = harness.new_seed()
        self.replay = '%s=%s %s=%s' % (harness.SEED_ENV, self.seed,
                                       'CINDER_EXT_TEST_RACE_COPY',
                                       COPY_METHOD)
        sys.stderr.write('%s: seed %s (replay: %s)\n' % (
            self.id(), self.seed, self.replay))
        self.addDetail('seed', testtools.content.text_content(self.replay))
        self.tmp = tempfile.mkdtemp(prefix='cinder-ext-race-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        base.empty_dir(SHARE)
        self.addCleanup(base.empty_dir, SHARE)
        self.race = harness.Race(self.tmp, URL, SHARE, self.seed,
                                 COPY_METHOD)
        self.addCleanup(self.race.kill_all)

    def msg(self, text):
        return '%s [seed %s; replay with %s]' % (text, self.seed,
                                                 self.replay)

    def start(self, *args, **kwargs):
        try:
            return self.race.start(*args, **kwargs)
        except harness.WorkerFailed as exc:
            self.fail(self.msg(str(exc)))

    def wait(self, ids, timeout=180):
        try:
            return self.race.wait(ids, timeout)
        except harness.WorkerFailed as exc:
            self.fail(self.msg(str(exc)))

    def check(self, **extra):
        try:
            result = self.race.check()
        except harness.WorkerFailed as exc:
            self.fail(self.msg(str(exc)))
        result.update(extra)
        self.addDetail('check', testtools.content.text_content(
            json.dumps(result, indent=1, sort_keys=True)[:20000]))
        if REPORT:
            with open(REPORT, 'a') as f:
                f.write(json.dumps({'test': self.id(), 'url': URL,
                                    'share': SHARE, 'result': result},
                                   sort_keys=True) + '\n')
        return result

    def assertNoViolations(self, result):
        self.assertEqual([], result['violations'], self.msg(
            'violations (explained, not violations: %s)'
            % result['explained']))

    def run_race(self, extra=()):
        started = time.time()
        self.wait(self.start(WORKERS, OPS, extra=extra))
        return self.check(seconds=round(time.time() - started, 1))

    def test_race_keeps_every_invariant(self):
        result = self.run_race()
        self.assertNoViolations(result)
        self.assertEqual([], result['temp_before_sweep'], self.msg('temp'))
        self.assertGreaterEqual(result['ops'], WORKERS * OPS)
        self.assertGreater(result['ok'], WORKERS * OPS // 2,
                           self.msg('too few operations succeeded'))

    def test_without_locks_the_checker_sees_races(self):
        result = self.run_race(extra=['--nolock'])
        state = [v for v in result['violations']
                 if v.startswith(STATE_VIOLATIONS) or ' has ' in v]
        self.assertNotEqual([], state, self.msg(
            'no-lock run kept every invariant: the race test cannot '
            'detect races'))

    def test_killed_in_clone_others_continue_and_sweep(self):
        marker = os.path.join(self.tmp, 'hanging')
        victim, = self.start(1, OPS, extra=['--hang-at', '8',
                                            '--marker', marker])
        deadline = time.time() + 60
        while not os.path.exists(marker):
            if not self.race.running([victim]):
                self.fail(self.msg('worker exited: %s' % self.race.output(
                    victim, 'err')[-2000:]))
            self.assertLess(time.time(), deadline, self.msg('no clone'))
            time.sleep(0.05)
        temps = [n for n in os.listdir(SHARE) if n.startswith('.cinder_ext')]
        self.assertNotEqual([], temps)  # the half-made clone
        timeout = harness.lock_timeout(URL)
        recovering = self.race.sigkill(victim)
        killed_at = self.race.kills[-1][1]
        # The others work on the same objects, the victim's source among
        # them; its locks expire with its lease (or at once for files).
        # Cinder's cleanup of the dead clone runs alongside.
        others = self.start(WORKERS - 1, OPS // 2)
        self.wait(others + [recovering], timeout=60 + 4 * timeout)
        took = time.time() - killed_at
        # The final sweep runs once the dead holder's lock has expired;
        # before that it must (and does) leave the files alone.
        time.sleep(max(0.0, killed_at + timeout + 2 - time.time()))
        result = self.check(after_kill_seconds=round(took, 1),
                            lock_timeout=timeout)
        self.assertNoViolations(result)
        self.assertEqual(1, result['killed_ops'], self.msg('killed ops'))
        # Removed by Cinder's cleanup, a sweep once the lock was free (the
        # start-up sweep of the other workers) or the check's.
        self.assertLessEqual(set(result['temp_before_sweep']), set(temps))
        self.assertLess(took, 60 + 4 * timeout)
        self.addDetail('timing', testtools.content.text_content(
            'others finished %.1f s after the kill; lock timeout %s s'
            % (took, timeout)))

    def killed_in(self, script, op, call, when):
        """A worker SIGKILLed on ``when`` (enter/leave) of storage call
        ``call`` in operation ``op``; Cinder's cleanup runs; the check."""
        marker = os.path.join(self.tmp, 'hanging')
        victim, = self.start(1, len(script), extra=[
            '--script', ','.join(script), '--hang-at', '1', '--hang-op', op,
            '--hang-in', call, '--hang-when', when, '--marker', marker])
        deadline = time.time() + 60
        while not os.path.exists(marker):
            if not self.race.running([victim]):
                self.fail(self.msg('worker exited: %s' % self.race.output(
                    victim, 'err')[-2000:]))
            self.assertLess(time.time(), deadline, self.msg('no %s' % op))
            time.sleep(0.05)
        self.wait([self.race.sigkill(victim)],
                  timeout=60 + 4 * harness.lock_timeout(URL))
        result = self.check()
        self.assertEqual(1, result['killed_ops'], self.msg('killed ops'))
        return result

    def test_killed_after_create_made_the_file_cleanup_leaves_none(self):
        """Killed once the file is in place, before the driver returned:
        Cinder's cleanup deletes the volume without a provider_location,
        and the file must go with it."""
        self.assertNoViolations(self.killed_in(['create'], 'create',
                                               'create', 'leave'))

    def test_killed_in_manage_after_rename_cleanup_leaves_none(self):
        """Killed between a manage's rename and its grow: the volume
        (error_managing, no provider_location) is deleted, its file too."""
        self.assertNoViolations(self.killed_in(
            ['create', 'unmanage'], 'manage', 'rename', 'leave'))

    def test_backend_restart_during_race(self):
        """Operations during the outage fail cleanly; the rest complete.

        Bounded: if the workers stall after the restart, the failure says
        which locks could not be released during the outage (the driver
        retries such a release until the backend answers; a lock whose
        failed release were dropped would stay with its process for ever,
        tooz heart-beating its lease).
        """
        if URL.startswith('file://'):
            self.skipTest('no server to restart for file locks')
        name = 'redis' if URL.startswith('redis') else 'etcd'
        ids = self.start(WORKERS, OPS)
        time.sleep(2)
        subprocess.run([os.path.join(harness.REPO, 'tools', 'coordination'),
                        'restart', name], check=True, timeout=60)
        deadline = time.time() + 90 + 4 * harness.lock_timeout(URL)
        while time.time() < deadline and self.race.running(ids):
            time.sleep(0.5)
        stalled = self.race.running(ids)
        if stalled:
            self.race.kill_all()
            leaked = sorted({
                line for wid in ids
                for line in open(self.race.log(wid)).read().splitlines()
                if 'Failed to release lock' in line
                or 'Releasing lock' in line})
            self.check(stalled=len(stalled), leaked=leaked)
            self.fail(self.msg(
                '%d of %d workers stalled after the %s restart; locks whose '
                'release failed during the outage: %s'
                % (len(stalled), len(ids), name, leaked)))
        self.wait(ids)
        self.assertNoViolations(self.check())
