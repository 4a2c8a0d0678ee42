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

"""Thick LVs on real LVM: wipes, COW snapshots, zero-skipping clones,
merge reverts, with data checks."""

from cinder_ext import exception
from cinder_ext.storage import lvmdata
from tests.functional.lvm import base

MiB = base.MiB


class ThickTest(base.LvmTestCase):

    def make_store(self, **kwargs):
        kwargs.setdefault('thin', False)
        return super().make_store(**kwargs)

    def dirty_then_free(self, size_mib, wipe='none'):
        """Leave old data on free extents: write, delete (by ``wipe``)."""
        store = self.make_store(wipe=wipe)
        old = self.name()
        store.create(old, size_mib * MiB)
        sh = self.write(old, 0, size_mib)
        self.assertTrue(store.delete(old))
        return sh

    def test_create_is_thick(self):
        vol = self.name()
        self.store.create(vol, 16 * MiB)
        lv = self.store.lv(vol)
        self.assertEqual(('thick', 16 * MiB, None), (lv.kind, lv.size,
                                                     lv.pool))

    def extents(self, name):
        """(disk, offset, length in MiB) of a one-segment LV on its PV."""
        out = base.sh(self.guest, 'lvs --noheadings --units b --nosuffix '
                      '-o seg_pe_ranges,vg_extent_size %s/%s; pvs '
                      '--noheadings --units b --nosuffix -o pe_start %s'
                      % (self.vg, name, base._state['disk'])).split()
        ranges, extent, pe_start = out[0], int(out[1]), int(out[2])
        disk, _, span = ranges.partition(':')
        first, _, last = span.partition('-')
        offset = pe_start + int(first) * extent
        return disk, offset, (int(last) - int(first) + 1) * extent // MiB

    def raw_sha(self, disk, offset, count_mib):
        return base.sh(self.guest, 'dd if=%s bs=1M iflag=direct,skip_bytes '
                       'skip=%d count=%d status=none | sha256sum'
                       % (disk, offset, count_mib)).split()[0]

    def test_wipe_methods(self):
        # the freed extents themselves, read on the PV after the delete
        for wipe, zeroed in (('none', False), ('zero', True),
                             ('auto', True), ('discard', None)):
            store = self.make_store(wipe=wipe)
            vol = self.name()
            store.create(vol, 8 * MiB)
            data = self.write(vol, 0, 8)
            disk, offset, count = self.extents(vol)
            self.assertEqual(8, count)
            self.assertEqual(data, self.raw_sha(disk, offset, 8))
            self.assertTrue(store.delete(vol))
            after = self.raw_sha(disk, offset, 8)
            if zeroed:
                self.assertEqual(self.zero_sha(8), after, wipe)
            elif zeroed is False:
                self.assertEqual(data, after, wipe)

    def test_new_thick_lv_reads_zero_over_old_data(self):
        # the guest's virtio disks offload WRITE ZEROES: create zeroes
        old = self.dirty_then_free(16)
        vol = self.name()
        self.assertTrue(self.store.create(vol, 16 * MiB))
        self.assert_zero(vol, 0, 16)
        self.assertNotEqual(old, self.zero_sha(16))

    def test_cow_snapshot(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 16 * MiB)
        before = self.write(vol, 0, 8)
        store = self.make_store(cow_percent=50)
        store.snapshot(vol, snap)
        lv = self.store.lv(snap)
        self.assertEqual(('cow-snapshot', vol, 16 * MiB, 8 * MiB),
                         (lv.kind, lv.origin, lv.size, lv.cow_size))
        self.assertTrue(self.store.lv(vol).cow_origin)
        after = self.write(vol, 0, 4)
        self.assertEqual(before, self.sha(snap, 0, 8))
        self.assertNotEqual(after, self.sha(snap, 0, 4))
        # an origin with snapshots is not deleted under them
        self.assertRaises(exception.LvBusy, self.store.delete, vol)
        self.assertTrue(self.store.delete(snap))
        self.assertTrue(self.store.delete(vol))

    def test_clone_skips_zeroes_yet_reads_zero_over_old_data(self):
        self.dirty_then_free(64)  # the clone's extents hold old data
        src, dst = self.name(), self.name()
        self.store.create(src, 16 * MiB)
        head = self.write(src, 0, 2)
        tail = self.write(src, 12, 2)
        self.store.clone(src, dst, 32 * MiB, self.key)
        lv = self.store.lv(dst)
        self.assertEqual(('thick', 32 * MiB), (lv.kind, lv.size))
        self.assertEqual(head, self.sha(dst, 0, 2))
        self.assert_zero(dst, 2, 10)
        self.assertEqual(tail, self.sha(dst, 12, 2))
        self.assert_zero(dst, 14, 18)
        self.assertEqual([], self.store.temporaries())

    def test_clone_without_zeroing_offload_writes_every_block(self):
        # a device without offloaded WRITE ZEROES: neither create nor
        # clone zero the target, so the copy may not skip zero blocks
        self.patch(lvmdata, 'queue_limit', lambda store, lv, limit: 0)
        self.dirty_then_free(64, wipe='none')
        src, dst = self.name(), self.name()
        self.assertFalse(self.store.create(src, 16 * MiB))
        base.sh(self.guest, 'blkdiscard -z %s' % self.dev(src))
        head = self.write(src, 0, 2)
        self.store.clone(src, dst, 16 * MiB, self.key)
        self.assertEqual(head, self.sha(dst, 0, 2))
        self.assert_zero(dst, 2, 14)

    def test_clone_from_cow_snapshot_and_of_open_volume(self):
        vol, snap, a, b = (self.name(), self.name('_snapshot'), self.name(),
                           self.name())
        self.store.create(vol, 16 * MiB)
        data = self.write(vol, 0, 16)
        self.store.snapshot(vol, snap)
        self.write(vol, 0, 8)
        self.store.clone(snap, a, 16 * MiB, self.key)
        self.assertEqual(data, self.sha(a))
        # an open source is copied from a temporary snapshot
        now = self.sha(vol)
        self.hold_open(vol)
        self.store.clone(vol, b, 16 * MiB, self.key)
        self.assertEqual(now, self.sha(b))
        self.assertEqual([], self.store.temporaries())

    def test_thin_clone_of_thick_source(self):
        src, dst = self.name(), self.name()
        self.store.create(src, 16 * MiB)
        data = self.write(src, 4, 4)
        self.store.clone(src, dst, 16 * MiB, self.key, thin=True)
        lv = self.store.lv(dst)
        self.assertEqual('thin', lv.kind)
        self.assertEqual(data, self.sha(dst, 4, 4))
        self.assert_zero(dst, 0, 4)
        # only the data was written to the pool
        self.assertLessEqual(lv.data_percent, 60.0)

    def test_revert_by_merge(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 16 * MiB)
        data = self.write(vol, 0, 8)
        self.store.snapshot(vol, snap)
        self.write(vol, 0, 8)
        self.store.revert(vol, snap, self.key)
        self.assertEqual(data, self.sha(vol, 0, 8))
        lv = self.store.lv(snap)  # re-created under its name
        self.assertEqual(('cow-snapshot', vol), (lv.kind, lv.origin))
        self.write(vol, 0, 8)
        self.assertEqual(data, self.sha(snap, 0, 8))

    def test_revert_refused_while_open(self):
        vol, snap = self.name(), self.name('_snapshot')
        self.store.create(vol, 16 * MiB)
        self.write(vol, 0, 4)
        self.store.snapshot(vol, snap)
        now = self.write(vol, 0, 4)
        close = self.hold_open(vol)
        self.assertRaises(exception.LvBusy, self.store.revert, vol, snap,
                          self.key)
        close()
        self.assertEqual(now, self.sha(vol, 0, 4))
        self.assertEqual('cow-snapshot', self.store.lv(snap).kind)

    def test_extend_and_out_of_space(self):
        vol = self.name()
        self.store.create(vol, 16 * MiB)
        data = self.write(vol, 0, 4)
        self.store.extend(vol, 32 * MiB)
        self.assertEqual(32 * MiB, self.store.lv(vol).size)
        self.assertEqual(data, self.sha(vol, 0, 4))
        huge = 64 * 1024 * MiB
        self.assertRaises(exception.NoSpace, self.store.extend, vol, huge)
        self.assertRaises(exception.NoSpace, self.store.create, self.name(),
                          huge)
        self.assertEqual(32 * MiB, self.store.lv(vol).size)
