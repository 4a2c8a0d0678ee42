#!/usr/bin/env python3
"""Lock overhead and active/active throughput of cinder-ext's NfsDriver.

Two parts, one run, one XFS reflink loop filesystem (as bench_nfs.py makes
it), cinder's in-tree NfsDriver as the anchor throughout:

* lock overhead: create (1 GiB thin), extend, snapshot, clone and delete,
  timed one by one (median of the repetitions) with cinder's coordinator on
  each tooz backend (file, etcd, redis) and with no-op locks; the overhead
  of a backend is ours with it minus ours with no-op locks.  The anchor does
  the same operations on the same filesystem under the same locks (it
  takes cinder coordination locks too).
* throughput: a fixed mixed workload by 1, 2 and 4 worker processes on one
  share, each process with its own driver, coordinator and privsep daemon,
  as cinder-volume services in active/active.  Our workers clone and
  snapshot a shared set of source volumes, so their locks contend; the
  anchor's workers run the same operation mix, each on its own sources.

Usage (root needed: loop devices, mounts)::

    python bench/bench_locks.py [--json PATH] [--quick] [--reps N]

etcd and redis run on the bench's own ports (tools/coordination with
CINDER_EXT_COORD_* set, unless already set); servers it started are
stopped at the end, and everything else it made is removed, also on
failure.
"""

import argparse
import fcntl
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import traceback

import bench_nfs as bn
from bench_nfs import GiB, MiB, log

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FS = 'xfs-reflink'
SIZE_GB = 1
SEED = bn.SEED
SOURCES = 2  # shared sources of the mixed workload
BACKENDS = ('file', 'etcd', 'redis')
WORKERS = (1, 2, 4)
OPS = ('create', 'extend', 'snapshot', 'clone', 'delete')
# Rounds of the mixed workload, split between the workers (9 operations
# a round): (ours, anchor), full and --quick.
ROUNDS = {False: (256, 12), True: (32, 4)}
COORD_ENV = {
    'CINDER_EXT_COORD_DIR': '/tmp/cinder-ext-bench-coordination',
    'CINDER_EXT_COORD_ETCD_PORT': '23795',
    'CINDER_EXT_COORD_ETCD_PEER_PORT': '23805',
    'CINDER_EXT_COORD_REDIS_PORT': '26385',
}
LOCKS = []  # names handed out by the counting no-op get_lock
# Cinder reschedules a failed volume creation (scheduler_max_attempts=3).
RESCHEDULED = ('create', 'clone', 'volume_from_snapshot')
ATTEMPTS = 3


def pattern():
    """8 random MiB at random 1 MiB slots of 1 GiB (fixed seed)."""
    return bn.Pattern(SEED, SIZE_GB * GiB, 8, MiB)


EMPTY = bn.Pattern(SEED, SIZE_GB * GiB, 0, MiB)


# -- locks --------------------------------------------------------------------

def coordination_urls(env, backends):
    """tooz URL of each backend; etcd and redis are started through
    tools/coordination unless they run, and stopped at the end if this
    run started them."""
    for key, value in COORD_ENV.items():
        os.environ.setdefault(key, value)
    tool = os.path.join(TOP, 'tools', 'coordination')
    coord_dir = os.environ['CINDER_EXT_COORD_DIR']
    urls = {}
    for name in backends:
        if name != 'file' and not server_runs(coord_dir, name):
            log('starting %s (tools/coordination start %s)' % (name, name))
            subprocess.run([tool, 'start', name], check=True,
                           stdout=subprocess.DEVNULL)
            env.add_undo('stop ' + name,
                         lambda name=name: bn.run(tool, 'stop', name))
        urls[name] = subprocess.run(
            [tool, 'url', name], check=True, capture_output=True,
            text=True).stdout.strip()
    return urls


def server_runs(coord_dir, name):
    try:
        with open(os.path.join(coord_dir, name + '.pid')) as f:
            os.kill(int(f.read()), 0)
        return True
    except (OSError, ValueError):
        return False


