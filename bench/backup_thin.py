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

"""Thin LV sources for the backup bench: ours against Cinder 29's
PosixBackupDriver, both run in the test guest (the LVs exist only there).

Usage (root: the test guest)::

    python bench/backup_thin.py [--sizes 2G:200M,8G:1G] [--json PATH]
                                [--check-anchor] [--quick] [--keep]

or ``python bench/bench_backup.py --thin [only]`` (the rows join that
table).  The guest ``benchthin`` (one sparse 24G disk, 6 GiB of RAM: the
anchor reads 1.9 GB pieces) gets a VG with a thin pool for the volumes and
a thick LV with XFS at /bench for both repositories and restore targets.

Per size: a thin LV holding random data in 1 MiB pieces at random offsets;
a full backup by each side (ours: a thin snapshot, only the ranges
thin_dump maps are read; the anchor reads the whole device); 8 MiB changed
(8 x 1 MiB at random offsets); an incremental by each side (ours:
``--incremental`` over the kept snapshot ``_backup-base-<id>``, so
thin_delta names the changed blocks; the anchor: its incremental, which
reads the whole device and compares sha256 blocks).  With ``--restore`` or
``--check-anchor`` the smallest size's incremental is restored by each
side into files and compared by SHA-256 with the LV.

Each operation runs in its own process in the guest (the host's venv over
9p), after ``sync`` and ``drop_caches`` there; the import of cinder (~40 s
in the guest) is not timed, only the call, by bench_backup's ``_measure``.
Bytes read: ours from the manifest's stats, the anchor's from
``/proc/self/io`` rchar during the call.
"""

import argparse
import json
import os
import random
import resource
import shlex
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
import bench_backup  # noqa: E402  (stdlib imports only)

GiB, MiB = 1024 ** 3, 1024 ** 2
GUEST = 'benchthin'
DISK, MEMORY_MB = '24G', 6144
VG, POOL, STORE = 'bthin', 'pool', '/bench'
POOL_SIZE, STORE_SIZE = '6g', '14g'
SIZES = '2G:200M,8G:1G'
QUICK = '256M:32M'
TARGETS = {'full': 8.0, 'incremental': 20.0, 'restore': 3.0}
TIMEOUT = 3600


def _rchar():
    with open('/proc/self/io') as f:
        return int(dict(line.split(': ') for line in f)['rchar'])


