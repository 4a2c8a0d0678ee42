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

"""VgStore: volumes and snapshots as logical volumes of one volume group.

The store knows storage, not Cinder: it takes LV names, sizes in bytes and
lock keys, and raises ``cinder_ext.exception`` errors.  Each method runs a
few LVM commands, each built by ``lvmcmd`` and run through ``run`` (the
privileged entry point ``cinder_ext.privileged.lvm.run``), and each failed
command is translated in one place, ``_run``.

Thin LVs (in ``pool``) are the default; thick LVs by ``thin=False``.  The
kind of an existing LV is always read from LVM's report, never assumed.

Multi-step results (clones that are extended or copied, reverts) are made
under a temporary name (``lvmcmd.temp_name(key)``) and renamed into place,
so a crash never leaves a half-made LV under a real name; ``temporaries``
lists what a crash left, with the lock key that guards each.

On a VG shared by several hosts under lvmlockd (``shared``, read from the
VG's lock type by ``check``), activation follows the work: an LV is active
on a host, exclusively (``-aey``), only while that host writes, copies or
exports it, and deactivated afterwards so that its lock is free for the
next host.  An operation on an LV another host holds fails at once with
LvBusy ("locked by other host"), never waits.
"""

import math

from oslo_concurrency import processutils
from oslo_log import log as logging

from cinder_ext import exception
from cinder_ext.storage import lvmactivation
from cinder_ext.storage import lvmcmd
from cinder_ext.storage import lvmdata
from cinder_ext.storage import lvmreport

LOG = logging.getLogger(__name__)

WIPE_METHODS = ('auto', 'zero', 'discard', 'none')


