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

"""Benchmark cinder-ext's NfsDriver against Cinder's in-tree NfsDriver.

Both drivers run in this process, outside a cinder-volume service, on the
same freshly made filesystems: a loop-mounted XFS with reflink and a
loop-mounted ext4.  Each driver gets its own directory on each filesystem.
The in-tree driver (the anchor) runs twice, with nfs_sparsed_volumes True
and False; cinder-ext runs with cinder_ext_sparse_volumes True against the
first and False against the second.

Usage (root needed: loop devices, mounts)::

    python bench/bench_nfs.py [--json PATH] [--quick] [--reps N] [--fs FS]

The anchor expects NFS exports.  There is no NFS here, so each anchor share
is a string like ``127.0.0.1:/bench-xfs-sparse`` whose os-brick mount point
is bind-mounted from the filesystem's directory before do_setup; os-brick
finds it in /proc/mounts and never mounts.  ``mount.nfs``, which do_setup
only probes for, is a stub on PATH.  Everything is removed at the end, also
on failure.
"""

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

GiB = 1024 ** 3
MiB = 1024 ** 2
VOLUME_GB = 4
CHUNK = 8 * MiB
CHUNKS = 64
SEED = 20240917
STATS_FILES = 2000
FS_SIZE = '20G'
FILESYSTEMS = [
    ('xfs-reflink', ['mkfs.xfs', '-q', '-f', '-m', 'reflink=1']),
    ('ext4', ['mkfs.ext4', '-q', '-F', '-E',
              'lazy_itable_init=0,lazy_journal_init=0']),
]
TARGETS = {
    # (fs, operation): minimal ratio anchor_s / ours_s
    ('xfs-reflink', 'clone'): 50.0,
    ('xfs-reflink', 'snapshot'): 50.0,
    ('xfs-reflink', 'volume_from_snapshot'): 50.0,
    ('ext4', 'create_thick'): 20.0,
    ('ext4', 'clone'): 1.0,
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


# -- test data ----------------------------------------------------------------

class Pattern:
    """512 MiB of random data in 64 chunks at random 8 MiB slots of 4 GiB,
    the same for every source volume (fixed seed); other sizes and counts
    on request."""

    def __init__(self, seed=SEED, size=VOLUME_GB * GiB, chunks=CHUNKS,
                 chunk=CHUNK):
        rng = random.Random(seed)
        self.size, self.chunk = size, chunk
        slots = sorted(rng.sample(range(size // chunk), chunks))
        self.chunks = [(slot * chunk, rng.randbytes(chunk)) for slot in slots]
        self.digests = {off: hashlib.sha256(data).digest()
                        for off, data in self.chunks}

    def write(self, path):
        fd = os.open(path, os.O_WRONLY)
        try:
            for off, data in self.chunks:
                os.pwrite(fd, data, off)
            os.fsync(fd)
        finally:
            os.close(fd)

    def verify(self, path, size=None):
        """None if ``path`` is a raw file of ``size`` bytes (default the
        pattern's) holding the pattern and zeroes elsewhere, else the
        reason.  Holes are skipped (SEEK_DATA), allocated ranges outside
        the chunks must be zero."""
        size = self.size if size is None else size
        chunk = self.chunk
        fd = os.open(path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if st.st_size != size:
                return 'size %d != %d' % (st.st_size, size)
            for off, _data in self.chunks:
                if hashlib.sha256(os.pread(fd, chunk, off)).digest() != \
                        self.digests[off]:
                    return 'chunk at %d differs' % off
            data_slots = {off for off, _ in self.chunks}
            zero = bytes(chunk)
            pos = 0
            while pos < size:
                try:
                    start = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError:
                    break  # ENXIO: only a hole remains
                end = os.lseek(fd, start, os.SEEK_HOLE)
                blk = start - start % chunk
                while blk < end:
                    if blk not in data_slots:
                        lo, hi = max(blk, start), min(blk + chunk, end)
                        if os.pread(fd, hi - lo, lo) != zero[:hi - lo]:
                            return 'non-zero bytes near %d' % lo
                    blk += chunk
                pos = end
            return None
        finally:
            os.close(fd)


def allocated(path):
    return os.stat(path).st_blocks * 512


# -- environment --------------------------------------------------------------

class Environment:
    """Loop filesystems, bind mounts, the stub mount.nfs; torn down in
    reverse order by ``close`` whatever happened."""

    def __init__(self, prefix='bench-nfs-'):
        self.root = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
        self._undo = []

    def add_undo(self, desc, func):
        self._undo.append((desc, func))

    def make_fs(self, name, mkfs):
        image = os.path.join(self.root, name + '.img')
        mnt = os.path.join(self.root, name)
        os.mkdir(mnt)
        with open(image, 'wb') as f:
            f.truncate(int(FS_SIZE[:-1]) * GiB)
        self.add_undo('remove ' + image, lambda: os.unlink(image))
        dev = subprocess.run(['losetup', '--find', '--show', image],
                             check=True, capture_output=True,
                             text=True).stdout.strip()
        self.add_undo('detach ' + dev, lambda: run('losetup', '-d', dev))
        run(*mkfs, dev)
        run('mount', dev, mnt)
        self.add_undo('umount ' + mnt, lambda: run('umount', mnt))
        return mnt

    def bind(self, src, dst):
        os.makedirs(dst, exist_ok=True)
        run('mount', '--bind', src, dst)
        self.add_undo('umount ' + dst, lambda: run('umount', dst))

    def stub_mount_nfs(self):
        bindir = os.path.join(self.root, 'bin')
        os.mkdir(bindir)
        stub = os.path.join(bindir, 'mount.nfs')
        with open(stub, 'w') as f:
            f.write('#!/bin/sh\nexit 0\n')
        os.chmod(stub, 0o755)
        os.environ['PATH'] = bindir + os.pathsep + os.environ['PATH']

    def close(self):
        failed = []
        while self._undo:
            desc, func = self._undo.pop()
            for attempt in range(5):
                try:
                    func()
                    break
                except Exception as exc:
                    if attempt == 4:
                        failed.append('%s: %s' % (desc, exc))
                    time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)
        for msg in failed:
            log('cleanup failed: ' + msg)


# -- cinder in-process --------------------------------------------------------

def init_cinder(root, database=None):
    """Configure cinder in this process, start its coordinator (file
    locks under ``root``) and privsep daemon.  ``database``: an sqlite
    file already migrated, used instead of a new one under ``root``."""
    from oslo_config import cfg
    CONF = cfg.CONF
    from cinder.common import config  # noqa: F401  (global options)
    from cinder import objects
    objects.register_all()
    from cinder import coordination
    from cinder import utils
    CONF([], project='cinder', default_config_files=[],
         default_config_dirs=[])
    for sub in ('state', 'locks'):
        os.mkdir(os.path.join(root, sub))
    CONF.set_override('state_path', os.path.join(root, 'state'))
    CONF.set_override('connection', 'sqlite:///%s' % (
        database or os.path.join(root, 'cinder.sqlite')), group='database')
    CONF.set_override('backend_url', 'file://%s/locks' % root,
                      group='coordination')
    CONF.set_override('lock_path', os.path.join(root, 'locks'),
                      group='oslo_concurrency')
    # We are root: oslo.concurrency never prepends a root helper for
    # run_as_root then.  Make the helper trivial anyway, so that no path can
    # start cinder-rootwrap.
    utils.get_root_helper = lambda: 'env'
    # cinder-volume starts one privsep daemon (cinder reads image headers
    # through it) with its root helper and reuses it: do the same, with the
    # venv's privsep-helper on PATH, and start it now, untimed.
    from oslo_privsep import priv_context
    priv_context.init(root_helper=['env'])
    os.environ['PATH'] = (os.path.dirname(sys.executable) + os.pathsep +
                          os.environ['PATH'])
    import warnings

    from cinder.db import migration
    if database is None:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # alembic's batch-mode notes
            migration.db_sync()
    coordination.COORDINATOR.start()
    import cinder.privsep.format_inspector as inspector
    probe = os.path.join(root, 'probe.raw')
    with open(probe, 'wb') as f:
        f.truncate(MiB)
    inspector.get_format_if_safe(path=probe, allow_qcow2_backing_file=True)
    os.unlink(probe)
    from cinder import context
    return context.RequestContext(user_id='bench', project_id='bench',
                                  is_admin=True)


def stop_cinder():
    from cinder import coordination
    with contextlib.suppress(Exception):
        coordination.COORDINATOR.stop()


def new_volume(ctxt, size=VOLUME_GB):
    from cinder import objects
    vol = objects.Volume(context=ctxt, size=size, status='available',
                         attach_status='detached', user_id='bench',
                         project_id='bench', host='bench@bench#bench',
                         availability_zone='nova',
                         display_name='bench-%s' % uuid.uuid4().hex[:6])
    vol.create()
    # Preload what the drivers read lazily, so no DB query is timed.  The
    # type is cinder's __DEFAULT__ (the DB refuses NULL) without extra
    # specs: provisioning follows each driver's configuration.
    vol.volume_type  # noqa: B018
    vol.admin_metadata  # noqa: B018
    return vol


def new_snapshot(ctxt, volume):
    from cinder import objects
    snap = objects.Snapshot(context=ctxt, volume_id=volume.id,
                            volume_size=volume.size, status='available',
                            user_id='bench', project_id='bench',
                            volume_type_id=volume.volume_type_id,
                            display_name='bench-snap')
    snap.create()
    snap.volume = volume
    return snap


class Subject:
    """One driver instance on one directory of one filesystem."""

    label = None

    def __init__(self, ctxt, fs, directory):
        self.ctxt = ctxt
        self.fs = fs
        self.dir = directory
        self.group = 'bench_%s_%s' % (self.label.replace('-', '_'),
                                      fs.replace('-', '_'))

    def _conf(self, opt_lists, overrides):
        from cinder.volume import configuration
        from cinder.volume import driver
        from oslo_config import cfg
        conf = configuration.Configuration(driver.volume_opts,
                                           config_group=self.group)
        for opts in opt_lists:
            conf.append_config_values(opts)
        for key, value in overrides.items():
            cfg.CONF.set_override(key, value, group=self.group)
        return conf

    def path(self, obj):
        return os.path.join(self.dir, obj.name)

    # Operations return nothing; they set provider_location on the object.
    def create(self, vol):
        vol.provider_location = self.driver.create_volume(vol)[
            'provider_location']

    def clone(self, vol, src):
        vol.provider_location = self.driver.create_cloned_volume(vol, src)[
            'provider_location']

    def snapshot(self, snap):
        upd = self.driver.create_snapshot(snap) or {}
        snap.provider_location = upd.get('provider_location')

    def volume_from_snapshot(self, vol, snap):
        vol.provider_location = self.driver.create_volume_from_snapshot(
            vol, snap)['provider_location']

    def delete_snapshot(self, snap):
        self.driver.delete_snapshot(snap)

    def delete(self, vol):
        self.driver.delete_volume(vol)

    def stats(self):
        return self.driver.get_volume_stats(refresh=True)


class Ours(Subject):
    def __init__(self, ctxt, fs, directory, sparse):
        self.label = 'ours-%s' % ('thin' if sparse else 'thick')
        super().__init__(ctxt, fs, directory)
        from cinder_ext import opts
        from cinder_ext.volume import nfs
        conf = self._conf([opts.cinder_ext_opts], {
            'cinder_ext_shares': [directory],
            'cinder_ext_use_privsep': False,
            'cinder_ext_sparse_volumes': sparse,
            'volume_backend_name': self.group,
        })
        self.driver = nfs.NfsDriver(configuration=conf, host='bench')
        self.driver.do_setup(ctxt)
        self.driver.check_for_setup_error()
        self.share = directory

    def snapshot_file(self, snap):
        return os.path.join(self.dir, snap.name)


class Anchor(Subject):
    def __init__(self, ctxt, fs, directory, sparse, env):
        self.variant = 'sparse' if sparse else 'thick'
        self.label = 'anchor-%s' % self.variant
        super().__init__(ctxt, fs, directory)
        from cinder.volume.drivers import nfs
        from cinder.volume.drivers import remotefs
        self.share = '127.0.0.1:/bench-%s-%s' % (fs, self.variant)
        shares_file = os.path.join(env.root, 'nfs_shares-' + self.group)
        with open(shares_file, 'w') as f:
            f.write(self.share + '\n')
        conf = self._conf(
            [nfs.nfs_opts, remotefs.nas_opts, remotefs.volume_opts], {
                'nfs_shares_config': shares_file,
                'nfs_mount_point_base': os.path.join(env.root, 'anchor-mnt'),
                'nfs_sparsed_volumes': sparse,
                'nfs_snapshot_support': True,
                'nas_secure_file_operations': 'false',
                'nas_secure_file_permissions': 'true',
                'volume_backend_name': self.group,
            })
        self.driver = nfs.NfsDriver(configuration=conf, host='bench')
        # The "export" is this directory, already "mounted" where os-brick
        # looks for it.
        self.mount_point = self.driver._get_mount_point_for_share(self.share)
        env.bind(directory, self.mount_point)
        self.driver.do_setup(ctxt)
        self.driver.check_for_setup_error()
        self.dir = self.mount_point

    def snapshot_file(self, snap):
        """The raw file holding the snapshot's data: the backing file of
        the qcow2 overlay the snapshot recorded in the .info file."""
        info_path = os.path.join(self.dir, snap.volume.name + '.info')
        with open(info_path) as f:
            overlay = json.load(f)[snap.id]
        out = subprocess.run(
            ['qemu-img', 'info', '-U', '--output=json',
             os.path.join(self.dir, overlay)],
            check=True, capture_output=True, text=True).stdout
        return os.path.join(self.dir, json.loads(out)['backing-filename'])


# -- measurements -------------------------------------------------------------

def timed(func, *args):
    os.sync()
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


class Bench:
    def __init__(self, ctxt, reps, pattern):
        self.ctxt = ctxt
        self.reps = reps
        self.pattern = pattern
        self.rows = []

    def record(self, fs, operation, ours, anchor, ours_t, anchor_t, checks,
               extra=None):
        o, a = statistics.median(ours_t), statistics.median(anchor_t)
        bad = [c for c in checks if c]
        row = {
            'operation': operation, 'fs': fs, 'anchor': anchor.variant,
            'ours': ours.label, 'ours_s': o, 'anchor_s': a,
            'ratio': a / o if o > 0 else float('inf'),
            'reps': len(ours_t), 'ours_all_s': ours_t,
            'anchor_all_s': anchor_t,
            'check': 'ok' if not bad else 'FAIL: ' + '; '.join(
                sorted(set(bad))),
        }
        target = TARGETS.get((fs, operation))
        if target is not None:
            row['target'] = target
            row['target_met'] = row['ratio'] >= target
        row.update(extra or {})
        self.rows.append(row)
        log('  %-22s %-6s ours %9.4fs  anchor %9.4fs  x%.1f  %s' % (
            operation, anchor.variant, o, a, row['ratio'], row['check']))

    def pair(self, fs, ours, anchor):
        ctxt, pat = self.ctxt, self.pattern
        subjects = (ours, anchor)

        # create (thick or thin, following the pair's configuration)
        times = {s: [] for s in subjects}
        checks, alloc = [], {}
        for _rep in range(self.reps):
            for s in subjects:
                vol = new_volume(ctxt)
                t, _ = timed(s.create, vol)
                times[s].append(t)
                path = s.path(vol)
                st = os.stat(path)
                alloc[s] = allocated(path)
                if st.st_size != VOLUME_GB * GiB:
                    checks.append('%s size %d' % (s.label, st.st_size))
                if anchor.variant == 'thick' and alloc[s] < VOLUME_GB * GiB:
                    checks.append('%s not fully allocated' % s.label)
                s.delete(vol)
        self.record(fs, 'create_thick' if anchor.variant == 'thick'
                    else 'create_thin', ours, anchor, times[ours],
                    times[anchor], checks,
                    {'ours_alloc_mib': alloc[ours] // MiB,
                     'anchor_alloc_mib': alloc[anchor] // MiB})

        # the 4 GiB source with 512 MiB of scattered data, made through
        # each driver's own create
        sources = {}
        for s in subjects:
            src = new_volume(ctxt)
            s.create(src)
            pat.write(s.path(src))
            reason = pat.verify(s.path(src))
            if reason:
                raise RuntimeError('%s source: %s' % (s.label, reason))
            sources[s] = src

        # clone
        times = {s: [] for s in subjects}
        checks = []
        for _rep in range(self.reps):
            for s in subjects:
                vol = new_volume(ctxt)
                t, _ = timed(s.clone, vol, sources[s])
                times[s].append(t)
                reason = pat.verify(s.path(vol))
                checks.append(reason and '%s clone: %s' % (s.label, reason))
                alloc[s] = allocated(s.path(vol))
                s.delete(vol)
        self.record(fs, 'clone', ours, anchor, times[ours], times[anchor],
                    checks, {'ours_alloc_mib': alloc[ours] // MiB,
                             'anchor_alloc_mib': alloc[anchor] // MiB})

        # snapshot, volume from snapshot, delete snapshot
        names = ('snapshot', 'volume_from_snapshot', 'delete_snapshot')
        times = {(n, s): [] for n in names for s in subjects}
        checks = {n: [] for n in names}
        vfs_alloc = {}
        for _rep in range(self.reps):
            for s in subjects:
                src = sources[s]
                snap = new_snapshot(ctxt, src)
                t, _ = timed(s.snapshot, snap)
                times['snapshot', s].append(t)
                reason = pat.verify(s.snapshot_file(snap))
                checks['snapshot'].append(
                    reason and '%s snapshot: %s' % (s.label, reason))

                vol = new_volume(ctxt)
                t, _ = timed(s.volume_from_snapshot, vol, snap)
                times['volume_from_snapshot', s].append(t)
                reason = pat.verify(s.path(vol))
                checks['volume_from_snapshot'].append(
                    reason and '%s volume: %s' % (s.label, reason))
                vfs_alloc[s] = allocated(s.path(vol))
                s.delete(vol)

                t, _ = timed(s.delete_snapshot, snap)
                times['delete_snapshot', s].append(t)
                leftovers = [n for n in os.listdir(s.dir)
                             if snap.id in n]
                reason = pat.verify(s.path(src))
                checks['delete_snapshot'].append(
                    (leftovers and '%s left %s' % (s.label, leftovers)) or
                    (reason and '%s source after: %s' % (s.label, reason)))
        for n in names:
            extra = None
            if n == 'volume_from_snapshot':
                extra = {'ours_alloc_mib': vfs_alloc[ours] // MiB,
                         'anchor_alloc_mib': vfs_alloc[anchor] // MiB}
            self.record(fs, n, ours, anchor, times[n, ours],
                        times[n, anchor], checks[n], extra)
        for s in subjects:
            s.delete(sources[s])

        # get_volume_stats with 2,000 volumes on the share
        times = {s: [] for s in subjects}
        checks, stats = [], {}
        for s in subjects:
            for _ in range(STATS_FILES):
                with open(os.path.join(s.dir, 'volume-%s' % uuid.uuid4()),
                          'wb') as f:
                    f.truncate(MiB)
        for _rep in range(self.reps):
            for s in subjects:
                t, stats[s] = timed(s.stats)
                times[s].append(t)
        expect = STATS_FILES * MiB / GiB
        got = stats[ours]['provisioned_capacity_gb']
        if abs(got - expect) > 0.02:
            checks.append('ours provisioned %.2f GiB != %.2f' % (got, expect))
        for s in subjects:
            if abs(stats[s]['total_capacity_gb'] -
                   stats[ours]['total_capacity_gb']) > 0.05 * max(
                       stats[ours]['total_capacity_gb'], 1):
                checks.append('%s total %.2f GiB' % (
                    s.label, stats[s]['total_capacity_gb']))
        self.record(fs, 'get_volume_stats', ours, anchor, times[ours],
                    times[anchor], checks,
                    {'ours_provisioned_gb': got,
                     'anchor_provisioned_gb':
                         stats[anchor].get('provisioned_capacity_gb')})
        for s in subjects:
            for name in os.listdir(s.dir):
                if name.startswith('volume-'):
                    os.unlink(os.path.join(s.dir, name))


def table(header, cols, lines):
    """``header`` lines, then ``lines`` (lists of strings) in columns."""
    widths = [max(len(c), *(len(line[i]) for line in lines))
              for i, c in enumerate(cols)]
    out = list(header)
    out.append('  '.join(c.ljust(w) for c, w in zip(cols, widths)))
    out.append('  '.join('-' * w for w in widths))
    for line in lines:
        out.append('  '.join(v.ljust(w) for v, w in zip(line, widths)))
    return '\n'.join(out)


def fmt_table(rows, header):
    cols = ['fs', 'operation', 'anchor', 'ours_s', 'anchor_s', 'ratio',
            'target', 'check']
    lines = []
    for r in rows:
        target = ''
        if 'target' in r:
            target = '>=%gx %s' % (r['target'],
                                   'met' if r['target_met'] else 'MISSED')
        lines.append([r['fs'], r['operation'], r['anchor'],
                      '%.4f' % r['ours_s'], '%.4f' % r['anchor_s'],
                      '%.1f' % r['ratio'], target, r['check']])
    return table(header, cols, lines)


def preflight(script, tools):
    """Refuse to run without root or ``tools``; quiet logging; SIGTERM
    unwinds (so that cleanup runs)."""
    if os.geteuid() != 0:
        sys.exit('%s needs root (loop devices and mounts).' % script)
    for tool in tools:
        if not shutil.which(tool):
            sys.exit('%s is missing' % tool)
    logging.basicConfig(level=logging.ERROR)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))


def arg_parser(doc, quick_help, reps_help):
    """The options every benchmark has: --json, --quick, --reps."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--json', metavar='PATH',
                        help='also write the results as a JSON list')
    parser.add_argument('--quick', action='store_true', help=quick_help)
    parser.add_argument('--reps', type=int, help=reps_help)
    return parser


def main():
    parser = arg_parser(__doc__, 'one repetition instead of three',
                        'repetitions (median is reported)')
    parser.add_argument('--fs', action='append',
                        choices=['xfs-reflink', 'ext4'],
                        help='only these filesystems (default both)')
    args = parser.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    preflight('bench_nfs.py', ('mkfs.xfs', 'mkfs.ext4', 'losetup',
                               'qemu-img'))

    filesystems = list(FILESYSTEMS)
    if args.fs:
        filesystems = [f for f in filesystems if f[0] in args.fs]

    env = Environment()
    started = time.time()
    try:
        env.stub_mount_nfs()
        ctxt = init_cinder(env.root)
        env.add_undo('stop coordinator', stop_cinder)
        log('generating the data pattern (seed %d)' % SEED)
        bench = Bench(ctxt, reps, Pattern())
        for fs, mkfs in filesystems:
            log('making %s (%s sparse image)' % (fs, FS_SIZE))
            mnt = env.make_fs(fs, mkfs)
            for sparse in (True, False):
                dirs = {}
                for who in ('ours', 'anchor'):
                    d = os.path.join(mnt, '%s-%s' % (
                        who, 'sparse' if sparse else 'thick'))
                    os.mkdir(d)
                    dirs[who] = d
                ours = Ours(ctxt, fs, dirs['ours'], sparse)
                anchor = Anchor(ctxt, fs, dirs['anchor'], sparse, env)
                log('%s: %s vs %s' % (fs, ours.label, anchor.label))
                bench.pair(fs, ours, anchor)
    finally:
        env.close()

    import cinder
    import cinder_ext
    from importlib import metadata
    header = [
        'cinder-ext NfsDriver vs cinder %s NfsDriver (anchor); median of %d'
        % (metadata.version('cinder'), reps),
        'volumes %d GiB; sources hold %d x %d MiB random chunks (seed %d); '
        'stats with %d volume files'
        % (VOLUME_GB, CHUNKS, CHUNK // MiB, SEED, STATS_FILES),
        'filesystems: %s sparse loop images; each driver has its own '
        'directory; `sync` before every timed call' % FS_SIZE,
        'ours: cinder_ext_use_privsep=False (file ops in-process), '
        'sparse=True vs anchor sparse, False vs anchor thick',
        'anchor: run as root, so oslo.concurrency runs its commands '
        'directly (no root helper, no rootwrap start-up); qemu-img info '
        'keeps cinder\'s prlimit wrapper as in production',
        'anchor share = 127.0.0.1:/... bind-mounted at its os-brick mount '
        'point; objects live in a sqlite cinder DB (db_sync)',
        'ratio = anchor_s / ours_s; run took %.0f s; %s, %s'
        % (time.time() - started, os.path.dirname(cinder.__file__),
           os.path.dirname(cinder_ext.__file__)),
        '',
    ]
    print(fmt_table(bench.rows, header))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(bench.rows, f, indent=1)
            f.write('\n')
    missed = [r for r in bench.rows if r.get('target_met') is False]
    failed = [r for r in bench.rows if r['check'] != 'ok']
    if missed:
        print('\ntargets missed: ' + ', '.join(
            '%s/%s/%s x%.1f < %g' % (r['fs'], r['operation'], r['anchor'],
                                     r['ratio'], r['target'])
            for r in missed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
