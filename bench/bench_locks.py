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
import json
import os
import shutil
import sys
import time

import bench_nfs as bn

from lockbench import common
from lockbench.common import BACKENDS
from lockbench.common import FS
from lockbench.common import log
from lockbench.common import ROUNDS
from lockbench.common import SEED
from lockbench.common import SIZE_GB
from lockbench.common import SOURCES
from lockbench.common import WORKERS
from lockbench import overhead
from lockbench import report
from lockbench import worker


def main():
    parser = bn.arg_parser(__doc__, 'fewer repetitions and operations',
                           'repetitions of the overhead part (median)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker.worker_main(json.loads(args.worker))
    reps = args.reps or (3 if args.quick else 11)
    rounds = ROUNDS[args.quick]
    bn.preflight('bench_locks.py', ('mkfs.xfs', 'losetup', 'qemu-img'))

    env = bn.Environment(prefix='bench-locks-')
    started = time.time()
    try:
        env.stub_mount_nfs()
        urls = common.coordination_urls(env, BACKENDS)
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
        pat = common.pattern()
        log('lock overhead: %d repetitions, backends none %s' % (
            reps, ' '.join(BACKENDS)))
        rows = overhead.overhead(ctxt, (ours, anchor), urls, reps, pat)

        log('mixed workload: %d + %d rounds of 9 operations' % rounds)
        common.use_locks(urls['file'])
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
        pool = worker.Pool(env, spec, max(WORKERS))
        keep = {'ours': {v.name for v in sources}, 'anchor': set()}
        rows += worker.mixed(pool, urls, rounds, SEED, dirs, keep)
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

    print(report.fmt_tables(rows, report.header(
        reps, rounds, pat, urls, time.time() - started)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
            f.write('\n')
    return 1 if any(r['check'].startswith('FAIL') for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
