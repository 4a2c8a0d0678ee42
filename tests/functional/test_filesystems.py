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

"""The driver on a real filesystem: XFS with reflink, btrfs, ext4.

The share is picked by environment variables, as tooz's functional tests
pick their backend: CINDER_EXT_TEST_SHARE is a mounted, empty directory
and CINDER_EXT_TEST_FS names its filesystem (xfs, btrfs or ext4).
``tools/testfs`` makes and mounts them on loop devices.
"""

import os

from cinder import exception as cinder_exception
from cinder.tests.unit import utils as cinder_utils

from cinder_ext import exception
from cinder_ext.storage import extents
from cinder_ext.storage import fileio
from tests import base

GiB, MiB = base.GiB, base.MiB
SHARE = os.environ.get('CINDER_EXT_TEST_SHARE')
FS = os.environ.get('CINDER_EXT_TEST_FS')
REFLINK = FS in ('xfs', 'btrfs')


def shared_bytes(path):
    with open(path, 'rb') as f:
        return sum(length for _o, length, flags in extents.extents(f.fileno())
                   if flags & extents.FIEMAP_EXTENT_SHARED)


class FilesystemTest(base.DriverTestCase):
    share_dir = SHARE

    def setUp(self):
        if not SHARE or os.geteuid() != 0:
            self.skipTest('needs root and CINDER_EXT_TEST_SHARE '
                          '(run tools/run-tests)')
        super().setUp()
        self.addCleanup(self.empty_share)

    def empty_share(self):
        base.empty_dir(SHARE)

    def used(self):
        os.sync()
        st = os.statvfs(SHARE)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def volume_with_data(self, size=2, chunks=16):
        vol = self.created_volume(size=size)
        offsets = [i * (size * GiB // chunks) for i in range(chunks)]
        base.write_pattern(self.path(vol.name), offsets, length=MiB)
        os.sync()
        return vol, base.sha256_of(self.path(vol.name))

    def test_reflink_detected_as_expected(self):
        store = self.driver.shares.store(SHARE)
        self.assertEqual(REFLINK, store.reflink)
        self.assertEqual(REFLINK,
                         self.driver.get_volume_stats(True)['reflink_support'])

    def test_sparse_and_thick_create(self):
        thin = self.created_volume(size=2)
        self.assertEqual(0, os.stat(self.path(thin.name)).st_blocks)
        self.driver = self.make_driver(shares=[SHARE],
                                       cinder_ext_sparse_volumes=False)
        thick = self.created_volume(size=1)
        self.assertGreaterEqual(
            os.stat(self.path(thick.name)).st_blocks * 512, GiB)

    def test_every_copy_path_keeps_data(self):
        vol, digest = self.volume_with_data(size=1)
        snap = self.created_snapshot(vol)
        clone = self.volume(size=2)
        clone.update(self.driver.create_cloned_volume(clone, vol))
        restored = self.volume(size=1)
        restored.update(self.driver.create_volume_from_snapshot(restored,
                                                                snap))
        for name in (snap.name, clone.name, restored.name):
            self.assertEqual(digest, base.sha256_of(self.path(name), GiB),
                             name)
        self.assertEqual(2 * GiB, os.path.getsize(self.path(clone.name)))

        base.write_pattern(self.path(vol.name), [0, GiB // 2],
                           seed=b'changed')
        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        self.assertEqual(digest, base.sha256_of(self.path(vol.name)))
        self.driver.extend_volume(vol, 2)
        self.assertEqual(digest, base.sha256_of(self.path(vol.name), GiB))

    def test_copies_share_extents_or_copy_only_allocated(self):
        vol, _digest = self.volume_with_data(size=4, chunks=32)
        before = self.used()
        snap = self.created_snapshot(vol)
        clone = self.volume(size=4)
        self.driver.create_cloned_volume(clone, vol)
        grown = self.used() - before
        allocated = os.stat(self.path(snap.name)).st_blocks * 512
        if REFLINK:
            self.assertEqual(32 * MiB, shared_bytes(self.path(snap.name)))
            self.assertEqual(32 * MiB, shared_bytes(self.path(clone.name)))
            self.assertLess(grown, 8 * MiB)
        else:
            self.assertEqual(0, shared_bytes(self.path(snap.name)))
            # O(allocated): 32 MiB of data, not the 4 GiB size
            self.assertLess(allocated, 40 * MiB)
            self.assertLess(grown, 2 * 40 * MiB)

    def test_enospc_on_clone_leaves_nothing_and_source_intact(self):
        vol, digest = self.volume_with_data(size=1)
        st = os.statvfs(SHARE)
        too_big = st.f_bavail * st.f_frsize // GiB + 2
        clone = self.volume(size=too_big,
                            volume_type_id=self.thick_type().id)
        before = sorted(os.listdir(SHARE))
        err = self.assertRaises(
            cinder_exception.VolumeBackendAPIException,
            self.driver.create_cloned_volume, clone, vol)
        self.assertIn('No space left', str(err))
        self.assertEqual(before, sorted(os.listdir(SHARE)))
        self.assertEqual(digest, base.sha256_of(self.path(vol.name)))

    def test_enospc_on_snapshot_copy(self):
        if REFLINK:
            self.skipTest('a reflinked snapshot allocates no data')
        st = os.statvfs(SHARE)
        free = st.f_bavail * st.f_frsize
        vol = self.created_volume(size=2)
        # Fill more than half of the free space so the copy cannot fit.
        data = min(free // 2 + 64 * MiB, 2 * GiB - MiB)
        base.write_pattern(self.path(vol.name),
                           range(0, data - data % MiB, MiB), length=MiB)
        os.sync()
        digest = base.sha256_of(self.path(vol.name))
        before = sorted(os.listdir(SHARE))
        snap = self.snapshot(vol)
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.create_snapshot, snap)
        self.assertEqual(before, sorted(os.listdir(SHARE)))
        self.assertEqual(digest, base.sha256_of(self.path(vol.name)))

    def thick_type(self):
        return cinder_utils.create_volume_type(
            self.ctxt, self, name='thick',
            extra_specs={'provisioning:type': 'thick'})

    def test_manage_and_unmanage_round_trip(self):
        vol, digest = self.volume_with_data(size=1)
        self.driver.unmanage(vol)
        again = self.volume(size=1)
        self.driver.manage_existing(again,
                                    {'source-name': 'unmanaged-' + vol.name})
        self.assertEqual(digest, base.sha256_of(self.path(again.name)))

    def test_thick_create_beyond_free_space_is_refused(self):
        st = os.statvfs(SHARE)
        vol = self.volume(size=st.f_bavail * st.f_frsize // GiB + 1,
                          volume_type_id=self.thick_type().id)
        err = self.assertRaises(cinder_exception.VolumeBackendAPIException,
                                self.driver.create_volume, vol)
        self.assertIn('No share has room', str(err))
        self.assertEqual([], os.listdir(SHARE))

    def test_copy_of_thick_volume_skips_unwritten_extents(self):
        """Preallocated space reads as zeroes and is not copied, even once
        its pages are cached (where ext4's SEEK_DATA calls it data)."""
        self.driver = self.make_driver(shares=[SHARE],
                                       cinder_ext_sparse_volumes=False,
                                       cinder_ext_copy_method='copy')
        vol = self.created_volume(size=1)
        base.write_pattern(self.path(vol.name), [64 * MiB], length=8 * MiB)
        digest = base.sha256_of(self.path(vol.name))  # caches every page
        self.driver = self.make_driver(shares=[SHARE],
                                       cinder_ext_copy_method='copy')
        clone = self.volume(size=1)
        self.driver.create_cloned_volume(clone, vol)
        self.assertEqual(digest, base.sha256_of(self.path(clone.name)))
        self.assertLess(os.stat(self.path(clone.name)).st_blocks * 512,
                        16 * MiB)

    def test_enospc_in_fallocate_removes_the_partial_file(self):
        """The store itself, past the driver's room check (a concurrent
        writer may fill the share in between)."""
        st = os.statvfs(SHARE)
        # btrfs's free-space figure is an estimate: exceed the whole size.
        too_big = 2 * st.f_blocks * st.f_frsize
        self.assertRaises(exception.NoSpace, fileio.create, SHARE,
                          'volume-big', too_big, True, 'key')
        self.assertEqual([], os.listdir(SHARE))
