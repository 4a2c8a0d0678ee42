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

"""Thin LVs on real LVM: every operation with data checks."""

from cinder_ext import exception
from cinder_ext.storage import lvmcmd
from tests.functional.lvm import base

MiB = base.MiB


class ThinTest(base.LvmTestCase):

    def lvs(self):
        return {lv.name: lv for lv in self.store.lvs()}

    def test_create_reads_zero(self):
        name = self.name()
        self.store.create(name, 32 * MiB)
        lv = self.store.lv(name)
        self.assertEqual(('thin', 32 * MiB, 'pool', True),
                         (lv.kind, lv.size, lv.pool, lv.active))
        self.assertEqual('/dev/%s/%s' % (self.vg, name), self.store.path(name))
        self.assert_zero(name, 0, 32)

    def test_snapshot_keeps_data(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 32 * MiB)
        before = self.write(vol, 4, 8)
        self.store.snapshot(vol, snap)
        lv = self.store.lv(snap)
        self.assertEqual(('thin', vol, False, True),
                         (lv.kind, lv.origin, lv.active, lv.skip_activation))
        after = self.write(vol, 4, 8)
        self.assertEqual(self.dev(snap), self.store.activate(snap))
        self.assertEqual(before, self.sha(snap, 4, 8))
        self.assertEqual(after, self.sha(vol, 4, 8))
        self.store.deactivate(snap)
        self.assertFalse(self.store.lv(snap).active)

    def test_clone_same_size_and_larger(self):
        src = self.name()
        self.store.create(src, 32 * MiB)
        data = self.write(src, 0, 16)
        same, larger = self.name(), self.name()
        self.store.clone(src, same, 32 * MiB, self.key)
        self.store.clone(src, larger, 64 * MiB, self.key)
        lvs = self.lvs()
        for name, size in ((same, 32), (larger, 64)):
            self.assertEqual(('thin', size * MiB, True, False),
                             (lvs[name].kind, lvs[name].size,
                              lvs[name].active, lvs[name].skip_activation))
            self.assertEqual(data, self.sha(name, 0, 16))
        self.assert_zero(larger, 16, 48)
        self.write(same, 0, 16)  # independent of the source
        self.assertEqual(data, self.sha(src, 0, 16))
        self.assertEqual([], self.store.temporaries())

    def test_clone_from_snapshot(self):
        vol, snap, new = self.name(), self.name('_snapshot'), self.name()
        self.store.create(vol, 32 * MiB)
        data = self.write(vol, 8, 4)
        self.store.snapshot(vol, snap)
        self.write(vol, 8, 4)
        self.store.clone(snap, new, 40 * MiB, self.key)
        self.assertEqual(data, self.sha(new, 8, 4))
        self.assertEqual(40 * MiB, self.store.lv(new).size)

    def test_revert(self):
        vol, snap, later = (self.name(), self.name('_snapshot'),
                            self.name('_snapshot'))
        self.store.create(vol, 32 * MiB)
        data = self.write(vol, 0, 8)
        self.store.snapshot(vol, snap)
        changed = self.write(vol, 0, 8)
        self.store.snapshot(vol, later)
        self.store.revert(vol, snap, self.key)
        self.assertEqual(data, self.sha(vol, 0, 8))
        lvs = self.lvs()
        self.assertEqual(('thin', 32 * MiB, True, False),
                         (lvs[vol].kind, lvs[vol].size, lvs[vol].active,
                          lvs[vol].skip_activation))
        self.assertIn(snap, lvs)
        self.assertIn(later, lvs)  # other snapshots survive a revert
        self.store.activate(later)
        self.assertEqual(changed, self.sha(later, 0, 8))
        self.store.activate(snap)
        self.assertEqual(data, self.sha(snap, 0, 8))
        self.assertEqual([], self.store.temporaries())
        # and again, from the same snapshot
        self.write(vol, 0, 8)
        self.store.revert(vol, snap, self.key)
        self.assertEqual(data, self.sha(vol, 0, 8))

    def test_revert_interrupted_between_renames(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 16 * MiB)
        self.write(vol, 0, 4)
        self.store.snapshot(vol, snap)
        now = self.write(vol, 0, 4)
        real_run = self.store.run

        class Crash(BaseException):
            """The process dies: no handler of the store runs."""

        def run(operation, name, argv):
            if argv[0] == 'lvrename' and argv[3] == vol:
                raise Crash()
            return real_run(operation, name, argv)
        self.store.run = run
        self.assertRaises(Crash, self.store.revert, vol, snap, self.key)
        self.store.run = real_run
        self.assertIsNone(self.store.lv(vol))  # nothing looks valid
        left = sorted(self.store.temporaries(), key=lambda t: t[2] or '')
        self.assertEqual([(self.key, None), (self.key, vol)],
                         [t[1:] for t in left])
        for name, _key, restore_to in left:
            self.store.settle_temporary(name, restore_to)
        self.assertEqual(now, self.sha(vol, 0, 4))  # as before the revert
        self.assertEqual([], self.store.temporaries())
        self.store.revert(vol, snap, self.key)  # and it can be redone

    def test_revert_refused_while_open(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 32 * MiB)
        self.write(vol, 0, 4)
        self.store.snapshot(vol, snap)
        now = self.write(vol, 0, 4)
        close = self.hold_open(vol)
        exc = self.assertRaises(exception.LvBusy, self.store.revert, vol,
                                snap, self.key)
        self.assertIn('open', str(exc))
        close()
        self.assertEqual(now, self.sha(vol, 0, 4))
        self.assertEqual({vol, snap} - set(self.lvs()), set())
        self.assertEqual([], self.store.temporaries())

    def test_extend(self):
        vol = self.name()
        self.store.create(vol, 32 * MiB)
        data = self.write(vol, 0, 4)
        self.store.extend(vol, 64 * MiB)
        self.assertEqual(64 * MiB, self.store.lv(vol).size)
        self.assertEqual(data, self.sha(vol, 0, 4))

    def test_rename_never_clobbers(self):
        a, b, c = self.name(), self.name(), self.name('unmanaged-volume')
        self.store.create(a, 8 * MiB)
        self.store.create(b, 8 * MiB)
        data = self.write(a, 0, 4)
        self.assertRaises(exception.AlreadyExists, self.store.rename, a, b)
        self.store.rename(a, c)
        self.assertIsNone(self.store.lv(a))
        self.assertEqual(data, self.sha(c, 0, 4))
        self.assertRaises(exception.NotFound, self.store.rename, a, c + 'x')

    def test_delete_is_idempotent(self):
        vol = self.name()
        self.store.create(vol, 8 * MiB)
        self.assertTrue(self.store.delete(vol))
        self.assertIsNone(self.store.lv(vol))
        self.assertFalse(self.store.delete(vol))

    def test_delete_refused_while_open(self):
        vol = self.name()
        self.store.create(vol, 8 * MiB)
        data = self.write(vol, 0, 4)
        close = self.hold_open(vol)
        self.assertRaises(exception.LvBusy, self.store.delete, vol)
        close()
        self.assertEqual(data, self.sha(vol, 0, 4))
        self.assertTrue(self.store.delete(vol))

    def test_listing_and_stats(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 16 * MiB)
        self.write(vol, 0, 8)
        self.store.snapshot(vol, snap)
        lvs = self.lvs()
        self.assertEqual('pool', lvs['pool'].kind)
        self.assertEqual(('thin', vol), (lvs[snap].kind, lvs[snap].origin))
        stats = self.store.stats()
        self.assertEqual(base.POOL_SIZE, stats['pool_size'])
        self.assertGreater(stats['pool_data_percent'], 0)
        self.assertGreater(stats['pool_metadata_percent'], 0)
        self.assertGreaterEqual(stats['provisioned'], 32 * MiB)
        self.assertLess(stats['vg_free'], stats['vg_size'])
        self.assertLess(stats['pool_free'], stats['pool_size'])

    def test_temporaries_found_with_their_key(self):
        tmp = lvmcmd.temp_name(self.key)
        aside = lvmcmd.aside_name(self.key, 'volume-x')
        self.store.create(tmp, 8 * MiB)
        self.store.create(aside, 8 * MiB)
        self.store.create(self.name(), 8 * MiB)
        self.assertEqual(sorted([(tmp, self.key, None),
                                 (aside, self.key, 'volume-x')]),
                         sorted(self.store.temporaries()))

    def test_settle_temporaries(self):
        vol, other = self.name(), self.name()
        tmp = lvmcmd.temp_name(self.key)
        aside = lvmcmd.aside_name(self.key, vol)
        taken = lvmcmd.aside_name(str(base.uuid.uuid4()), other)
        for name in (tmp, aside, taken, other):
            self.store.create(name, 8 * MiB)
        data = self.write(aside, 0, 4)
        # a revert interrupted between its renames: the volume is missing
        self.assertEqual('removed', self.store.settle_temporary(tmp))
        self.assertEqual('restored',
                         self.store.settle_temporary(aside, vol))
        self.assertEqual(data, self.sha(vol, 0, 4))
        self.assertEqual('removed',
                         self.store.settle_temporary(taken, other))
        self.assertEqual([], self.store.temporaries())
        self.assertIn(other, self.lvs())
        self.assertRaises(exception.InvalidName,
                          self.store.settle_temporary, vol)
        self.assertRaises(exception.InvalidName,
                          self.store.settle_temporary, aside, other)

    def test_exclusive_activation(self):
        vol = self.name()
        self.store.create(vol, 8 * MiB)
        self.store.deactivate(vol)
        self.assertFalse(self.store.lv(vol).active)
        self.store.activate(vol, exclusive=True)
        self.assertTrue(self.store.lv(vol).active)


