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

"""One cinder-volume-like process racing others on one share.

    python -m tests.functional.race.worker run --share DIR --journal FILE
        --url URL --worker N --seed S --ops K [--nolock] [--copy-delay SEC]
        [--hang-at I --marker FILE [--hang-op OP --hang-in CALL
        --hang-when enter|leave]] [--script OP,...]
        [--copy-method auto|copy]
    python -m tests.functional.race.worker check --share DIR --journal FILE
        --url URL

``run`` builds its own driver and coordinator, as a cinder-volume service
would, and performs K randomized operations on real in-memory Cinder
objects, picking sources among what the journal says exists.  ``check``
builds a fresh driver (its start-up sweep removes orphaned temporary
files), reads its stats and prints the invariant checker's result as JSON.

Hooks, in this worker only: ``--copy-delay`` sleeps inside every copy
(inside the driver's locks) to widen race windows; ``--hang-at I`` makes
the first clone (``--hang-op``) from operation I write ``--marker`` and
hang inside the copy (``--hang-in``, on entering or leaving that storage
call: ``--hang-when``), holding its locks, so that a test can SIGKILL it
there.  ``--script`` names the first operations instead of drawing them.
``--nolock`` replaces the coordinator's locks with no-op locks.
"""

import argparse
import json
import logging
import os
import random
import sys
import time
import uuid

from cinder import coordination
from cinder import exception as cinder_exception
from tooz import coordination as tooz_coordination

from cinder_ext import locks
from cinder_ext.storage import fileio
from tests.functional.race import checker
from tests.functional.race import model
from tests.functional.race import probe
from tests.functional.race import service

GiB = model.GiB
MAX_SIZE = 4
INNER = probe.INNER
setup = service.setup
make_volume = service.make_volume
make_snapshot = service.make_snapshot


