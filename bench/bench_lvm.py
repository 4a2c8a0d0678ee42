#!/usr/bin/env python3
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

"""Benchmark cinder-ext's LvmDriver against Cinder's in-tree LVMVolumeDriver.

Both drivers run in this process on the same volume group of the test
guest (tests/guest: a qemu TCG guest with the real kernel, device-mapper
and LVM this host lacks); only their commands run in the guest.  One VG,
``cxtbench``, with the thin pool ``cxtbench-pool`` (the in-tree driver's
fixed pool name), on a fresh 12 GiB sparse virtio disk.  Each driver runs
twice, thin and thick, in its own configuration group.

Usage (root: the guest runs qemu)::

    python bench/bench_lvm.py [--json PATH] [--quick] [--reps N]
        [--lvs N] [--guest NAME] [--keep-guest]

Operations (median of --reps, default 3; --quick: 1 rep and 40 LVs):
thick delete of a 1 GiB LV, thick clone and thin clone of a 1 GiB LV
holding 100 MiB, thin revert, get_manageable_volumes and
get_volume_stats(refresh=True) with --lvs (200) thin LVs in the VG.
"""

import contextlib
import json
import os
import statistics
import sys
import time

import bench_nfs as bn
from lvm import drivers
from lvm import guest as lguest

TARGETS = {'thick_delete': 10.0, 'thick_clone': 10.0, 'thin_revert': 20.0,
           'manageable_listing': 5.0}
LV_GB = 1
log = lguest.log


