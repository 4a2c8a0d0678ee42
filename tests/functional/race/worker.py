"""One cinder-volume-like process racing others on one share.

    python -m tests.functional.race.worker run --share DIR --journal FILE
        --url URL --worker N --seed S --ops K [--nolock] [--copy-delay SEC]
        [--hang-at I --marker FILE] [--copy-method auto|copy]
    python -m tests.functional.race.worker check --share DIR --journal FILE
        --url URL

``run`` builds its own driver and coordinator, as a cinder-volume service
would, and performs K randomized operations on real in-memory Cinder
objects, picking sources among what the journal says exists.  ``check``
builds a fresh driver (its start-up sweep removes orphaned temporary
files), reads its stats and prints the invariant checker's result as JSON.

Hooks, in this worker only: ``--copy-delay`` sleeps inside every copy
(inside the driver's locks) to widen race windows; ``--hang-at I`` makes
the first clone from operation I on write ``--marker`` and hang inside the
copy, holding its locks, so that a test can SIGKILL it there.
``--nolock`` replaces the coordinator's locks with no-op locks.
"""

import argparse
import functools
import json
import logging
import os
import random
import sys
import time
import uuid

from cinder import context as cinder_context
from cinder import coordination
from cinder import exception as cinder_exception
from cinder import objects
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_config import cfg
from tooz import coordination as tooz_coordination

from cinder_ext import opts
from cinder_ext.storage import fileio
from tests.functional.race import model

GiB = model.GiB
BACKEND = 'cinder-ext'
MAX_SIZE = 4
INNER = []  # storage calls of the current operation