def watch_locks(stats):
    """Count the locks cinder's coordinator hands out from now on, the
    time spent acquiring them and the acquisitions that took over 50 ms
    (a contended tooz lock retries after 0.1 s on redis, 1 s on etcd)."""
    from cinder import coordination
    coord = coordination.COORDINATOR
    real = coord.get_lock

    def get_lock(name):
        lock = real(name)
        acquire = lock.acquire

        def timed_acquire(*args, **kwargs):
            start = time.monotonic()
            try:
                return acquire(*args, **kwargs)
            finally:
                waited = time.monotonic() - start
                stats['locks'] += 1
                stats['lock_wait_s'] += waited
                stats['slow_acquires'] += waited > 0.05
        lock.acquire = timed_acquire
        return lock
    coord.get_lock = get_lock


def use_locks(url):
    """Point cinder's coordinator at ``url``; None: no-op locks, whose
    names are appended to LOCKS (so an operation's locks can be
    counted)."""
    from cinder import coordination
    from oslo_config import cfg
    coord = coordination.COORDINATOR
    coord.__dict__.pop('get_lock', None)
    if url is None:
        sys.path.insert(1, TOP)
        from tests.functional.race.worker import NoLock

        def get_lock(name):
            LOCKS.append(name)
            return NoLock(name)
        coord.get_lock = get_lock
        return
    if coord.started and cfg.CONF.coordination.backend_url == url:
        return
    coord.stop()
    cfg.CONF.set_override('backend_url', url, group='coordination')
    coord.start()


# -- part 1: lock overhead per operation --------------------------------------

def lifecycle(ctxt, s, pat):
    """create, extend, snapshot, clone, delete by subject ``s``, each timed
    after ``sync``; returns ({op: seconds}, {op: locks}, [failures]).
    Results are verified between the timed calls."""
    t, locks, bad = {}, {}, []

    def step(op, func, *args):
        before = len(LOCKS)
        t[op], _ = bn.timed(func, *args)
        locks[op] = len(LOCKS) - before

    def check(what, reason):
        if reason:
            bad.append('%s %s: %s' % (s.label, what, reason))

    size = 2 * SIZE_GB * GiB
    vol = bn.new_volume(ctxt, SIZE_GB)
    step('create', s.create, vol)
    check('create', EMPTY.verify(s.path(vol)))
    pat.write(s.path(vol))
    step('extend', s.driver.extend_volume, vol, 2 * SIZE_GB)
    vol.size = 2 * SIZE_GB
    check('extend', pat.verify(s.path(vol), size))
    snap = bn.new_snapshot(ctxt, vol)
    step('snapshot', s.snapshot, snap)
    check('snapshot', pat.verify(s.snapshot_file(snap), size))
    clone = bn.new_volume(ctxt, 2 * SIZE_GB)
    step('clone', s.clone, clone, vol)
    check('clone', pat.verify(s.path(clone), size))
    step('delete', s.delete, clone)
    if os.path.exists(s.path(clone)):
        bad.append('%s delete: %s is still there' % (s.label, clone.name))
    s.delete_snapshot(snap)
    s.delete(vol)
    left = sorted(os.listdir(s.dir))
    if left:
        bad.append('%s left %s' % (s.label, left))
    return t, locks, bad