class PoolGuardTest(base.LvmTestCase):

    def make_store(self, **kwargs):
        return super().make_store(pool='small', pool_data_limit=50.0)

    def test_full_pool_refuses_new_lvs(self):
        vol = self.name()
        self.store.create(vol, 64 * MiB)
        self.write(vol, 0, 40)  # 40 of 64 MiB: over the 50% limit
        pool = self.store.lv('small')
        self.assertGreater(pool.data_percent, 50)
        before = {lv.name for lv in self.store.lvs()}
        for call, args in ((self.store.create, (self.name(), 8 * MiB)),
                           (self.store.snapshot, (vol, self.name('_s'))),
                           (self.store.clone, (vol, self.name(), 64 * MiB,
                                               self.key))):
            exc = self.assertRaises(exception.PoolTooFull, call, *args)
            self.assertIsInstance(exc, exception.NoSpace)
            self.assertIn('data', str(exc))
        self.assertEqual(before, {lv.name for lv in self.store.lvs()})
        # the limit is the operator's: a higher one lets them through
        relaxed = self.make_store()
        relaxed.pool_data_limit = 95.0
        relaxed.snapshot(vol, self.name('_snapshot'))

    def test_metadata_limit(self):
        store = super().make_store(pool='small', pool_metadata_limit=0.0)
        self.assertRaises(exception.PoolTooFull, store.create, self.name(),
                          8 * MiB)