class NoLock:
    """What ``--nolock`` hands out instead of a tooz lock."""

    def __init__(self, name):
        self.name = name

    def acquire(self, blocking=True):
        return True

    def release(self):
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _record(func, names):
    """Wrap a fileio function to log its timing and outcome."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        event = {'f': func.__name__}
        event.update(names(*args, **kwargs))
        event['a'] = time.time()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            event.update(b=time.time(), ok=False, err=repr(exc))
            INNER.append(event)
            raise
        event.update(b=time.time(), ok=True,
                     ret=result if isinstance(result, (bool, str)) else None)
        INNER.append(event)
        return result
    return wrapper


def instrument(copy_delay, hang_marker):
    fileio.create = _record(
        fileio.create, lambda root, name, size, *a, **k:
        {'name': name, 'size': size})
    fileio.clone = _record(
        fileio.clone, lambda root, src, dst, size, *a, **k:
        {'src': src, 'dst': dst, 'size': size,
         'replace': k.get('replace', False)})
    fileio.extend = _record(
        fileio.extend, lambda root, name, size, *a, **k:
        {'name': name, 'size': size})
    if hasattr(fileio, 'pin'):
        fileio.pin = _record(fileio.pin,
                             lambda root, src, key: {'src': src})
    fileio.remove = _record(fileio.remove,
                            lambda root, name: {'name': name})
    fileio.rename = _record(fileio.rename,
                            lambda root, src, dst: {'src': src, 'dst': dst})
    real_copy = fileio._copy

    def copy(src, dst, size, reflink):
        if hang_marker and HANG['armed']:
            with open(hang_marker + '.tmp', 'w') as f:
                f.write('%d\n' % os.getpid())
            os.rename(hang_marker + '.tmp', hang_marker)
            time.sleep(3600)
        if copy_delay:
            time.sleep(copy_delay)
        return real_copy(src, dst, size, reflink)
    fileio._copy = copy


HANG = {'armed': False}


def setup(url, share, copy_method='auto', nolock=False, journal=None,
          worker=None):
    objects.register_all()
    cfg.CONF([], project='cinder', default_config_files=[])
    cfg.CONF.set_override('backend_url', url, group='coordination')
    conf = configuration.Configuration(cinder_driver.volume_opts,
                                       config_group=BACKEND)
    conf.append_config_values(opts.cinder_ext_opts)
    for key, value in {'cinder_ext_shares': [share],
                       'volume_backend_name': BACKEND,
                       'cinder_ext_use_privsep': False,
                       'cinder_ext_copy_method': copy_method}.items():
        cfg.CONF.set_override(key, value, group=BACKEND)
    coordination.COORDINATOR.start()
    from cinder_ext.volume import nfs
    drv = nfs.NfsDriver(configuration=conf)
    ctxt = cinder_context.get_admin_context()
    drv.do_setup(ctxt)
    for attempt in range(5):
        try:
            drv.check_for_setup_error()
            break
        except (cinder_exception.VolumeBackendAPIException,
                FileNotFoundError) as exc:
            # Another service's start-up sweep may remove this one's
            # write or reflink probe (a temporary file whose lock, keyed
            # "probe", nobody holds): a driver bug, recorded here.
            logging.warning('check_for_setup_error failed: %s', exc)
            if journal:
                model.append(journal, {
                    'w': worker, 'n': 0, 'op': 'startup', 'ok': False,
                    'clean': True, 'err': '%s: %s' % (type(exc).__name__, exc),
                    't0': time.time(),
                    't1': time.time(), 'inner': []})
            time.sleep(0.1)
    else:
        raise RuntimeError('check_for_setup_error keeps failing')
    if nolock:
        coordination.COORDINATOR.get_lock = NoLock
    return drv, ctxt


def make_volume(ctxt, vid, size, share):
    vol = objects.Volume(context=ctxt, id=vid, size=size,
                         provider_location=share, volume_type_id=None,
                         _name_id=None, status='available',
                         host='race@cinder-ext#pool')
    return vol


def make_snapshot(ctxt, sid, volume):
    snap = objects.Snapshot(context=ctxt, id=sid, volume_id=volume.id,
                            volume_size=volume.size, status='available',
                            provider_location=volume.provider_location)
    snap.volume = volume
    return snap


class Worker:
    WEIGHTS = [('create', 8), ('clone', 10), ('snapshot', 12),
               ('from_snapshot', 8), ('extend', 20), ('revert', 20),
               ('delete', 7), ('delete_snapshot', 7), ('unmanage', 5)]

    def __init__(self, args):
        self.args = args
        self.share = args.share
        self.rng = random.Random('%s/%s' % (args.seed, args.worker))
        self.drv, self.ctxt = setup(args.url, args.share, args.copy_method,
                                    args.nolock, args.journal, args.worker)
        self.n = 0

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
        record = {'w': self.args.worker, 'n': self.n, 'op': op, 'ok': ok,
                  't0': t0, 't1': time.time(), 'err': err, 'clean': clean,
                  'inner': list(INNER)}
        record.update(fields)
        model.append(self.args.journal, record)
        del INNER[:]
        return record

    def attempt(self, op, func, **fields):
        del INNER[:]
        t0 = time.time()
        try:
            result = func()
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

    def vol(self, vid, size):
        return make_volume(self.ctxt, vid, size, self.share)

    def run_one(self):
        op, vols, snaps = self.choose()
        self.n += 1
        HANG['armed'] = (self.args.hang_at is not None
                         and self.n >= self.args.hang_at and op == 'clone')
        getattr(self, 'op_' + op)(vols, snaps)

    def _new(self, op, make, size, **fields):
        vid = str(uuid.uuid4())
        new = self.vol(vid, size)
        ok, _r = self.attempt(op, lambda: make(new), target=vid, size=size,
                              **fields)
        if not ok:
            self.cleanup('cleanup_delete',
                         lambda: self.drv.delete_volume(new), target=vid)
        return ok, new

    def op_create(self, vols, snaps):
        size = 1
        vid = str(uuid.uuid4())
        new = self.vol(vid, size)
        pattern = 'w%s-n%d-%s' % (self.args.worker, self.n, vid[:8])
        del INNER[:]
        t0 = time.time()
        try:
            new.update(self.drv.create_volume(new))
            event = {'f': 'write', 'name': new.name, 'pattern': pattern,
                     'a': time.time()}
            model.write_pattern(os.path.join(self.share, new.name), pattern)
            event.update(b=time.time(), ok=True)
            INNER.append(event)
        except (cinder_exception.CinderException,
                tooz_coordination.ToozError) as exc:
            self.journal('create', False, t0, err='%s: %s' % (
                type(exc).__name__, exc), target=vid, size=size)
            self.cleanup('cleanup_delete',
                         lambda: self.drv.delete_volume(new), target=vid)
            return
        except Exception as exc:
            self.journal('create', False, t0, err='%s: %s' % (
                type(exc).__name__, exc), clean=False, target=vid,
                size=size)
            self.cleanup('cleanup_delete',
                         lambda: self.drv.delete_volume(new), target=vid)
            return
        self.journal('create', True, t0, target=vid, size=size,
                     pattern=pattern)

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
        snap = make_snapshot(self.ctxt, str(uuid.uuid4()),
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
            snap), target=sid)

    def op_unmanage(self, vols, snaps):
        """Unmanage a volume, then manage its file as a new volume."""
        vid = self.pick(vols)
        old = self.vol(vid, vols[vid])
        ok, _r = self.attempt('unmanage', lambda: self.drv.unmanage(old),
                              target=vid)
        if not ok:
            return
        ref = {'source-name': 'unmanaged-' + old.name}
        new = self.vol(str(uuid.uuid4()), vols[vid])

        def manage():
            new.size = self.drv.manage_existing_get_size(new, ref)
            return self.drv.manage_existing(new, ref)
        self.n += 1
        self.attempt('manage', manage, target=new.id, src=vid,
                     size=vols[vid])


def run(args):
    instrument(args.copy_delay, args.marker)
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


def check(args):
    records = model.read(args.journal)
    temp_before = sorted(n for n in os.listdir(args.share)
                         if fileio.temp_key(n) is not None)
    drv, _ctxt = setup(args.url, args.share)  # sweeps orphans
    stats = drv.get_volume_stats(refresh=True)
    result = model.check(args.share, records, stats)
    result['temp_before_sweep'] = temp_before
    coordination.COORDINATOR.stop()
    print(json.dumps(result, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='race-worker')
    parser.add_argument('action', choices=['run', 'check'])
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
    parser.add_argument('--marker')
    parser.add_argument('--barrier')
    parser.add_argument('--log')
    args = parser.parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.WARNING,
                        format='%(asctime)s %(process)d %(levelname)s '
                               '%(name)s %(message)s')
    run(args) if args.action == 'run' else check(args)


if __name__ == '__main__':
    sys.exit(main())
