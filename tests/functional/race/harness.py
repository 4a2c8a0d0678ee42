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

"""Start race workers, SIGKILL them, clean up after them, check.

One ``Race`` is one journal on one share with one lock backend; the race
tests and the soak (``tools/soak``) drive it.  Workers are processes of
``tests.functional.race.worker``; every worker id is new within a race
(its random stream is ``seed/id``), and each writes a trail so that a
SIGKILL loses nothing (see ``probe``).
"""

import json
import os
import random
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
COPY_DELAY = 0.02   # inside every copy, inside the locks
SEED_ENV = 'CINDER_EXT_TEST_RACE_SEED'


def new_seed():
    """The seed of a randomized run: from SEED_ENV (a replay) or new."""
    return os.environ.get(SEED_ENV) or str(random.SystemRandom().randrange(
        10 ** 9))


def lock_timeout(url):
    """Seconds after which a dead holder's lock expires (0: at death)."""
    if url.startswith('file://'):
        return 0
    query = url.partition('?')[2]
    options = dict(p.split('=', 1) for p in query.split('&') if '=' in p)
    return float(options.get('lock_timeout', options.get('timeout', 30)))


class WorkerFailed(Exception):
    pass


class Race:

    def __init__(self, tmp, url, share, seed, copy_method='auto'):
        self.tmp, self.url, self.share = tmp, url, share
        self.seed, self.copy_method = str(seed), copy_method
        self.journal = os.path.join(tmp, 'journal')
        self.procs = {}          # worker id -> Popen
        self.next_id = 0
        self.kills = []

    def cmd(self, action, *extra):
        return [sys.executable, '-m', 'tests.functional.race.worker', action,
                '--share', self.share, '--journal', self.journal,
                '--url', self.url, '--copy-method', self.copy_method,
                '--seed', self.seed] + list(extra)

    def _ids(self, n):
        ids = list(range(self.next_id, self.next_id + n))
        self.next_id += n
        return ids

    def trail(self, wid):
        return os.path.join(self.tmp, 'trail-%d' % wid)

    def log(self, wid):
        return os.path.join(self.tmp, 'worker-%d.log' % wid)

    def start(self, n, ops, extra=(), per_worker=None, ready_timeout=60):
        """Start ``n`` workers; return their ids once all have started
        their drivers (they then begin together)."""
        ids = self._ids(n)
        barrier = os.path.join(self.tmp, 'go-%d' % ids[0])
        for i, wid in enumerate(ids):
            args = ['--worker', str(wid), '--ops', str(ops),
                    '--barrier', barrier, '--copy-delay', str(COPY_DELAY),
                    '--trail', self.trail(wid), '--log', self.log(wid)]
            args += list(extra) + list((per_worker or {}).get(i, ()))
            self.procs[wid] = self._spawn(wid, self.cmd('run', *args))
        deadline = time.time() + ready_timeout
        for wid in ids:
            while not os.path.exists('%s.ready.%d' % (barrier, wid)):
                for other in ids:
                    proc = self.procs[other]
                    if proc.poll() is not None:
                        raise WorkerFailed('worker %d exited: %s' % (
                            other, self.output(other, 'err')[-3000:]))
                if time.time() > deadline:
                    raise WorkerFailed('workers not ready in %ds'
                                       % ready_timeout)
                time.sleep(0.05)
        open(barrier, 'w').close()
        return ids

    def _spawn(self, wid, cmd):
        # Files, not pipes: nobody has to drain them while the race runs.
        with open(self._out(wid, 'out'), 'wb') as out, \
                open(self._out(wid, 'err'), 'wb') as err:
            return subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err)

    def _out(self, wid, kind):
        return os.path.join(self.tmp, 'worker-%d.%s' % (wid, kind))

    def output(self, wid, kind):
        with open(self._out(wid, kind), errors='replace') as f:
            return f.read()

    def running(self, ids=None):
        return [w for w in (self.procs if ids is None else ids)
                if self.procs[w].poll() is None]

    def wait(self, ids, timeout=180):
        results = []
        for wid in ids:
            proc = self.procs[wid]
            proc.wait(timeout=timeout)
            if proc.returncode != 0:
                raise WorkerFailed('worker %d exited %d: %s' % (
                    wid, proc.returncode, self.output(wid, 'err')[-3000:]))
            results.append(json.loads(self.output(wid, 'out').strip()
                                      .splitlines()[-1]))
        return results

    def sigkill(self, wid):
        """SIGKILL a worker; journal what it was doing and clean up after
        it as Cinder would (in a new process, concurrently with the
        others).  Returns the recovering process."""
        proc = self.procs[wid]
        # Taken before the signal: the worker's locks go with its death,
        # before wait() returns, and another worker may take them at once;
        # its operation cannot have run past this instant by more than the
        # signal's delivery.
        killed_at = time.time()
        proc.kill()
        proc.wait()
        self.kills.append((wid, killed_at))
        rid, = self._ids(1)
        self.procs[rid] = self._spawn(rid, self.cmd(
            'recover', '--worker', str(rid), '--killed', str(wid),
            '--killed-at', repr(killed_at), '--trail', self.trail(wid),
            '--log', self.log(rid)))
        return rid

    def kill_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def check(self, timeout=300):
        proc = subprocess.run(self.cmd('check'), cwd=REPO,
                              capture_output=True, timeout=timeout)
        if proc.returncode != 0:
            raise WorkerFailed('check exited %d: %s' % (
                proc.returncode, proc.stderr.decode()[-3000:]))
        result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        result['seed'] = self.seed
        return result