class VgStore(lvmactivation.Activation):
    """LVs of one volume group (and optionally one thin pool in it)."""

    def __init__(self, vg, pool=None, run=None, thin=True, wipe='auto',
                 cow_percent=100, pool_data_limit=90.0,
                 pool_metadata_limit=80.0):
        lvmcmd.check_name(vg, 'VG')
        if pool is not None:
            lvmcmd.check_name(pool)
        if thin and pool is None:
            raise exception.InvalidName(name=pool, reason='thin LVs need '
                                        'a thin pool')
        if wipe not in WIPE_METHODS:
            raise exception.InvalidName(name=wipe, reason='wipe is one of '
                                        '%s' % ', '.join(WIPE_METHODS))
        if run is None:
            from cinder_ext.privileged import lvm as privileged_lvm
            run = privileged_lvm.run
        self.vg = vg
        self.pool = pool
        self.thin = thin
        self.wipe = wipe
        self.cow_percent = cow_percent
        self.pool_data_limit = pool_data_limit
        self.pool_metadata_limit = pool_metadata_limit
        self._run_command = run
        self.shared = False

    def __repr__(self):
        return 'VgStore(%r, pool=%r)' % (self.vg, self.pool)

    def _check(self, name):
        return lvmcmd.check_lv(self.vg, name)

    @property
    def location(self):
        return 'VG %s' % self.vg

    # -- the one place commands run and errors are translated ----------

    def run(self, operation, name, argv):
        LOG.debug('%s', argv)
        try:
            return self._run_command(self.vg, argv)
        except processutils.ProcessExecutionError as exc:
            raise lvmreport.translate(exc, operation, name, self.vg, argv)

    # -- reports --------------------------------------------------------

    def check(self):
        """The VG (and pool) exist: start-up check.  Returns the Vg."""
        try:
            out, _err = self.run('check', self.vg, lvmcmd.vgs(self.vg))
            vgs = lvmreport.parse_vgs(out)
        except exception.NotFound as exc:
            raise exception.VolumeGroupMissing(vg=self.vg, reason=exc)
        if not vgs:
            raise exception.VolumeGroupMissing(vg=self.vg,
                                               reason='vgs reported nothing')
        self.shared = lvmreport.is_shared(vgs[0])
        if self.pool is not None:
            pool = self.lv(self.pool)
            if pool is None or pool.kind != 'pool':
                raise exception.NotFound(name='thin pool %s' % self.pool,
                                         location=self.location)
        return vgs[0]

    def lvs(self):
        """Every LV of the VG (lvmreport.Lv), from one ``lvs`` call."""
        # O(LVs): one report for all, never a command per LV.
        out, _err = self.run('list', self.vg, lvmcmd.lvs(self.vg))
        return lvmreport.parse_lvs(out)

    def lv(self, name):
        """The Lv called ``name``, or None."""
        self._check(name)
        try:
            out, _err = self.run('lookup', name, lvmcmd.lvs(self.vg, name))
        except exception.NotFound:
            return None
        found = [lv for lv in lvmreport.parse_lvs(out) if lv.name == name]
        return found[0] if found else None

    def require(self, name):
        lv = self.lv(name)
        if lv is None:
            raise exception.NotFound(name=name, location=self.location)
        return lv

    def exists(self, name):
        return self.lv(name) is not None

    def stats(self):
        """Capacity of the VG and the pool, from two report calls."""
        vg = self.check_vg_report()
        lvs = self.lvs()
        pool = next((lv for lv in lvs if lv.name == self.pool), None)
        stats = {'vg_size': vg.size, 'vg_free': vg.free, 'lv_count':
                 sum(1 for lv in lvs if lv.kind in ('thin', 'thick')),
                 # virtual sizes: what the volumes could grow to use
                 'provisioned': sum(lv.cow_size or lv.size for lv in lvs
                                    if lv.kind in ('thin', 'thick',
                                                   'cow-snapshot'))}
        if pool is not None:
            used = pool.size * (pool.data_percent or 0.0) / 100
            stats.update(pool_size=pool.size,
                         pool_free=int(pool.size - used),
                         pool_data_percent=pool.data_percent,
                         pool_metadata_percent=pool.metadata_percent)
        return stats

    def check_vg_report(self):
        out, _err = self.run('stats', self.vg, lvmcmd.vgs(self.vg))
        vgs = lvmreport.parse_vgs(out)
        if not vgs:
            raise exception.VolumeGroupMissing(vg=self.vg,
                                               reason='vgs reported nothing')
        return vgs[0]

    def temporaries(self):
        """[(name, key, restore_to)] of what an interrupted operation left.

        restore_to is None for a half-made LV (remove it under the key's
        lock) and a name for an LV a revert moved aside (rename it back
        when that name is free, else remove it).
        """
        found = []
        for lv in self.lvs():
            parsed = lvmcmd.temp_key(lv.name)
            if parsed is not None and lv.kind in ('thin', 'thick',
                                                  'cow-snapshot'):
                found.append((lv.name, parsed[0], parsed[1]))
        return found

    def settle_temporary(self, name, restore_to=None):
        """Clean up one entry of ``temporaries()`` (under its key's lock).

        A half-made LV is removed; an LV a revert moved aside is renamed
        back when its name is free (the revert never happened), else
        removed.  Returns 'removed', 'restored' or 'gone'."""
        parsed = lvmcmd.temp_key(self._check(name))
        if parsed is None or parsed[1] != restore_to:
            raise exception.InvalidName(name=name, reason='not a temporary '
                                        'LV name')
        if restore_to is not None and self.lv(restore_to) is None:
            self.rename(name, restore_to)
            return 'restored'
        return 'removed' if self.delete(name) else 'gone'

    def path(self, name):
        return lvmcmd.device(self.vg, self._check(name))

    # -- the thin pool guard ------------------------------------------

    def check_pool(self, operation, name, pool=None):
        """Refuse new thin LVs while the pool is fuller than the limits."""
        if self.pool is None:
            raise exception.InvalidName(name=name, reason='thin LVs need a '
                                        'thin pool; none is configured')
        pool = pool or self.require(self.pool)
        for what, percent, limit in (
                ('data', pool.data_percent, self.pool_data_limit),
                ('metadata', pool.metadata_percent,
                 self.pool_metadata_limit)):
            if percent is not None and percent >= limit:
                raise exception.PoolTooFull(
                    location='%s/%s' % (self.vg, pool.name), what=what,
                    percent=percent, limit=limit, operation=operation,
                    name=name)

    def _source_and_pool(self, name, operation, target):
        """(source Lv, pool Lv or None) from one report call."""
        self._check(name)
        names = [name] if self.pool is None else [name, self.pool]
        out, _err = self.run(operation, name, lvmcmd.lvs(self.vg, *names))
        found = {lv.name: lv for lv in lvmreport.parse_lvs(out)}
        if name not in found:
            raise exception.NotFound(name=name, location=self.location)
        pool = found.get(self.pool)
        return found[name], pool

    # -- operations -------------------------------------------------------

    def create(self, name, size, thin=None):
        """A new LV of ``size`` bytes; True when it reads all zero.

        Raises AlreadyExists, NoSpace, PoolTooFull, InvalidName."""
        self._check(name)
        thin = self.thin if thin is None else thin
        if thin:
            self.check_pool('create', name)
            # O(1): one metadata commit; reads zero until written.
            self.run('create', name,
                     lvmcmd.create_thin(self.vg, self.pool, name, size))
            return True
        # O(1): extents are allocated, not written; they hold what the
        # previous LV left there, unless its delete wiped them.  Zeroed
        # here too where the device makes that O(1) (offloaded WRITE
        # ZEROES); elsewhere that would cost O(size) on every create.
        self.run('create', name, lvmcmd.create_thick(self.vg, name, size))
        try:
            return lvmdata.zero_if_cheap(self, self.require(name))
        finally:
            self.release(name)   # lvcreate left it active

    def delete(self, name):
        """Remove an LV; False when it was already gone.

        Thin: O(1).  Thick: the wipe first (``lvmdata.wipe``), then O(1).
        Raises LvBusy (open, or a thick origin with snapshots)."""
        lv = self.lv(name)
        if lv is None:
            return False
        if lv.open:
            raise exception.LvBusy(name=name, location=self.location,
                                   operation='deleted', reason='it is open')
        if lv.cow_origin:
            raise exception.LvBusy(name=name, location=self.location,
                                   operation='deleted',
                                   reason='it has snapshots')
        if lv.kind in ('thick', 'cow-snapshot') and self.wipe != 'none':
            with self.active(name) as lv:
                lvmdata.wipe(self, lv)
        try:
            self.run('delete', name, lvmcmd.remove(self.vg, name))
        except exception.NotFound:
            return False
        return True

    def snapshot(self, origin, name):
        """A snapshot ``name`` of ``origin``, of the origin's kind.

        Thin: O(1), left inactive (activation skip) until ``activate``.
        Thick: a COW snapshot reserving cow_percent of the origin."""
        self._check(name)
        source, pool = self._source_and_pool(origin, 'snapshot', name)
        if source.kind == 'thin':
            self.check_pool('snapshot', name, pool)
            argv = lvmcmd.snapshot_thin(self.vg, origin, name)
        elif source.kind == 'thick':
            with self.active(origin):
                self.run('snapshot', name, lvmcmd.snapshot_cow(
                    self.vg, origin, name, self._cow_size(source.size)))
            return
        else:
            raise exception.LvBusy(name=origin, location=self.location,
                                   operation='snapshotted',
                                   reason='it is a %s LV' % source.kind)
        self.run('snapshot', name, argv)

    def _cow_size(self, size):
        # LVM takes sizes in whole 512-byte sectors (and rounds them up to
        # extents itself)
        sectors = math.ceil(size * self.cow_percent / 100.0 / 512)
        return max(1, int(sectors)) * 512

    def clone(self, src, dst, size, key, thin=None):
        """A new volume ``dst`` (``size`` bytes) with ``src``'s data.

        ``src`` is a volume or a snapshot.  Thin source: a thin snapshot,
        active, extended when larger: O(1).  Otherwise a new LV and one
        copy that skips zero blocks where the target reads zero."""
        self._check(dst)
        source, pool = self._source_and_pool(src, 'clone', dst)
        if size < source.size:
            raise exception.InvalidSize(
                name=dst, reason='%d bytes is smaller than its source %s '
                '(%d bytes)' % (size, src, source.size))
        if self.lv(dst) is not None:
            raise exception.AlreadyExists(name=dst, location=self.location)
        if source.kind == 'thin':
            self.check_pool('clone', dst, pool)
            if size == source.size:  # one command: no half-made state
                self.run('clone', dst, lvmcmd.snapshot_thin(
                    self.vg, src, dst, active=True))
                return
            tmp = lvmcmd.temp_name(key)
            self.run('clone', dst, lvmcmd.snapshot_thin(
                self.vg, src, tmp, active=True))
            try:
                self.run('extend', dst, lvmcmd.extend(self.vg, tmp, size))
            except Exception:
                self._discard_temp(tmp)
                raise
        elif source.kind in ('thick', 'cow-snapshot'):
            tmp = self._copy_clone(source, size, key, thin)
        else:
            raise exception.LvBusy(name=src, location=self.location,
                                   operation='cloned',
                                   reason='it is a %s LV' % source.kind)
        self._rename_into_place(tmp, dst)

    def _copy_clone(self, source, size, key, thin):
        thin = self.thin if thin is None else thin
        tmp = lvmcmd.temp_name(key)
        reads_zero = self.create(tmp, size, thin=thin)
        try:
            with self.active(source.name) as source, self.active(tmp):
                snap = None
                if source.open and source.kind == 'thick':
                    # in use: copy a point-in-time view, not a moving target
                    snap = lvmcmd.temp_name(key)
                    self.run('clone', source.name, lvmcmd.snapshot_cow(
                        self.vg, source.name, snap,
                        self._cow_size(source.size)))
                try:
                    lvmdata.copy(self, snap or source.name, tmp, reads_zero)
                finally:
                    if snap is not None:
                        self.run('delete', snap,
                                 lvmcmd.remove(self.vg, snap))
        except Exception:
            self._discard_temp(tmp)
            raise
        return tmp

    def _discard_temp(self, tmp):
        try:
            self.run('delete', tmp, lvmcmd.remove(self.vg, tmp))
        except exception.CinderExtException as exc:
            LOG.warning('Could not remove temporary LV %s: %s', tmp, exc)

    def _rename_into_place(self, tmp, dst):
        try:
            self.run('rename', dst, lvmcmd.rename(self.vg, tmp, dst))
        except Exception:
            self._discard_temp(tmp)
            raise

    def revert(self, volume, snapshot, key):
        """Make ``volume`` hold ``snapshot``'s data again.

        Thin: a thin snapshot of the snapshot swapped in by renames, the
        old LV removed: O(1).  Thick: ``lvconvert --merge`` (O(chunks
        changed)), then the snapshot re-created under its name.  Refused
        (LvBusy) while the volume is open."""
        self._check(snapshot)
        vol = self.require(volume)
        snap = self.require(snapshot)
        if vol.open:
            raise exception.LvBusy(name=volume, location=self.location,
                                   operation='reverted', reason='it is open')
        if snap.origin != volume and snap.kind == 'cow-snapshot':
            raise exception.LvBusy(name=snapshot, location=self.location,
                                   operation='used for a revert',
                                   reason='not a snapshot of %s' % volume)
        if vol.kind == 'thin' and snap.kind == 'thin':
            self._revert_thin(vol, snap, key)
        elif vol.kind == 'thick' and snap.kind == 'cow-snapshot':
            # active: an inactive origin would defer the merge to its
            # next activation, and the snapshot's name stay taken
            with self.active(volume):
                self.run('revert', volume, lvmcmd.merge(self.vg, snapshot))
                self.run('revert', snapshot, lvmcmd.snapshot_cow(
                    self.vg, volume, snapshot, snap.cow_size))
        else:
            raise exception.LvBusy(name=volume, location=self.location,
                                   operation='reverted', reason='%s LV '
                                   'and %s snapshot' % (vol.kind, snap.kind))

    def _revert_thin(self, vol, snap, key):
        aside = self._check(lvmcmd.aside_name(key, vol.name))
        self.check_pool('revert', vol.name)
        tmp = lvmcmd.temp_name(key)
        self.run('revert', vol.name, lvmcmd.snapshot_thin(
            self.vg, snap.name, tmp, active=True))
        try:
            if vol.size > snap.size:
                self.run('revert', vol.name,
                         lvmcmd.extend(self.vg, tmp, vol.size))
            self.run('revert', vol.name,
                     lvmcmd.rename(self.vg, vol.name, aside))
        except Exception:
            self._discard_temp(tmp)
            raise
        # A crash here leaves ``aside`` (to be restored to the volume's
        # name) and ``tmp``: temporaries() reports both.
        try:
            self.run('revert', vol.name,
                     lvmcmd.rename(self.vg, tmp, vol.name))
        except Exception:
            self.run('revert', vol.name,
                     lvmcmd.rename(self.vg, aside, vol.name))
            self._discard_temp(tmp)
            raise
        self._discard_temp(aside)  # the old data; a sweep retries

    def extend(self, name, size):
        """Grow an LV to ``size`` bytes: O(1) (thick: allocates extents)."""
        self._check(name)
        self.run('extend', name, lvmcmd.extend(self.vg, name, size))

    def rename(self, old, new):
        """Rename an LV; never clobbers: AlreadyExists, NotFound."""
        self._check(old)
        self._check(new)
        if self.lv(new) is not None:
            raise exception.AlreadyExists(name=new, location=self.location)
        self.run('rename', old, lvmcmd.rename(self.vg, old, new))
