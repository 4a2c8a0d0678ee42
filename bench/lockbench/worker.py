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

"""Part 2: the mixed workload by worker processes on one share.

Each worker is a cinder-volume-like process (both drivers, its own
coordinator, privsep daemon and copy of the cinder DB) started once by
``Pool`` and driven by JSON lines; ``mixed`` runs the workload for each
backend and worker count and returns the rows.
"""

import fcntl
import json
import os
import random
import subprocess
import sys
import time
import traceback

import bench_nfs as bn

from lockbench import common
from lockbench.common import ATTEMPTS
from lockbench.common import EMPTY
from lockbench.common import FS
from lockbench.common import GiB
from lockbench.common import log
from lockbench.common import pattern
from lockbench.common import RESCHEDULED
from lockbench.common import SIZE_GB
from lockbench.common import SOURCES
from lockbench.common import WORKERS

ENTRY = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bench_locks.py')
use_locks = common.use_locks
watch_locks = common.watch_locks


def plan(seed, workers, index, rounds):
    """The operations of one worker: ``rounds`` rounds of create, extend
    (of that volume), clone and snapshot (of a random source), volume from
    that snapshot, and the deletion of the previous round's four objects
    (three volumes, one snapshot), shuffled (fixed seed)."""
    rng = random.Random('%s/%d/%d' % (seed, workers, index))
    steps = []
    for r in range(rounds):
        ops = [('create', r), ('extend', r), ('clone', r), ('snapshot', r),
               ('volume_from_snapshot', r), ('delete', r - 1, 'V'),
               ('delete', r - 1, 'C'), ('delete', r - 1, 'F'),
               ('delete_snapshot', r - 1)]
        rng.shuffle(ops)
        for first, then in (('create', 'extend'),
                            ('snapshot', 'volume_from_snapshot')):
            i, j = (next(k for k, op in enumerate(ops) if op[0] == name)
                    for name in (first, then))
            if j < i:
                ops[i], ops[j] = ops[j], ops[i]
        steps += ops
    sources = [(rng.randrange(SOURCES), rng.randrange(SOURCES))
               for _r in range(-1, rounds)]
    return steps, sources


