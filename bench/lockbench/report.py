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

"""Part 3: the tables and the header of the lock benchmark's output."""

from importlib import metadata

import bench_nfs as bn

from lockbench.common import FS
from lockbench.common import MiB
from lockbench.common import SEED
from lockbench.common import SIZE_GB
from lockbench.common import SOURCES


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


def header(reps, rounds, pat, urls, seconds):
    """The lines above the tables: what was measured, how."""
    return [
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
        'ours; run took %.0f s' % seconds,
        '',
    ]
