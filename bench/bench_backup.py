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

"""Benchmark cinder-ext's backup engine against Cinder 29's
PosixBackupDriver (the anchor), in one run.

Usage (root needed: a loop-mounted XFS with reflink, drop_caches)::

    python bench/bench_backup.py [--json PATH] [--quick] [--keep]
                                 [--thin [only]]  # backup_thin.py
                                 [--cinder-format] [--swift]

Two sparse volume files (2 GiB holding 200 MiB of scattered random data and
16 GiB holding 1 GiB; ``--quick``: 256 MiB holding 32 MiB) live on a fresh
XFS with reflink.  For each: a full backup, an incremental after 8 MiB
changed (8 x 1 MiB at random offsets), and a restore of that incremental,
by each side.  Ours uses zstd, 4 MiB chunks and the reflink snapshot base;
the anchor uses zstd (backup_compression_algorithm) and its defaults,
driven directly: a real oslo.config, a sqlite database with real Volume and
Backup objects, ``backup(backup, volume_file)`` and
``restore(backup, volume_id, volume_file, volume_is_new)``.

Every operation runs in its own process, after ``sync`` and dropping the
page cache.  The worker times the call (wall, CPU of all its threads) and
counts the bytes its write() calls passed (/proc/self/io wchar); peak RSS
is the process's ru_maxrss from wait4() (imports included).
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from tests.unit.backup import helpers  # noqa: E402
GiB, MiB = 1024 ** 3, 1024 ** 2
SEED = 20261202
BASE = '.cinder_ext-backup-base-%s'
TARGETS = {'full': 8.0, 'incremental': 20.0, 'restore': 3.0}
RSS_LIMIT = 256 * MiB
DATASETS = [('2G', 2 * GiB, 200 * MiB), ('16G', 16 * GiB, GiB)]
QUICK = [('256M', 256 * MiB, 32 * MiB)]


# -- workers (run in a child process each) -----------------------------
def _wchar():
    with open('/proc/self/io') as f:
        return int(dict(line.split(': ') for line in f)['wchar'])


def _measure(fn):
    usage, wchar, start = resource.getrusage(resource.RUSAGE_SELF), \
        _wchar(), time.monotonic()
    extra = fn() or {}
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime -
                                               usage.ru_stime)
    return dict(extra, wall_s=wall, cpu_s=cpu, bytes_written=_wchar() - wchar)


def ours_worker(op, spec):
    from cinder_ext.backup import engine
    from cinder_ext.backup import repository
    if not os.path.exists(os.path.join(spec['repo'], 'config')):
        repository.Repository.init(spec['repo'])
    eng = engine.BackupEngine.open(spec['repo'])
    base = BASE % spec['volume_id']
    if op == 'restore':
        return _measure(lambda: eng.restore(spec['backup_id'],
                                            spec['target']) and None)
    return _measure(lambda: {'bytes_read': eng.backup(
        spec['source'], spec['volume_id'], spec['backup_id'],
        parent_id=spec.get('parent_id'), base_name=base)['stats'][
            'bytes_read']})


def anchor_worker(op, spec):
    from cinder.backup.drivers import posix

    from tests import cinder_posix
    ctxt, _conf = cinder_posix.setup(spec['db'], spec['repo'],
                                     backup_compression_algorithm='zstd')
    return anchor_run(op, posix.PosixBackupDriver(ctxt), ctxt, spec)


def anchor_run(op, driver, ctxt, spec, container=None):
    """``op`` (backup or restore) by a Cinder backup driver, measured:
    the volume's row made on first use (one sqlite database across the
    worker processes), the backup's row as Cinder's API and manager leave
    it; ``container`` on the backup's row when given."""
    from cinder import exception
    from cinder import objects

    from tests import cinder_posix
    volume_id, size_gb = spec['volume_uuid'], spec['size_gb']
    try:
        objects.Volume.get_by_id(ctxt, volume_id)
    except exception.VolumeNotFound:
        cinder_posix.create_volume(ctxt, volume_id, size_gb, spec['type_id'])
    if op == 'restore':
        backup = objects.Backup.get_by_id(ctxt, spec['backup_uuid'])
        backup.status = 'restoring'  # as cinder-backup's manager sets it
        backup.save()
        with open(spec['target'], 'wb') as f:
            f.truncate(spec['bytes'])

        def run():
            with open(spec['target'], 'r+b') as f:
                driver.restore(backup, volume_id, f, True)
        return _measure(run)
    backup = cinder_posix.create_backup(ctxt, spec['backup_uuid'], volume_id,
                                        size_gb, spec.get('parent_uuid'))
    if container:
        backup.container = container
        backup.save()

    def run():
        with open(spec['source'], 'rb') as f:
            driver.backup(backup, f)
    return _measure(run)