class Worker:
    """One cinder-volume-like process: both drivers on the share, its own
    coordinator, privsep daemon and copy of the cinder DB; commands come
    as JSON lines on stdin, replies go to the original stdout."""

    def __init__(self, spec):
        self.spec = spec
        self.pat = pattern()
        wroot = os.path.join(spec['root'], 'w%d' % spec['index'])
        os.mkdir(wroot)
        self.ctxt = bn.init_cinder(
            wroot, database=spec['database'] % spec['index'])
        with open(os.path.join(spec['root'], 'setup.lock'), 'w') as lk:
            # one start-up sweep of the share at a time
            fcntl.flock(lk, fcntl.LOCK_EX)
            self.subjects = {
                'ours': bn.Ours(self.ctxt, FS, spec['ours_dir'], True),
                'anchor': bn.Anchor(self.ctxt, FS, spec['anchor_dir'], True,
                                    MountedShare(spec['root'])),
            }
        from cinder import objects
        self.shared = []
        for vid in spec['sources']:
            vol = objects.Volume.get_by_id(self.ctxt, vid)
            vol.volume_type  # noqa: B018
            vol.admin_metadata  # noqa: B018
            self.shared.append(vol)

    def cmd_locks(self, req):
        use_locks(req['url'])
        self.stats = {'locks': 0, 'lock_wait_s': 0.0, 'slow_acquires': 0}
        watch_locks(self.stats)
        return {}

    def cmd_prepare(self, req):
        """Objects of the plan, untimed: DB records, the anchor's own
        sources, and round -1's objects (deleted in round 0)."""
        s = self.s = self.subjects[req['who']]
        self.steps, picks = plan(req['seed'], req['workers'],
                                 self.spec['index'], req['rounds'])
        ctxt = self.ctxt
        if req['who'] == 'ours':
            self.sources = self.shared
        else:
            self.sources = []
            for _i in range(SOURCES):
                vol = bn.new_volume(ctxt, SIZE_GB)
                s.create(vol)
                self.pat.write(s.path(vol))
                self.sources.append(vol)
        self.objs = {}
        for r, (clone_src, snap_src) in zip(range(-1, req['rounds']), picks):
            self.objs[r] = {
                'V': bn.new_volume(ctxt, SIZE_GB),
                'C': bn.new_volume(ctxt, SIZE_GB),
                'F': bn.new_volume(ctxt, SIZE_GB),
                'S': bn.new_snapshot(ctxt, self.sources[snap_src]),
                'src': self.sources[clone_src]}
        for op in ('create', 'clone', 'snapshot', 'volume_from_snapshot'):
            self.do((op, -1))
        self.errors = []
        return {}

    def do(self, op):
        kind, r = op[0], op[1]
        o, s = self.objs[r], self.s
        if kind == 'create':
            s.create(o['V'])
        elif kind == 'extend':
            s.driver.extend_volume(o['V'], 2 * SIZE_GB)
            o['V'].size = 2 * SIZE_GB
        elif kind == 'clone':
            s.clone(o['C'], o['src'])
        elif kind == 'snapshot':
            s.snapshot(o['S'])
        elif kind == 'volume_from_snapshot':
            s.volume_from_snapshot(o['F'], o['S'])
        elif kind == 'delete':
            s.delete(o[op[2]])
        else:
            s.delete_snapshot(o['S'])

    def cmd_go(self, req):
        counts, retried = {}, []
        self.stats.update(locks=0, lock_wait_s=0.0, slow_acquires=0)
        t0 = time.monotonic()  # CLOCK_MONOTONIC: one clock for all
        for op in self.steps:
            attempts = ATTEMPTS if op[0] in RESCHEDULED else 1
            for attempt in range(1, attempts + 1):
                try:
                    self.do(op)
                    break
                except Exception as exc:
                    err = '%s round %d: %s: %s' % (
                        op[0], op[1], type(exc).__name__,
                        ' '.join(str(exc).split())[:300])
                    (retried if attempt < attempts else self.errors).append(
                        err)
            counts[op[0]] = counts.get(op[0], 0) + 1
        t1 = time.monotonic()
        return dict(self.stats, t0=t0, t1=t1, ops=len(self.steps),
                    counts=counts, retried=retried)

    def cmd_finish(self, req):
        """Verify the last round's objects, then delete them (and the
        anchor's own sources), untimed."""
        s, bad = self.s, list(self.errors)
        last = self.objs[max(self.objs)]
        size = 2 * SIZE_GB * GiB
        for what, reason in (
                ('extended volume', EMPTY.verify(s.path(last['V']), size)),
                ('clone', self.pat.verify(s.path(last['C']))),
                ('snapshot', self.pat.verify(s.snapshot_file(last['S']))),
                ('volume from snapshot', self.pat.verify(
                    s.path(last['F'])))):
            if reason:
                bad.append('%s %s: %s' % (s.label, what, reason))
        s.delete_snapshot(last['S'])
        for key in 'VCF':
            s.delete(last[key])
        if self.sources is not self.shared:
            for vol in self.sources:
                s.delete(vol)
        return {'bad': bad}

    def serve(self, proto):
        while True:
            line = sys.stdin.readline()
            if not line:
                return
            req = json.loads(line)
            if req['cmd'] == 'quit':
                return
            try:
                reply = getattr(self, 'cmd_' + req['cmd'])(req)
            except Exception:
                reply = {'error': traceback.format_exc()}
            proto.write(json.dumps(reply) + '\n')
            proto.flush()


class MountedShare:
    """What a worker's Anchor gets for an Environment: the parent's root
    (shares file, mount point base); the share is bound already."""

    def __init__(self, root):
        self.root = root

    def bind(self, src, dst):
        if not os.path.ismount(dst):
            raise RuntimeError('%s is not mounted' % dst)


def worker_main(spec):
    proto = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)  # whatever else prints goes to the log
    import logging
    logging.basicConfig(level=logging.ERROR)
    worker = Worker(spec)
    proto.write(json.dumps({'ready': os.getpid()}) + '\n')
    proto.flush()
    try:
        worker.serve(proto)
    finally:
        bn.stop_cinder()