def overhead(ctxt, subjects, urls, reps, pat):
    modes = [('none', None)] + [(b, urls[b]) for b in BACKENDS]
    times = {}
    locks = {}
    checks = {mode: [] for mode, _url in modes}
    for rep in range(reps):
        # a different order each repetition, against drift
        for mode, url in modes[rep % len(modes):] + modes[:rep % len(modes)]:
            use_locks(url)
            for s in subjects:
                t, n, bad = lifecycle(ctxt, s, pat)
                for op in OPS:
                    times.setdefault((mode, s, op), []).append(t[op])
                    if mode == 'none':
                        locks[s, op] = n[op]
                checks[mode] += bad
        log('  overhead repetition %d/%d done' % (rep + 1, reps))
    ours, anchor = subjects
    rows = []
    med = {key: statistics.median(v) for key, v in times.items()}
    for mode, _url in modes:
        for op in OPS + ('lifecycle',):
            if op == 'lifecycle':  # the five operations together
                o, a = (sum(med[mode, s, x] for x in OPS) for s in subjects)
                o0, a0 = (sum(med['none', s, x] for x in OPS)
                          for s in subjects)
                n, na = (sum(locks[s, x] for x in OPS) for s in subjects)
                extra = {}
            else:
                o, a = med[mode, ours, op], med[mode, anchor, op]
                o0, a0 = med['none', ours, op], med['none', anchor, op]
                n, na = locks[ours, op], locks[anchor, op]
                extra = {'ours_all_s': times[mode, ours, op],
                         'anchor_all_s': times[mode, anchor, op]}
            bad = sorted(set(checks[mode]))
            row = {'section': 'overhead', 'operation': '%s/%s' % (op, mode),
                   'backend': mode, 'ours_s': o, 'anchor_s': a,
                   'ratio': a / o if o > 0 else float('inf'),
                   'lock_overhead_s': o - o0, 'anchor_lock_overhead_s': a - a0,
                   'locks': n, 'anchor_locks': na,
                   'overhead_per_lock_s': (o - o0) / n if n else None,
                   'reps': reps,
                   'check': 'ok' if not bad else 'FAIL: ' + '; '.join(bad)}
            row.update(extra)
            rows.append(row)
    return rows


