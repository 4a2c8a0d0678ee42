"""N driver processes, one share, one lock backend: nothing lost or torn.

Picked by environment variables, as tooz's functional tests pick their
backend: CINDER_EXT_TEST_COORDINATION_URL is the tooz URL
(``tools/coordination url etcd|redis|file``) and CINDER_EXT_TEST_SHARE a
mounted, empty directory (``tools/testfs``).  CINDER_EXT_TEST_RACE_SEED
changes the operations' seed; CINDER_EXT_TEST_RACE_COPY=copy forces
copies instead of reflinks; CINDER_EXT_TEST_RACE_REPORT names a file to
which each check's result is appended as a JSON line.  The restart test
also needs the servers of ``tools/coordination`` (it restarts them).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import testtools

from tests import base

URL = os.environ.get('CINDER_EXT_TEST_COORDINATION_URL')
SHARE = os.environ.get('CINDER_EXT_TEST_SHARE')
SEED = os.environ.get('CINDER_EXT_TEST_RACE_SEED', '4242')
COPY_METHOD = os.environ.get('CINDER_EXT_TEST_RACE_COPY', 'auto')
REPORT = os.environ.get('CINDER_EXT_TEST_RACE_REPORT')  # JSON lines
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
WORKERS = 4
OPS = 75            # per worker: 300 in all
COPY_DELAY = 0.02   # inside every copy, inside the locks
STATE_VIOLATIONS = ('lost', 'stray', 'has ', 'content', 'journal says',
                    'already gone', 'replaced', 'renamed over', 'removed')


def lock_timeout():
    """Seconds after which a dead holder's lock expires (0: at death)."""
    if URL.startswith('file://'):
        return 0
    query = URL.partition('?')[2]
    options = dict(p.split('=', 1) for p in query.split('&') if '=' in p)
    return float(options.get('lock_timeout', options.get('timeout', 30)))


class RaceTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if not URL or not SHARE:
            self.skipTest('needs CINDER_EXT_TEST_COORDINATION_URL (see '
                          'tools/coordination url) and CINDER_EXT_TEST_SHARE')
        if not os.path.ismount(SHARE) and not os.path.isdir(SHARE):
            self.skipTest('%s is not a directory' % SHARE)
        self.tmp = tempfile.mkdtemp(prefix='cinder-ext-race-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.empty_share()
        self.addCleanup(self.empty_share)
        self.journal = os.path.join(self.tmp, 'journal')
        self.procs = []
        self.addCleanup(self.kill_all)

    def empty_share(self):
        base.empty_dir(SHARE)

    def kill_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def worker_cmd(self, action, *extra):
        return [sys.executable, '-m', 'tests.functional.race.worker', action,
                '--share', SHARE, '--journal', self.journal, '--url', URL,
                '--copy-method', COPY_METHOD] + list(extra)

    def start_workers(self, n=WORKERS, ops=OPS, extra=(), per_worker=None):
        base = len(self.procs)  # worker ids stay unique across calls
        barrier = os.path.join(self.tmp, 'go-%d' % base)
        for i in range(base, base + n):
            args = ['--worker', str(i), '--seed', SEED, '--ops', str(ops),
                    '--barrier', barrier, '--copy-delay', str(COPY_DELAY),
                    '--log', os.path.join(self.tmp, 'worker-%d.log' % i)]
            args += list(extra) + list((per_worker or {}).get(i, ()))
            self.procs.append(subprocess.Popen(
                self.worker_cmd('run', *args), cwd=REPO,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        procs = self.procs[-n:]
        deadline = time.time() + 60
        for i in range(base, base + n):  # each has started its driver
            while not os.path.exists('%s.ready.%d' % (barrier, i)):
                for proc in procs:
                    if proc.poll() is not None:
                        self.fail('worker exited: %s'
                                  % proc.communicate()[1][-3000:])
                self.assertLess(time.time(), deadline, 'workers not ready')
                time.sleep(0.05)
        open(barrier, 'w').close()
        return procs

    def wait(self, procs, timeout=180):
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            self.assertEqual(0, proc.returncode, err.decode()[-3000:])
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results

    def check(self, **extra):
        proc = subprocess.run(self.worker_cmd('check'), cwd=REPO,
                              capture_output=True, timeout=300)
        self.assertEqual(0, proc.returncode, proc.stderr.decode()[-3000:])
        result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        result.update(extra)
        self.addDetail('check', testtools.content.text_content(
            json.dumps(result, indent=1, sort_keys=True)[:20000]))
        if REPORT:
            with open(REPORT, 'a') as f:
                f.write(json.dumps({'test': self.id(), 'url': URL,
                                    'share': SHARE, 'result': result},
                                   sort_keys=True) + '\n')
        return result

    def race(self, extra=()):
        started = time.time()
        self.wait(self.start_workers(extra=extra))
        return self.check(seconds=round(time.time() - started, 1))

    def test_race_keeps_every_invariant(self):
        result = self.race()
        self.assertEqual([], result['violations'])
        self.assertEqual([], result['temp_before_sweep'])
        self.assertGreaterEqual(result['ops'], WORKERS * OPS)
        self.assertGreater(result['ok'], WORKERS * OPS // 2)

    def test_without_locks_the_checker_sees_races(self):
        result = self.race(extra=['--nolock'])
        state = [v for v in result['violations']
                 if v.startswith(STATE_VIOLATIONS) or ' has ' in v]
        self.assertNotEqual([], state, 'no-lock run kept every invariant: '
                                       'the race test cannot detect races')

    def test_killed_in_clone_others_continue_and_sweep(self):
        marker = os.path.join(self.tmp, 'hanging')
        victim, = self.start_workers(
            n=1, ops=OPS, extra=['--hang-at', '8', '--marker', marker])
        deadline = time.time() + 60
        while not os.path.exists(marker):
            if victim.poll() is not None:
                self.fail('worker exited: %s'
                          % victim.communicate()[1][-2000:])
            self.assertLess(time.time(), deadline, 'no clone to kill')
            time.sleep(0.05)
        temps = [n for n in os.listdir(SHARE) if n.startswith('.cinder_ext')]
        self.assertNotEqual([], temps)  # the half-made clone
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.time()
        # The others work on the same objects, the victim's source among
        # them; its locks expire with its lease (or at once for files).
        others = self.start_workers(n=WORKERS - 1, ops=OPS // 2)
        self.wait(others, timeout=60 + 4 * lock_timeout())
        took = time.time() - killed_at
        # The final sweep runs once the dead holder's lock has expired;
        # before that it must (and does) leave the files alone.
        time.sleep(max(0.0, killed_at + lock_timeout() + 2 - time.time()))
        result = self.check(after_kill_seconds=round(took, 1),
                            lock_timeout=lock_timeout())
        self.assertEqual([], result['violations'])
        # Removed by a sweep once the lock was free: the start-up sweep of
        # the other workers (lock already expired) or the check's.
        self.assertLessEqual(set(result['temp_before_sweep']), set(temps))
        self.assertLess(took, 60 + 4 * lock_timeout())
        self.addDetail('timing', testtools.content.text_content(
            'others finished %.1f s after the kill; lock timeout %s s'
            % (took, lock_timeout())))

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
        procs = self.start_workers()
        time.sleep(2)
        subprocess.run([os.path.join(REPO, 'tools', 'coordination'),
                        'restart', name], check=True, timeout=60)
        deadline = time.time() + 90 + 4 * lock_timeout()
        while time.time() < deadline and any(
                p.poll() is None for p in procs):
            time.sleep(0.5)
        stalled = [p for p in procs if p.poll() is None]
        if stalled:
            self.kill_all()
            leaked = sorted({
                line for p in procs
                for line in p.communicate()[1].decode().splitlines()
                if 'Failed to release lock' in line
                or 'Releasing lock' in line})
            self.check(stalled=len(stalled), leaked=leaked)
            self.fail('%d of %d workers stalled after the %s restart; '
                      'locks whose release failed during the outage: %s'
                      % (len(stalled), len(procs), name, leaked))
        self.wait(procs)
        result = self.check()
        self.assertEqual([], result['violations'])