class Worker:
    WEIGHTS = [('create', 8), ('clone', 10), ('snapshot', 12),
               ('from_snapshot', 8), ('extend', 20), ('revert', 20),
               ('delete', 7), ('delete_snapshot', 7), ('unmanage', 5)]

    def __init__(self, args, drv=None, ctxt=None):
        self.args = args
        self.share = args.share
        # Every random draw comes from the seed, ids included: a replay
        # runs the same program; only the interleaving is the kernel's.
        self.rng = random.Random('%s/%s' % (args.seed, args.worker))
        if drv is None:
            drv, ctxt = setup(args.url, args.share, args.copy_method,
                              args.nolock, args.journal, args.worker)
        self.drv, self.ctxt = drv, ctxt
        self.n = 0
        self.seq = 0  # every attempt, cleanups included

    def new_id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- picking --------------------------------------------------------

    def pick(self, items, hot=True):
        """A random item; mostly among the oldest few (the hot set)."""
        items = list(items)
        if not items:
            return None
        if hot and self.rng.random() < self.args.hot_bias:
            items = items[:self.args.hot]
        return self.rng.choice(items)

    def choose(self):
        vols, snaps = model.live(model.read(self.args.journal))
        ops, weights = zip(*self.WEIGHTS)
        op = self.rng.choices(ops, weights)[0]
        script = (self.args.script or '').split(',')
        if self.n < len(script) and script[self.n]:
            return script[self.n], vols, snaps
        if not vols or (op != 'create' and len(vols) < 2
                        and self.rng.random() < 0.5):
            op = 'create'
        if len(vols) > self.args.max_volumes and op in (
                'create', 'clone', 'from_snapshot'):
            op = 'delete'
        if len(snaps) > self.args.max_volumes and op == 'snapshot':
            op = 'delete_snapshot'
        return op, vols, snaps

    # -- one operation --------------------------------------------------

    def journal(self, op, ok, t0, err=None, clean=True, **fields):
        record = {'w': self.args.worker, 'n': self.n, 'seq': self.seq,
                  'op': op, 'ok': ok, 't0': t0, 't1': time.time(),
                  'err': err, 'clean': clean, 'inner': list(INNER)}
        record.update(fields)
        model.append(self.args.journal, record)
        probe.note('end', seq=self.seq)
        del INNER[:]
        return record

    def attempt(self, op, func, **fields):
        """Run ``func`` as operation ``op``; journal it; (ok, result)."""
        del INNER[:]
        self.seq += 1
        probe.HANG['armed'] = (self.args.hang_at is not None
                               and self.n >= self.args.hang_at
                               and op == self.args.hang_op)
        t0 = time.time()
        probe.note('begin', seq=self.seq, n=self.n, op=op, t=t0,
                   fields=fields)
        try:
            result = func()
            probe.note('returned')
        except (cinder_exception.CinderException,
                tooz_coordination.ToozError) as exc:
            self.journal(op, False, t0, err='%s: %s' % (
                type(exc).__name__, exc), **fields)
            return False, None
        except Exception as exc:
            self.journal(op, False, t0, err='%s: %s' % (
                type(exc).__name__, exc), clean=False, **fields)
            return False, None
        self.journal(op, True, t0, **fields)
        return True, result

    def cleanup(self, op, func, **fields):
        """Cinder deletes an object whose creation failed (status error);
        retried while the coordination backend is away."""
        for _i in range(30):
            ok, _r = self.attempt(op, func, **fields)
            if ok:
                return
            time.sleep(1)

    def vol(self, vid, size, location=True):
        return make_volume(self.ctxt, vid, size,
                           self.share if location else None)

    def run_one(self):
        op, vols, snaps = self.choose()
        self.n += 1
        getattr(self, 'op_' + op)(vols, snaps)

    def _new(self, op, make, size, **fields):
        vid = self.new_id()
        new = self.vol(vid, size)
        ok, _r = self.attempt(op, lambda: make(new), target=vid, size=size,
                              **fields)
        if not ok:
            self.cleanup('cleanup_delete',
                         lambda: self.drv.delete_volume(new), target=vid)
        return ok, new

    def op_create(self, vols, snaps):
        vid = self.new_id()
        pattern = 'w%s-n%d-%s' % (self.args.worker, self.n, vid[:8])

        def make(new):
            new.update(self.drv.create_volume(new))
            probe.note('returned')  # Cinder saves the volume here
            path = os.path.join(self.share, new.name)
            with probe.call('write', name=new.name, pattern=pattern):
                model.write_pattern(path, pattern)
        self._new('create', make, 1, pattern=pattern)

    def op_clone(self, vols, snaps):
        src = self.pick(vols)
        size = min(vols[src] + self.rng.choice([0, 0, 1]), MAX_SIZE)
        src_vol = self.vol(src, vols[src])
        self._new('clone', lambda new: self.drv.create_cloned_volume(
            new, src_vol), size, src=src)

    def op_from_snapshot(self, vols, snaps):
        sid = self.pick(snaps)
        if sid is None:
            return self.op_snapshot(vols, snaps)
        vid, vsize = snaps[sid]
        snap = make_snapshot(self.ctxt, sid, self.vol(vid, vsize))
        size = min(vsize + self.rng.choice([0, 0, 1]), MAX_SIZE)
        self._new('from_snapshot', lambda new:
                  self.drv.create_volume_from_snapshot(new, snap), size,
                  src=sid)

    def op_snapshot(self, vols, snaps):
        vid = self.pick(vols)
        snap = make_snapshot(self.ctxt, self.new_id(),
                             self.vol(vid, vols[vid]))
        ok, _r = self.attempt('snapshot', lambda: self.drv.create_snapshot(
            snap), target=snap.id, src=vid, size=vols[vid])
        if not ok:
            self.cleanup('cleanup_delete_snapshot',
                         lambda: self.drv.delete_snapshot(snap),
                         target=snap.id)

    def op_extend(self, vols, snaps):
        vid = self.pick(vols)
        if vols[vid] >= MAX_SIZE:
            return self.op_revert(vols, snaps)
        size = vols[vid] + 1
        self.attempt('extend', lambda: self.drv.extend_volume(
            self.vol(vid, vols[vid]), size), target=vid, size=size)

    def op_revert(self, vols, snaps):
        mine = {}
        for sid, (vid, vsize) in snaps.items():
            if vid in vols and vsize <= vols[vid]:
                mine.setdefault(vid, []).append(sid)
        vid = self.pick([v for v in vols if v in mine])
        if vid is None:
            return self.op_snapshot(vols, snaps)
        sid = self.rng.choice(mine[vid])
        volume = self.vol(vid, vols[vid])
        snap = make_snapshot(self.ctxt, sid, self.vol(vid, snaps[sid][1]))
        self.attempt('revert', lambda: self.drv.revert_to_snapshot(
            self.ctxt, volume, snap), target=vid, src=sid, size=vols[vid])

    def op_delete(self, vols, snaps):
        parents = {vid for vid, _s in snaps.values()}
        vid = self.pick([v for v in vols if v not in parents], hot=False)
        if vid is None:
            return self.op_delete_snapshot(vols, snaps)
        self.attempt('delete', lambda: self.drv.delete_volume(
            self.vol(vid, vols[vid])), target=vid)

    def op_delete_snapshot(self, vols, snaps):
        sid = self.pick(snaps, hot=False)
        if sid is None:
            return
        vid, vsize = snaps[sid]
        snap = make_snapshot(self.ctxt, sid, self.vol(vid, vsize))
        self.attempt('delete_snapshot', lambda: self.drv.delete_snapshot(
            snap), target=sid, src=vid)

    def op_unmanage(self, vols, snaps):
        """Unmanage a volume, then manage its file as a new volume.

        Two workers may unmanage one volume at once (both succeed: the
        second finds nothing to rename) and then both manage the one
        unmanaged file: one wins, the other must be refused cleanly
        (ManageExistingInvalidReference); the checker tells the two apart.
        """
        vid = self.pick(vols)
        old = self.vol(vid, vols[vid])
        ok, _r = self.attempt('unmanage', lambda: self.drv.unmanage(old),
                              target=vid)
        if not ok:
            return
        ref = {'source-name': 'unmanaged-' + old.name}
        # As Cinder makes it: no share until the driver names one.
        new = self.vol(self.new_id(), vols[vid], location=False)

        def manage():
            new.size = self.drv.manage_existing_get_size(new, ref)
            return self.drv.manage_existing(new, ref)
        self.n += 1
        self.attempt('manage', manage, target=new.id, src=vid,
                     size=vols[vid], source=ref['source-name'])

    # -- after a SIGKILL: what Cinder does with the dead service's work ---

    def recover(self, record):
        """Cinder's cleanup of the operation a killed worker was in.

        Unless the driver call had returned, Cinder never saved what it
        returned: a volume the operation made has no share
        (provider_location); Cinder's worker cleanup sets it to error and
        the user deletes it.  An interrupted delete or unmanage is asked
        again.  Extend and revert leave the volume as it is (error).
        """
        op, target = record['op'], record.get('target')
        if op in ('create', 'clone', 'from_snapshot', 'manage',
                  'cleanup_delete'):
            vol = self.vol(target, record.get('size', 1),
                           location=record.get('returned') or
                           op == 'cleanup_delete')
            self.cleanup('cleanup_delete', lambda: self.drv.delete_volume(
                vol), target=target)
        elif op in ('snapshot', 'cleanup_delete_snapshot', 'delete_snapshot'):
            src = record.get('src') or self._snapshot_parent(target)
            snap = make_snapshot(self.ctxt, target, self.vol(src, 1))
            if op == 'snapshot':
                snap.provider_location = None
            self.cleanup('cleanup_delete_snapshot',
                         lambda: self.drv.delete_snapshot(snap),
                         target=target)
        elif op == 'delete':
            vol = self.vol(target, 1)
            self.cleanup('delete', lambda: self.drv.delete_volume(vol),
                         target=target)
        elif op == 'unmanage':
            vol = self.vol(target, 1)
            self.cleanup('unmanage', lambda: self.drv.unmanage(vol),
                         target=target)

    def _snapshot_parent(self, sid):
        for r in model.read(self.args.journal):
            if r['op'] == 'snapshot' and r.get('target') == sid:
                return r['src']
        return None


