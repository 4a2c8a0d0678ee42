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

"""Part 1: lock overhead per operation, ours and the anchor.

Each of create, extend, snapshot, clone and delete is timed one by one
(median of the repetitions) under each tooz backend and under no-op
locks; the overhead of a backend is the time with it minus the time with
no-op locks.  Results are verified between the timed calls.
"""

import os
import statistics

import bench_nfs as bn

from lockbench import common
from lockbench.common import BACKENDS
from lockbench.common import EMPTY
from lockbench.common import GiB
from lockbench.common import LOCKS
from lockbench.common import log
from lockbench.common import OPS
from lockbench.common import SIZE_GB

use_locks = common.use_locks


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