class Bench:
    def __init__(self, ctxt, vg, reps, recorders):
        self.ctxt, self.vg, self.reps = ctxt, vg, reps
        self.rec = recorders   # who -> Recorder
        self.rows = []

    def timed(self, subject, func, *args):
        rec = self.rec[subject.who]
        rec.reset()
        start = time.perf_counter()
        result = func(*args)
        return time.perf_counter() - start, rec.count, result

    def record(self, operation, times, cmds, checks, extra=None):
        o = statistics.median(times['ours'])
        a = statistics.median(times['anchor'])
        bad = sorted({c for c in checks if c})
        row = {'operation': operation, 'ours_s': o, 'anchor_s': a,
               'ratio': a / o if o > 0 else float('inf'),
               'reps': len(times['ours']), 'ours_all_s': times['ours'],
               'anchor_all_s': times['anchor'],
               'ours_commands': cmds['ours'],
               'anchor_commands': cmds['anchor'],
               'check': 'ok' if not bad else 'FAIL: ' + '; '.join(bad)}
        if operation in TARGETS:
            row['target'] = TARGETS[operation]
            row['target_met'] = row['ratio'] >= row['target']
        row.update(extra or {})
        self.rows.append(row)
        log('  %-20s ours %8.3fs (%d cmds)  anchor %8.3fs (%d cmds)  '
            'x%.1f  %s' % (operation, o, cmds['ours'], a, cmds['anchor'],
                           row['ratio'], row['check']))

    def _loop(self, subjects, one):
        """Run ``one(subject)`` -> (seconds, commands, check) reps times
        for each subject, alternating."""
        times = {s.who: [] for s in subjects}
        cmds, checks = {}, []
        for _rep in range(self.reps):
            for s in subjects:
                t, n, check = one(s)
                times[s.who].append(t)
                cmds[s.who] = n
                checks.append(check and '%s: %s' % (s.label, check))
        return times, cmds, checks

    def vol(self):
        return bn.new_volume(self.ctxt, size=LV_GB)

    # -- operations -----------------------------------------------------

    def thick_delete(self, subjects):
        def one(s):
            vol = self.vol()
            s.create(vol)
            self.vg.fill(s.lv(vol))
            t, n, _ = self.timed(s, s.delete, vol)
            left = s.lv(vol) in self.vg.lv_names()
            return t, n, left and 'LV still there'
        self.record('thick_delete', *self._loop(subjects, one))

    def _source(self, s):
        src = self.vol()
        s.create(src)
        self.vg.fill(s.lv(src))
        return src

    def clone(self, operation, subjects):
        sources = {s.who: self._source(s) for s in subjects}

        def one(s):
            vol = self.vol()
            t, n, _ = self.timed(s, s.clone, vol, sources[s.who])
            check = self.vg.same(s.lv(sources[s.who]), s.lv(vol))
            self.vg.guest.run(['lvremove', '-f', '-y', '%s/%s' % (
                lguest.VG, s.lv(vol))], timeout=600)
            return t, n, check
        self.record(operation, *self._loop(subjects, one))
        for s in subjects:
            self.vg.guest.run(['lvremove', '-f', '-y', '%s/%s' % (
                lguest.VG, s.lv(sources[s.who]))], timeout=600)

    def thin_revert(self, subjects):
        def one(s):
            vol = self._source(s)
            snap = bn.new_snapshot(self.ctxt, vol)
            s.snapshot(snap)
            self.vg.scribble(s.lv(vol))
            t, n, _ = self.timed(s, s.revert, vol, snap)
            check = self.vg.same(s.lv(snap), s.lv(vol))
            # the snapshot first: the in-tree VG refuses to drop an origin
            self.vg.guest.run(['lvremove', '-f', '-y'] + [
                '%s/%s' % (lguest.VG, s.lv(o)) for o in (snap, vol)],
                timeout=600)
            return t, n, check
        self.record('thin_revert', *self._loop(subjects, one))

    def listing_and_stats(self, subjects, count):
        log('making %d thin LVs (one lvm shell in the guest)' % count)
        started = time.monotonic()
        names = set(self.vg.make_volumes(count))
        log('  made in %.0f s' % (time.monotonic() - started))
        in_vg = len(self.vg.lv_names()) - 1   # all but the pool

        def listing(s):
            t, n, found = self.timed(s, s.listing)
            refs = {e['reference']['source-name'] for e in found}
            safe = sum(1 for e in found if e['safe_to_manage'] and
                       e['reference']['source-name'] in names)
            if not names <= refs or safe != len(names):
                return t, n, 'listed %d of %d, %d safe' % (
                    len(names & refs), len(names), safe)
            return t, n, None
        self.record('manageable_listing', *self._loop(subjects, listing),
                    extra={'lvs': in_vg})

        got = {}

        def stats(s):
            t, n, result = self.timed(s, s.stats)
            pool = (result.get('pools') or [result])[0]
            merged = dict(result, **pool)
            got[s.who] = merged
            if merged.get('total_volumes') not in (in_vg, in_vg + 1):
                return t, n, 'total_volumes %s, %d LVs' % (
                    merged.get('total_volumes'), in_vg)
            return t, n, None
        times, cmds, checks = self._loop(subjects, stats)
        o, a = got['ours'], got['anchor']
        if abs(o['total_capacity_gb'] - float(a['total_capacity_gb'])) > .1:
            checks.append('total %s GiB vs anchor %s' % (
                o['total_capacity_gb'], a['total_capacity_gb']))
        self.record('stats', times, cmds, checks, extra={
            'lvs': in_vg, 'ours_total_gb': o['total_capacity_gb'],
            'anchor_total_gb': float(a['total_capacity_gb']),
            'ours_provisioned_gb': o.get('provisioned_capacity_gb'),
            'anchor_provisioned_gb': a.get('provisioned_capacity_gb')})


def fmt_table(rows, header):
    cols = ['operation', 'ours_s', 'anchor_s', 'ratio', 'cmds o/a',
            'target', 'check']
    lines = []
    for r in rows:
        target = ''
        if 'target' in r:
            target = '>=%gx %s' % (r['target'],
                                   'met' if r['target_met'] else 'MISSED')
        lines.append([r['operation'], '%.3f' % r['ours_s'],
                      '%.3f' % r['anchor_s'], '%.1f' % r['ratio'],
                      '%d/%d' % (r['ours_commands'], r['anchor_commands']),
                      target, r['check']])
    return bn.table(header, cols, lines)