def run(args):
    probe.instrument(args.copy_delay, args.marker)
    probe.HANG.update(call=args.hang_in, when=args.hang_when)
    if args.trail:
        probe.open_trail(args.trail)
    worker = Worker(args)
    if args.barrier:
        open('%s.ready.%s' % (args.barrier, args.worker), 'w').close()
        while not os.path.exists(args.barrier):
            time.sleep(0.01)
    started = time.time()
    for _i in range(args.ops):
        worker.run_one()
    coordination.COORDINATOR.stop()
    print(json.dumps({'worker': args.worker, 'ops': worker.n,
                      'seconds': round(time.time() - started, 2)}))


def recover(args):
    """Journal what a SIGKILLed worker was doing, then clean up after it
    as Cinder would; this process journals as worker ``--worker``."""
    records = model.read(args.journal)
    journaled = {(r['w'], r.get('seq')) for r in records}
    record = probe.salvage(args.trail, journaled, args.killed,
                           args.killed_at)
    if record is None:
        print(json.dumps({'recovered': None}))
        return
    model.append(args.journal, record)
    probe.instrument(0, None)
    worker = Worker(args)
    worker.recover(record)
    coordination.COORDINATOR.stop()
    print(json.dumps({'recovered': record['op'], 'seq': record['seq'],
                      'inflight': [e['f'] for e in record['inner']
                                   if e['ok'] is None]}))


