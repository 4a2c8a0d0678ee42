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

"""Benchmark our backup repository on Swift against Cinder 29's own Swift
backup driver (cinder.backup.drivers.swift, the anchor), in one run, on
the same data and the same Swift.

Usage (root: tools/swift/up starts the test Swift unless
``$CINDER_EXT_TEST_SWIFT_URL`` names one; ST_USER/ST_KEY default to
test:tester/testing)::

    python bench/backup_swift.py [--json PATH] [--quick]

A sparse 2 GiB volume file holding 200 MiB of scattered random data
(``--quick``: 256 MiB holding 32 MiB): a full backup, an incremental after
8 MiB changed, a restore of the incremental, by each side, each in its
own process after ``sync`` and dropping the page cache (bench_backup.py's
measuring: wall, CPU, bytes written, peak RSS).  Ours: zstd, 4 MiB
chunks, ``swift://<container>``, the lock through tooz's file driver; no
reflink base (both sides read the whole volume for the incremental).  The
anchor: zstd, its defaults (50 MiB objects, 32 KiB sha256 blocks).
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
import bench_backup  # noqa: E402
from tests.unit.backup import helpers  # noqa: E402

GiB, MiB = bench_backup.GiB, bench_backup.MiB
DATASET = ('2G', 2 * GiB, 200 * MiB)
QUICK = ('256M', 256 * MiB, 32 * MiB)


def _swift_env():
    auth = os.environ.get('CINDER_EXT_TEST_SWIFT_URL')
    if not auth:
        auth = subprocess.run([os.path.join(ROOT, 'tools', 'swift', 'up')],
                              check=True, capture_output=True,
                              text=True).stdout.split()[-1]
    return {'ST_AUTH': auth,
            'ST_USER': os.environ.get('ST_USER', 'test:tester'),
            'ST_KEY': os.environ.get('ST_KEY', 'testing')}


# -- workers (a child process each) -------------------------------------
def ours_worker(op, spec):
    os.environ.update(spec['env'])
    from cinder_ext.backup import engine
    eng = engine.BackupEngine.open(spec['repo'], lock_url=spec['lock_url'])
    if op == 'restore':
        return bench_backup._measure(
            lambda: eng.restore(spec['backup_id'], spec['target']) and None)
    return bench_backup._measure(lambda: {'bytes_read': eng.backup(
        spec['source'], spec['volume_id'], spec['backup_id'],
        parent_id=spec.get('parent_id'))['stats']['bytes_read']})


def anchor_worker(op, spec):
    from tests import cinder_swift
    env = spec['env']
    ctxt, _conf = cinder_swift.setup(
        spec['db'], env['ST_AUTH'], env['ST_USER'], env['ST_KEY'],
        spec['container'], backup_compression_algorithm='zstd')
    return bench_backup.anchor_run(op, cinder_swift.driver(ctxt), ctxt, spec,
                                   container=spec['container'])


def run_worker(side, op, spec):
    return bench_backup.run_worker(side, op, spec, script=__file__)


def _remove_container(env, name):
    from swiftclient import client as swift_client
    conn = swift_client.Connection(authurl=env['ST_AUTH'],
                                   user=env['ST_USER'], key=env['ST_KEY'])
    for container in (name, name + '_segments'):
        try:
            _h, listing = conn.get_container(container, full_listing=True)
        except swift_client.ClientException:
            continue
        for item in listing:
            conn.delete_object(container, item['name'])
        conn.delete_container(container)


def bench(work, label, size, data, rng, env):
    volume = os.path.join(work, 'volume-' + label)
    bench_backup.make_volume(volume, size, data, rng)
    tag = uuid.uuid4().hex[:8]
    common = {'source': volume, 'volume_id': 'vol-' + label, 'env': env}
    ours = dict(common, repo='swift://bench-ours-%s' % tag,
                lock_url='file://' + os.path.join(work, 'locks'))
    anchor = dict(common, container='bench-anchor-%s' % tag,
                  db=os.path.join(work, 'anchor.sqlite'),
                  volume_uuid=bench_backup._uuid(rng),
                  type_id=bench_backup._uuid(rng),
                  size_gb=max(1, size // GiB), bytes=size)
    os.environ.update(env)
    from cinder_ext.backup import repository
    repository.Repository.init(ours['repo'], lock_url=ours['lock_url'])
    full, inc = bench_backup._uuid(rng), bench_backup._uuid(rng)
    rows = []
    try:
        o = run_worker('ours', 'backup', dict(ours, backup_id=full))
        a = run_worker('anchor', 'backup', dict(anchor, backup_uuid=full))
        rows.append(bench_backup.make_row('full', 'swift_full', label, o, a,
                                          False))
        bench_backup.change_volume(volume, size, rng)
        expected = helpers.sha256_file(volume)
        o = run_worker('ours', 'backup', dict(ours, backup_id=inc,
                                              parent_id=full))
        a = run_worker('anchor', 'backup', dict(anchor, backup_uuid=inc,
                                                parent_uuid=full))
        rows.append(bench_backup.make_row('incremental', 'swift_incremental',
                                          label, o, a, False))
        targets = {side: os.path.join(work, 'restored-' + side)
                   for side in ('ours', 'anchor')}
        o = run_worker('ours', 'restore', dict(ours, backup_id=inc,
                                               target=targets['ours']))
        a = run_worker('anchor', 'restore', dict(
            anchor, backup_uuid=inc, target=targets['anchor']))
        rows.append(bench_backup.make_row('restore', 'swift_restore', label,
                                          o, a, False))
        for side, path in targets.items():
            if helpers.sha256_file(path) != expected:
                raise SystemExit('%s restore differs from the source' % side)
    finally:
        _remove_container(env, ours['repo'][len('swift://'):])
        _remove_container(env, anchor['container'])
    return rows


def run(quick=False):
    seed = random.randrange(1 << 32)
    print('swift bench seed=%d' % seed, file=sys.stderr)
    rng = random.Random(seed)
    env = _swift_env()
    label, size, data = QUICK if quick else DATASET
    with tempfile.TemporaryDirectory(prefix='bench-swift-',
                                     dir='/var/tmp') as work:
        return bench(work, label, size, data, rng, env)


def main():
    if bench_backup.serve_worker(ours_worker, anchor_worker):
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='write the rows to this file')
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args()
    bench_backup.report(run(args.quick), args.json)


if __name__ == '__main__':
    main()