def main():
    parser = bn.arg_parser(__doc__, 'one repetition and 40 LVs',
                           'repetitions (median is reported; default 3)')
    parser.add_argument('--lvs', type=int,
                        help='LVs for listing and stats (default 200)')
    parser.add_argument('--guest', default='bench-lvm',
                        help='test guest instance name (default bench-lvm)')
    parser.add_argument('--keep-guest', action='store_true',
                        help='leave the guest running at the end')
    parser.add_argument('--seed', type=int,
                        help='data and LV-name seed (default: new)')
    args = parser.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    count = args.lvs or (40 if args.quick else 200)
    seed = args.seed if args.seed is not None else int.from_bytes(
        os.urandom(4), 'big')
    bn.preflight('bench_lvm.py', ('qemu-system-x86_64',))
    log('seed %d (replay with --seed %d)' % (seed, seed))

    env = bn.Environment(prefix='bench-lvm-')
    started = time.time()
    vg = lguest.Vg(args.guest, '12G', seed)
    try:
        vg.start()
        if not args.keep_guest:
            env.add_undo('stop guest', vg.stop)
        limits = vg.queue_limits()
        log('guest disk: %s' % limits)
        vg.make()
        ctxt = bn.init_cinder(env.root)
        env.add_undo('stop coordinator', bn.stop_cinder)
        recs = {who: lguest.Recorder(vg.guest, who)
                for who in ('ours', 'anchor')}
        drivers.install(vg, recs['ours'], recs['anchor'])
        subj = {(who, kind): cls(ctxt, kind, recs[who])
                for who, cls in (('ours', drivers.Ours),
                                 ('anchor', drivers.Anchor))
                for kind in ('thin', 'thick')}
        bench = Bench(ctxt, vg, reps, recs)

        def pair(kind):
            return [subj['ours', kind], subj['anchor', kind]]
        log('thick delete'); bench.thick_delete(pair('thick'))  # noqa: E702
        log('thick clone'); bench.clone('thick_clone', pair('thick'))  # noqa
        log('thin clone'); bench.clone('thin_clone', pair('thin'))  # noqa
        log('thin revert'); bench.thin_revert(pair('thin'))  # noqa: E702
        vg.remove_all_but_pool()
        bench.listing_and_stats(pair('thin'), count)
        anchor_seen = dict(recs['anchor'].seen)
        sample = [' '.join(a) for a in list(recs['anchor'].recent)[-3:]]
        with contextlib.suppress(Exception):
            vg.remove_all_but_pool()
    finally:
        env.close()

    from importlib import metadata
    header = [
        'cinder-ext LvmDriver vs cinder %s LVMVolumeDriver (anchor); '
        'median of %d; seed %d' % (metadata.version('cinder'), reps, seed),
        'one VG %s (thin pool %s) on the test guest\'s virtio disk %s '
        '(discard_max_bytes %d, write_zeroes_max_bytes %d); qemu TCG'
        % (lguest.VG, lguest.POOL, limits['disk'],
           limits['discard_max_bytes'], limits['write_zeroes_max_bytes']),
        'LVs %d GiB; sources hold 100 MiB (10 x 10 MiB, every 100 MiB); '
        'listing/stats with %d thin LVs' % (LV_GB, count),
        'ours: cinder_ext_volume_clear=auto; anchor: volume_clear=zero '
        '(default), lvm_type default|thin; both drivers on this host, '
        'every command in the guest',
        'anchor commands by program: %s' % ', '.join(
            '%s %d' % kv for kv in sorted(anchor_seen.items())),
        'ratio = anchor_s / ours_s; cmds = commands per call; run took '
        '%.0f s' % (time.time() - started),
        '',
    ]
    print(fmt_table(bench.rows, header))
    log('last anchor commands: %s' % sample)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(bench.rows, f, indent=1)
            f.write('\n')
    missed = [r for r in bench.rows if r.get('target_met') is False]
    if missed:
        print('\ntargets missed: ' + ', '.join(
            '%s x%.1f < %g' % (r['operation'], r['ratio'], r['target'])
            for r in missed))
    return 1 if any(r['check'] != 'ok' for r in bench.rows) else 0


if __name__ == '__main__':
    sys.exit(main())