# -- part 2: mixed workload by worker processes -------------------------------

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
                    [sys.executable, os.path.abspath(__file__), '--worker',
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


# -- output -------------------------------------------------------------------

def ms(value):
    return '%.2f' % (value * 1000)


def fmt_tables(rows, header):
    over = [r for r in rows if r['section'] == 'overhead']
    lines = [[r['operation'], ms(r['ours_s']), ms(r['anchor_s']),
              '%.1f' % r['ratio'], ms(r['lock_overhead_s']), str(r['locks']),
              ms(r['overhead_per_lock_s'] or 0), str(r['anchor_locks']),
              r['check']] for r in over]
    out = [bn.table(header, [
        'operation', 'ours_ms', 'anchor_ms', 'ratio', 'overhead_ms',
        'locks', 'ms/lock', 'anchor_locks', 'check'], lines)]
    mix = [r for r in rows if r['section'] == 'mixed']
    lines = [[r['operation'], ms(r['ours_s']), ms(r['anchor_s']),
              '%.1f' % r['ratio'], '%.1f' % r['ops_per_s'],
              '%.2f' % r['scaling'], '%.2f' % r['anchor_ops_per_s'],
              '%.2f' % r['anchor_scaling'], ms(r['lock_wait_s'] / r['ops']),
              str(r['slow_acquires']), r['check']] for r in mix]
    out.append(bn.table([
        '', 'mixed workload: ms/op = wall time / operations; lock_wait = '
        'ours\' time in lock acquisition (all workers) / operations; '
        'slow = acquisitions over 50 ms'], [
            'operation', 'ours_ms/op', 'anchor_ms/op', 'ratio', 'ops/s',
            'scaling', 'anchor_ops/s', 'anchor_scaling', 'lock_wait_ms/op',
            'slow', 'check'], lines))
    return '\n'.join(out)


def main():
    parser = bn.arg_parser(__doc__, 'fewer repetitions and operations',
                           'repetitions of the overhead part (median)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(json.loads(args.worker))
    reps = args.reps or (3 if args.quick else 11)
    rounds = ROUNDS[args.quick]
    bn.preflight('bench_locks.py', ('mkfs.xfs', 'losetup', 'qemu-img'))

    env = bn.Environment(prefix='bench-locks-')
    started = time.time()
    try:
        env.stub_mount_nfs()
        urls = coordination_urls(env, BACKENDS)
        ctxt = bn.init_cinder(env.root)
        env.add_undo('stop coordinator', bn.stop_cinder)
        log('making %s (%s sparse image)' % (FS, bn.FS_SIZE))
        mnt = env.make_fs(FS, dict(bn.FILESYSTEMS)[FS])
        dirs = {who: os.path.join(mnt, who) for who in ('ours', 'anchor')}
        for d in dirs.values():
            os.mkdir(d)
        ours = bn.Ours(ctxt, FS, dirs['ours'], True)
        anchor = bn.Anchor(ctxt, FS, dirs['anchor'], True, env)
        dirs['anchor'] = anchor.dir
        pat = pattern()
        log('lock overhead: %d repetitions, backends none %s' % (
            reps, ' '.join(BACKENDS)))
        rows = overhead(ctxt, (ours, anchor), urls, reps, pat)

        log('mixed workload: %d + %d rounds of 9 operations' % rounds)
        use_locks(urls['file'])
        sources = []
        for _i in range(SOURCES):
            vol = bn.new_volume(ctxt, SIZE_GB)
            ours.create(vol)
            vol.save()
            pat.write(ours.path(vol))
            sources.append(vol)
        database = os.path.join(env.root, 'cinder.sqlite')
        spec = {'root': env.root, 'ours_dir': dirs['ours'],
                'anchor_dir': os.path.join(mnt, 'anchor'),
                'sources': [v.id for v in sources]}
        for i in range(max(WORKERS)):
            copy = os.path.join(env.root, 'worker-%d.sqlite' % i)
            shutil.copyfile(database, copy)
        spec['database'] = os.path.join(env.root, 'worker-%d.sqlite')
        pool = Pool(env, spec, max(WORKERS))
        keep = {'ours': {v.name for v in sources}, 'anchor': set()}
        rows += mixed(pool, urls, rounds, SEED, dirs, keep)
        pool.close()
        for vol in sources:
            reason = pat.verify(ours.path(vol))
            if reason:
                rows[-1]['check'] = 'FAIL: source %s: %s' % (vol.name,
                                                             reason)
            ours.delete(vol)
        left = os.listdir(dirs['ours']) + os.listdir(dirs['anchor'])
        if left:
            rows[-1]['check'] = 'FAIL: left %s' % left
    finally:
        env.close()

    from importlib import metadata
    header = [
        'cinder-ext NfsDriver vs cinder %s NfsDriver (anchor) on one %s '
        'loop filesystem (%s sparse image), thin volumes'
        % (metadata.version('cinder'), FS, bn.FS_SIZE),
        'lock overhead: median of %d; each call timed after `sync`; %d GiB '
        'volume with %d x %d MiB random chunks, extended to %d GiB, '
        'snapshot, clone (of the volume), delete (of the clone)'
        % (reps, SIZE_GB, len(pat.chunks), pat.chunk // MiB, 2 * SIZE_GB),
        'overhead = time with the backend - time with no-op locks; locks = '
        'locks taken by one call; both drivers lock through cinder\'s '
        'coordinator',
        'backends: %s' % ', '.join('%s %s' % kv for kv in sorted(
            urls.items())),
        'mixed: %d (ours) / %d (anchor) rounds of 9 operations split '
        'between the workers (fixed seed %d): create, extend, clone and '
        'snapshot of a source, volume from snapshot, 3 deletes and a '
        'snapshot delete' % (rounds[0], rounds[1], SEED),
        'ours: every worker clones and snapshots the same %d sources '
        '(locks contend); anchor: each worker its own %d sources - its '
        'snapshots rewrite the source\'s qcow2 chain and .info file and '
        'rely on cinder DB records, which the workers here do not share, '
        'so shared sources are not safe for it' % (SOURCES, SOURCES),
        'scaling = ops/s / ops/s with 1 worker; 2 cores; ratio = anchor / '
        'ours; run took %.0f s' % (time.time() - started),
        '',
    ]
    print(fmt_tables(rows, header))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
            f.write('\n')
    return 1 if any(r['check'].startswith('FAIL') for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