def _measure_reads(fn):
    """bench_backup's _measure plus bytes read (rchar) and peak RSS."""
    before = _rchar()
    result = _measured(fn)
    result['rchar'] = _rchar() - before
    result['peak_rss'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss * 1024
    return result


_measured = bench_backup._measure


# -- workers (in the guest, one process each) ----------------------------
def ours_worker(op, spec):
    from cinder_ext.backup import engine
    from cinder_ext.backup import repository
    commands = _time_commands()
    if not os.path.exists(os.path.join(spec['repo'], 'config')):
        repository.Repository.init(spec['repo'])
    eng = engine.BackupEngine.open(spec['repo'])
    if op == 'restore':
        return _measure_reads(lambda: eng.restore(spec['backup_id'],
                                                  spec['target']) and None)

    def run():
        manifest = eng.backup(
            spec['source'], spec['volume_id'], spec['backup_id'],
            incremental=bool(spec.get('parent_id')),
            parent_id=spec.get('parent_id'),
            base_name='_backup-base-' + spec['volume_id'])
        return {'bytes_read': manifest['stats']['bytes_read'],
                'method': manifest['change_detection']}
    return dict(_measure_reads(run), **commands)


def _time_commands():
    """Count the commands (lvs, lvcreate, dmsetup, thin_delta ...) our
    backup runs and the seconds spent in them: each LVM command costs
    0.5-1.5 s under TCG, ~50 ms on real hardware."""
    from cinder_ext.storage import executor
    totals = {'commands': 0, 'command_s': 0.0}
    run = executor.run

    def timed(*args, **kwargs):
        start = time.monotonic()
        try:
            return run(*args, **kwargs)
        finally:
            totals['commands'] += 1
            totals['command_s'] += time.monotonic() - start
    executor.run = timed
    return totals


def worker_main(argv):
    side, op, spec = argv
    if side == 'ours':
        result = ours_worker(op, json.loads(spec))
    else:
        bench_backup._measure = _measure_reads
        result = bench_backup.anchor_worker(op, json.loads(spec))
    print(json.dumps(result))


# -- the guest side ------------------------------------------------------
def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_sizes(text):
    from tests.guest import config
    return [(size.upper(), config.parse_size(size), config.parse_size(data))
            for size, data in (item.split(':') for item in text.split(','))]


class Bench:
    def __init__(self, guest, rng, warm):
        self.guest, self.rng, self.warm = guest, rng, warm

    def sh(self, script, timeout=TIMEOUT):
        rc, out, err = self.guest.run(['sh', '-c', script], timeout=timeout)
        if rc != 0:
            raise RuntimeError('guest: %s failed (%s): %s'
                               % (script[:200], rc, err.strip()[-1500:]))
        return out

    def prepare(self):
        disk = self.guest.disks[0]
        self.sh('umount {s} 2>/dev/null; vgremove -q -ff -y {vg} '
                '>/dev/null 2>&1; wipefs -a -q {d} && pvcreate -q -ff -y {d} '
                '&& vgcreate -q {vg} {d} && lvcreate -q -T {vg}/{p} -L {ps} '
                '&& lvcreate -q -y -n store -L {ss} -Wy -Zy {vg} && '
                'mkfs.xfs -q -f /dev/{vg}/store && mkdir -p {s} && '
                'mount /dev/{vg}/store {s}'.format(
                    d=disk, vg=VG, p=POOL, ps=POOL_SIZE, ss=STORE_SIZE,
                    s=STORE))

    def python(self, script):
        """The guest's system python (starts in 0.5 s; no venv imports)."""
        return self.sh('python3 -c %s' % shlex.quote(script))

    def scatter(self, dev, size, data):
        """Random data in 1 MiB pieces at distinct 1 MiB offsets."""
        self.python(
            'import os, random\nr = random.Random(%d)\n'
            'fd = os.open(%r, os.O_WRONLY)\n'
            'for o in r.sample(range(%d), %d):\n'
            '    os.pwrite(fd, os.urandom(%d), o * %d)\n'
            'os.fsync(fd)\n' % (self.rng.getrandbits(32), dev, size // MiB,
                                data // MiB, MiB, MiB))

    def sha256(self, path):
        return self.sh('sha256sum < %s' % shlex.quote(path)).split()[0]

    def worker(self, side, op, spec):
        prelude = 'sync' if self.warm else \
            'sync && echo 3 > /proc/sys/vm/drop_caches'
        out = self.sh('%s && cd %s && PYTHONWARNINGS=ignore %s %s --worker '
                      '%s %s %s' % (prelude, shlex.quote(ROOT),
                                    shlex.quote(sys.executable),
                                    shlex.quote(os.path.abspath(__file__)),
                                    side, op, shlex.quote(json.dumps(spec))))
        return json.loads(out.strip().splitlines()[-1])

    def dataset(self, label, size, data, restore, check_anchor):
        volume_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        dev = '/dev/%s/volume-%s' % (VG, volume_id)
        self.sh('lvcreate -q -T %s/%s -V %db -n volume-%s'
                % (VG, POOL, size, volume_id))
        started = time.monotonic()
        self.scatter(dev, size, data)
        log('%s: thin LV with %d MiB of data written in %.0f s'
            % (label, data // MiB, time.monotonic() - started))
        common = {'source': dev, 'volume_id': volume_id}
        ours = dict(common, repo=STORE + '/ours-repo')
        anchor = dict(common, repo=STORE + '/anchor-repo',
                      db=STORE + '/anchor.sqlite', volume_uuid=volume_id,
                      type_id=str(uuid.UUID(int=self.rng.getrandbits(128),
                                            version=4)),
                      size_gb=max(1, size // GiB), bytes=size)
        full, inc = (str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                     for _ in range(2))
        results = [('full',) + self.pair(
            label, 'full', dict(ours, op='backup', backup_id=full),
            dict(anchor, op='backup', backup_uuid=full))]
        self.scatter(dev, size, 8 * MiB)
        results.append(('incremental',) + self.pair(
            label, 'incremental',
            dict(ours, op='backup', backup_id=inc, parent_id=full),
            dict(anchor, op='backup', backup_uuid=inc, parent_uuid=full)))
        if restore or check_anchor:
            results.append(('restore',) + self.restore(
                label, dev, ours, anchor, inc, check_anchor))
        return [row(op, label, o, a, self.warm) for op, o, a in results]

    def pair(self, label, what, ours, anchor):
        o = self.worker('ours', ours.pop('op'), ours)
        a = self.worker('anchor', anchor.pop('op'), anchor)
        log('%s %s: ours %.2f s (%s, %d MiB read), anchor %.2f s (%d MiB '
            'read)' % (label, what, o['wall_s'], o.get('method'),
                       o.get('bytes_read', 0) // MiB, a['wall_s'],
                       a['rchar'] // MiB))
        return o, a

    def restore(self, label, dev, ours, anchor, backup_id, check_anchor):
        expected = self.sha256(dev)
        ours_target = '%s/restored-ours-%s' % (STORE, label)
        anchor_target = '%s/restored-anchor-%s' % (STORE, label)
        result = self.pair(
            label, 'restore',
            dict(ours, op='restore', backup_id=backup_id, target=ours_target),
            dict(anchor, op='restore', backup_uuid=backup_id,
                 target=anchor_target))
        if self.sha256(ours_target) != expected:
            raise SystemExit('our restore of thin %s differs' % label)
        if check_anchor and self.sha256(anchor_target) != expected:
            raise SystemExit('anchor restore of thin %s differs' % label)
        log('%s: restores match the LV (sha256 %s; anchor %s)' % (
            label, expected[:16], 'checked' if check_anchor else 'unchecked'))
        self.sh('rm -f %s %s' % (ours_target, anchor_target))
        return result


def row(op, label, o, a, warm):
    """A row as bench_backup's, operation named 'thin <op> <size>'."""
    size = label[:-1] + ' GiB' if label.endswith('G') else label[:-1] + \
        ' MiB'
    result = bench_backup.make_row(op, 'thin %s %s' % (op, size),
                                   'thin' + label, o, a, warm)
    result.update({
        'ours_read': o.get('bytes_read', o['rchar']),
        'anchor_read': a['rchar'], 'ours_method': o.get('method'),
        'ours_commands': o.get('commands'),
        'ours_command_s': round(o.get('command_s', 0), 3)})
    return result


def run(sizes=SIZES, quick=False, check_anchor=False, restore=False,
        warm=False, keep=False, seed=bench_backup.SEED):
    """The thin rows; boots (and, unless ``keep``, stops) the guest."""
    from tests.guest import Guest
    guest = Guest(GUEST, disks=[DISK], export=False, memory_mb=MEMORY_MB)
    started = time.monotonic()
    guest.start()
    log('guest %s up in %.0f s' % (GUEST, time.monotonic() - started))
    bench = Bench(guest, random.Random(seed), warm)
    rows = []
    try:
        bench.prepare()
        for index, (label, size, data) in enumerate(
                parse_sizes(QUICK if quick else sizes)):
            rows += bench.dataset(label, size, data, restore and index == 0,
                                  check_anchor and index == 0)
    finally:
        if not keep:
            guest.stop()
    return rows


def print_reads(rows):
    print('%-26s %9s %9s %5s %6s %s' % (
        'thin operation', 'ours_MiBr', 'anc_MiBr', 'cmds', 'cmd_s',
        'ours change detection'))
    for r in rows:
        print('%-26s %9.1f %9.1f %5s %6.2f %s' % (
            r['operation'], r['ours_read'] / MiB, r['anchor_read'] / MiB,
            r['ours_commands'] or '-', r['ours_command_s'],
            r['ours_method'] or '-'))
    print('(MiBr: MiB read, ours from the manifest, the anchor\'s rchar; '
          'cmds / cmd_s: commands our call ran, seconds in them)')


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--worker':
        return worker_main(sys.argv[2:5])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default=SIZES,
                        help='SIZE:DATA,... (default %s)' % SIZES)
    parser.add_argument('--quick', action='store_true',
                        help='one thin LV of 256 MiB holding 32 MiB')
    parser.add_argument('--json', metavar='PATH', help='write the rows')
    parser.add_argument('--restore', action='store_true',
                        help='restore the first size\'s incremental by '
                        'each side (timed; ours checked by SHA-256)')
    parser.add_argument('--check-anchor', action='store_true',
                        help='--restore, and check the anchor\'s too')
    parser.add_argument('--warm', action='store_true',
                        help='do not drop the guest\'s page cache')
    parser.add_argument('--keep', action='store_true',
                        help='leave the guest running')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('needs root: the test guest')
    started = time.monotonic()
    rows = run(args.sizes, args.quick, args.check_anchor, args.restore,
               args.warm, args.keep)
    bench_backup.print_table(rows)
    print_reads(rows)
    print('(run in the test guest, qemu TCG; total %.0f s)'
          % (time.monotonic() - started))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