class Pool:
    """Worker processes, started once, driven by JSON lines."""

    def __init__(self, env, spec, n):
        self.env = env
        self.procs = []
        env.add_undo('stop workers', self.close)
        for i in range(n):
            logpath = os.path.join(env.root, 'worker-%d.log' % i)
            with open(logpath, 'w') as logf:
                proc = subprocess.Popen(
                    [sys.executable, ENTRY, '--worker',
                     json.dumps(dict(spec, index=i))],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=logf, text=True)
            self.procs.append((proc, logpath))
        for i in range(n):
            self.recv(i)

    def send(self, i, req):
        proc = self.procs[i][0]
        proc.stdin.write(json.dumps(req) + '\n')
        proc.stdin.flush()

    def recv(self, i):
        proc, logpath = self.procs[i]
        line = proc.stdout.readline()
        if not line:
            with open(logpath) as f:
                tail = f.read()[-3000:]
            raise RuntimeError('worker %d died:\n%s' % (i, tail))
        reply = json.loads(line)
        if 'error' in reply:
            raise RuntimeError('worker %d: %s' % (i, reply['error']))
        return reply

    def call(self, workers, req):
        for i in range(workers):
            self.send(i, req)
        return [self.recv(i) for i in range(workers)]

    def close(self):
        for proc, _logpath in self.procs:
            if proc.poll() is None:
                try:
                    proc.stdin.write('{"cmd": "quit"}\n')
                    proc.stdin.flush()
                except OSError:
                    pass
        for proc, _logpath in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


def mixed(pool, urls, rounds, seed, dirs, keep):
    """Rows of the mixed workload for each backend and worker count."""
    rows = []
    for backend in ('etcd', 'redis', 'file'):
        pool.call(max(WORKERS), {'cmd': 'locks', 'url': urls[backend]})
        base = {}
        for workers in WORKERS:
            res, bad = {}, []
            for who, total in zip(('ours', 'anchor'), rounds):
                pool.call(workers, {'cmd': 'prepare', 'who': who,
                                    'workers': workers, 'seed': seed,
                                    'rounds': total // workers})
                done = pool.call(workers, {'cmd': 'go'})
                for reply in pool.call(workers, {'cmd': 'finish'}):
                    bad += reply['bad']
                wall = (max(d['t1'] for d in done) -
                        min(d['t0'] for d in done))
                ops = sum(d['ops'] for d in done)
                res[who] = {'wall': wall, 'ops': ops,
                            'per_worker': [d['t1'] - d['t0'] for d in done],
                            'retried': [r for d in done
                                        for r in d['retried']]}
                for key in ('locks', 'lock_wait_s', 'slow_acquires'):
                    res[who][key] = sum(d[key] for d in done)
                left = sorted(set(os.listdir(dirs[who])) - keep[who])
                if left:
                    bad.append('%s left %s' % (who, left))
                base.setdefault(who, ops / wall)
            o, a = res['ours'], res['anchor']
            ours_s, anchor_s = o['wall'] / o['ops'], a['wall'] / a['ops']
            row = {
                'section': 'mixed', 'backend': backend, 'workers': workers,
                'operation': 'mixed/%s/workers=%d' % (backend, workers),
                'ours_s': ours_s, 'anchor_s': anchor_s,
                'ratio': anchor_s / ours_s,
                'ops_per_s': 1 / ours_s, 'scaling': 1 / ours_s / base['ours'],
                'anchor_ops_per_s': 1 / anchor_s,
                'anchor_scaling': 1 / anchor_s / base['anchor'],
                'ops': o['ops'], 'anchor_ops': a['ops'],
                'wall_s': o['wall'], 'anchor_wall_s': a['wall'],
                'worker_s': o['per_worker'],
                'anchor_worker_s': a['per_worker'],
                'locks': o['locks'], 'lock_wait_s': o['lock_wait_s'],
                'slow_acquires': o['slow_acquires'],
                'anchor_locks': a['locks'],
                'anchor_lock_wait_s': a['lock_wait_s'],
                'anchor_slow_acquires': a['slow_acquires'],
                'ours_retried': o['retried'], 'anchor_retried': a['retried'],
                'check': 'ok' if not bad else 'FAIL: ' + '; '.join(bad)}
            for who, r in res.items():
                if r['retried']:  # e.g. the anchor's create: see README
                    row['check'] += ' (%s: %s failed %dx, retried; see ' \
                        '%s_retried)' % (who, '/'.join(sorted(
                            {e.split()[0] for e in r['retried']})),
                            len(r['retried']), who)
            rows.append(row)
            log('  %-24s ours %7.1f ops/s (x%.2f)  anchor %6.2f ops/s '
                '(x%.2f)  %s' % (row['operation'], row['ops_per_s'],
                                 row['scaling'], row['anchor_ops_per_s'],
                                 row['anchor_scaling'], row['check']))
    return rows