def check(args):
    records = model.read(args.journal)
    temp_before = sorted(n for n in os.listdir(args.share)
                         if fileio.temp_key(n) is not None)
    drv, _ctxt = setup(args.url, args.share)  # sweeps orphans
    stats = drv.get_volume_stats(refresh=True)
    locked = hasattr(locks, 'for_manage_source')
    result = checker.check(args.share, records, stats,
                           manage_source_locked=locked)
    result['temp_before_sweep'] = temp_before
    coordination.COORDINATOR.stop()
    print(json.dumps(result, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='race-worker')
    parser.add_argument('action', choices=['run', 'check', 'recover'])
    parser.add_argument('--share', required=True)
    parser.add_argument('--journal', required=True)
    parser.add_argument('--url', required=True)
    parser.add_argument('--worker', type=int, default=0)
    parser.add_argument('--seed', default='0')
    parser.add_argument('--ops', type=int, default=50)
    parser.add_argument('--nolock', action='store_true')
    parser.add_argument('--copy-delay', type=float, default=0.0)
    parser.add_argument('--copy-method', default='auto')
    parser.add_argument('--hot', type=int, default=2)
    parser.add_argument('--hot-bias', type=float, default=0.7)
    parser.add_argument('--max-volumes', type=int, default=10)
    parser.add_argument('--hang-at', type=int)
    parser.add_argument('--hang-op', default='clone')
    parser.add_argument('--hang-in', default='_copy')
    parser.add_argument('--hang-when', default='enter',
                        choices=['enter', 'leave'])
    parser.add_argument('--script', help='first operations, e.g. '
                        'create,unmanage')
    parser.add_argument('--marker')
    parser.add_argument('--barrier')
    parser.add_argument('--trail', help='per-worker trail (see probe)')
    parser.add_argument('--killed', type=int,
                        help='recover: the killed worker')
    parser.add_argument('--killed-at', type=float,
                        help='recover: when it was reaped')
    parser.add_argument('--log')
    args = parser.parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.WARNING,
                        format='%(asctime)s %(process)d %(levelname)s '
                               '%(name)s %(message)s')
    {'run': run, 'check': check, 'recover': recover}[args.action](args)


if __name__ == '__main__':
    sys.exit(main())