# -- orchestration ------------------------------------------------------
def run_worker(side, op, spec, script=__file__):
    """Run ``op`` by ``side`` in a fresh process of ``script`` (whose
    main() starts with serve_worker); its result with the peak RSS."""
    subprocess.run(['sync'], check=True)
    if not spec.get('warm'):
        with open('/proc/sys/vm/drop_caches', 'w') as f:
            f.write('3\n')
    out = tempfile.NamedTemporaryFile(prefix='bench-backup-', suffix='.json')
    proc = subprocess.Popen([sys.executable, os.path.abspath(script),
                             '--worker', side, op, json.dumps(spec),
                             out.name], cwd=ROOT,
                            env=dict(os.environ, PYTHONWARNINGS='ignore'))
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit('%s %s failed (%d)' % (side, op, proc.returncode))
    with open(out.name) as f:
        result = json.load(f)
    out.close()
    result['peak_rss'] = usage.ru_maxrss * 1024
    return result


def serve_worker(ours, anchor):
    """In a worker process (``--worker SIDE OP SPEC OUT``): run it with
    ``ours`` or ``anchor`` and return True; else False."""
    if len(sys.argv) < 2 or sys.argv[1] != '--worker':
        return False
    side, op, spec, out = sys.argv[2:6]
    worker = ours if side == 'ours' else anchor
    result = worker(op, json.loads(spec))
    with open(out, 'w') as f:
        json.dump(result, f)
    return True


def report(rows, json_path):
    print_table(rows)
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(rows, f, indent=1)


def make_volume(path, size, data, rng):
    """Random data in 1 MiB pieces at distinct 1 MiB-aligned offsets."""
    offsets = rng.sample(range(size // MiB), data // MiB)
    with open(path, 'wb') as f:
        f.truncate(size)
        for offset in offsets:
            f.seek(offset * MiB)
            f.write(os.urandom(MiB))


def change_volume(path, size, rng):
    with open(path, 'r+b') as f:
        for offset in rng.sample(range(size // MiB), 8):
            f.seek(offset * MiB)
            f.write(os.urandom(MiB))


def bench_dataset(work, label, size, data, rng, rows, check_anchor, warm):
    volume = os.path.join(work, 'volume-' + label)
    make_volume(volume, size, data, rng)
    common = {'source': volume, 'volume_id': 'vol-' + label, 'warm': warm}
    ours = dict(common, repo=os.path.join(work, 'ours-repo'))
    anchor = dict(common, repo=os.path.join(work, 'anchor-repo'),
                  db=os.path.join(work, 'anchor.sqlite'),
                  volume_uuid=_uuid(rng), type_id=_uuid(rng),
                  size_gb=max(1, size // GiB), bytes=size)
    full, inc = _uuid(rng), _uuid(rng)
    results = []
    results.append(('full', run_worker('ours', 'backup', dict(
        ours, backup_id=full)), run_worker('anchor', 'backup', dict(
            anchor, backup_uuid=full))))
    change_volume(volume, size, rng)
    expected = helpers.sha256_file(volume)
    results.append(('incremental', run_worker('ours', 'backup', dict(
        ours, backup_id=inc, parent_id=full)), run_worker(
            'anchor', 'backup', dict(anchor, backup_uuid=inc,
                                     parent_uuid=full))))
    ours_target = os.path.join(work, 'restored-ours-' + label)
    anchor_target = os.path.join(work, 'restored-anchor-' + label)
    results.append(('restore', run_worker('ours', 'restore', dict(
        ours, backup_id=inc, target=ours_target)), run_worker(
            'anchor', 'restore', dict(anchor, backup_uuid=inc,
                                      target=anchor_target))))
    if helpers.sha256_file(ours_target) != expected:
        raise SystemExit('our restore of %s differs from the source' % label)
    if check_anchor and helpers.sha256_file(anchor_target) != expected:
        raise SystemExit('anchor restore of %s differs' % label)
    for path in (ours_target, anchor_target):
        os.unlink(path)
    for op, o, a in results:
        rows.append(make_row(op, op, label, o, a, warm))


def make_row(op, operation, volume, o, a, warm):
    """One row: ours (o) and the anchor (a), measured by _measure."""
    return {
        'operation': operation, 'volume': volume,
        'ours_s': round(o['wall_s'], 3), 'anchor_s': round(a['wall_s'], 3),
        'ratio': round(a['wall_s'] / max(o['wall_s'], 1e-6), 1),
        'ours_cpu_s': round(o['cpu_s'], 3),
        'anchor_cpu_s': round(a['cpu_s'], 3),
        'ours_written': o['bytes_written'],
        'anchor_written': a['bytes_written'],
        'ours_peak_rss': o['peak_rss'], 'anchor_peak_rss': a['peak_rss'],
        'cpu_ratio': round(a['cpu_s'] / max(o['cpu_s'], 1e-6), 1),
        'ours_read': o.get('bytes_read'), 'target': TARGETS[op],
        'cache': 'warm' if warm else 'cold'}


def _uuid(rng):
    import uuid
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _mib(n):
    return '%.0f' % (n / MiB) if n is not None else '-'


def print_table(rows):
    head = ('%-12s %-5s %9s %9s %7s %7s %8s %8s %7s %9s %9s %7s %7s %s' % (
        'operation', 'vol', 'ours_s', 'anchor_s', 'ratio', 'target',
        'ours_cpu', 'anc_cpu', 'cpu_x', 'ours_MiBw', 'anc_MiBw', 'ours_rss',
        'anc_rss', 'met'))
    print(head)
    for r in rows:
        met = r['ratio'] >= r['target'] and r['ours_peak_rss'] < RSS_LIMIT
        print('%-12s %-5s %9.3f %9.3f %7.1f %7.1f %8.2f %8.2f %7.1f %9s '
              '%9s %7s %7s %s' % (
                  r['operation'], r['volume'], r['ours_s'], r['anchor_s'],
                  r['ratio'], r['target'], r['ours_cpu_s'],
                  r['anchor_cpu_s'], r['cpu_ratio'], _mib(r['ours_written']),
                  _mib(r['anchor_written']), _mib(r['ours_peak_rss']),
                  _mib(r['anchor_peak_rss']), 'yes' if met else 'NO'))
    print('(sizes in MiB; rss = peak RSS of the worker process, imports '
          'included; ratio = anchor_s / ours_s; cpu_x = anchor CPU / ours)')


def main():
    if serve_worker(ours_worker, anchor_worker):
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', metavar='PATH', help='write the rows')
    parser.add_argument('--quick', action='store_true',
                        help='one small volume (256 MiB, 32 MiB of data)')
    parser.add_argument('--check-anchor', action='store_true',
                        help='also check the anchor\'s restores')
    parser.add_argument('--warm', action='store_true',
                        help='keep the page cache between operations '
                        '(default: sync and drop it before each)')
    parser.add_argument('--keep', action='store_true',
                        help='leave the filesystem mounted for a look')
    parser.add_argument('--thin', nargs='?', const='also',
                        choices=('also', 'only'), help='thin LV sources '
                        'too (or only), in the test guest: backup_thin.py')
    parser.add_argument('--cinder-format', action='store_true',
                        help='also Cinder\'s format both ways against '
                        'Cinder\'s posix driver: backup_cinderformat.py')
    parser.add_argument('--swift', action='store_true', help='also a '
                        'repository on Swift against Cinder\'s Swift '
                        'driver: backup_swift.py (starts tools/swift/up)')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('needs root: loop mount, drop_caches')
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix='cinder-ext-backup-bench-')
    os.rmdir(work)
    testfs = os.path.join(ROOT, 'tools', 'testfs')
    subprocess.run([testfs, 'up', 'xfs', work, '4G' if args.quick else '48G'],
                   check=True, stdout=subprocess.DEVNULL)
    rows = []
    try:
        for label, size, data in ((QUICK if args.quick else DATASETS)
                                  if args.thin != 'only' else []):
            print('%s: %s volume, %s of data ...' % (label, size, data),
                  file=sys.stderr)
            bench_dataset(work, label, size, data, rng, rows,
                          args.check_anchor, args.warm)
    finally:
        if not args.keep:
            subprocess.run([testfs, 'down', work], check=False)
    if args.thin:
        import backup_thin
        rows += backup_thin.run(quick=args.quick, restore=True,
                                check_anchor=args.check_anchor,
                                warm=args.warm, keep=args.keep)
    if args.cinder_format:
        import backup_cinderformat
        rows += backup_cinderformat.run(args.quick, args.warm, args.keep)
    if args.swift:
        import backup_swift
        rows += backup_swift.run(args.quick)
    report(rows, args.json)
    if args.thin:
        backup_thin.print_reads([r for r in rows if 'anchor_read' in r])


if __name__ == '__main__':
    main()
