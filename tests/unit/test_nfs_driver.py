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

"""The NFS/POSIX driver against real files, real cinder objects and locks."""

import os
import stat
import struct

from cinder import exception as cinder_exception
from cinder.interface import util as interface_util
from cinder.interface import volume_driver
from cinder.interface import volume_manageable_driver
from cinder.interface import volume_snapshot_revert
from cinder.interface import volume_snapshotmanagement_driver

from cinder_ext import locks
from cinder_ext.storage import fileio
from cinder_ext.volume import lvm
from cinder_ext.volume import nfs
from tests import base

GiB, MiB = base.GiB, base.MiB


def qcow2_header(backing=None):
    """A minimal qcow2 v3 header, optionally naming a backing file."""
    header = bytearray(512)
    header[0:4] = b'QFI\xfb'
    header[4:8] = struct.pack('>I', 3)
    if backing:
        header[8:16] = struct.pack('>Q', 200)
        header[16:20] = struct.pack('>I', len(backing))
        header[200:200 + len(backing)] = backing
    header[24:32] = struct.pack('>Q', GiB)
    return bytes(header)


class ComplianceTest(base.test.TestCase):
    def test_registered_with_cinder(self):
        names = [d.class_fqn for d in interface_util.get_volume_drivers()]
        self.assertIn('cinder_ext.volume.nfs.NfsDriver', names)
        self.assertIn('cinder_ext.volume.lvm.LvmDriver', names)

    def test_interfaces(self):
        for driver_class in (nfs.NfsDriver, lvm.LvmDriver):
            for iface in (volume_driver.VolumeDriverCore,
                          volume_manageable_driver.VolumeListManageableDriver,
                          volume_snapshot_revert.VolumeSnapshotRevertDriver,
                          volume_snapshotmanagement_driver
                          .VolumeSnapshotManagementDriver):
                self.assertTrue(issubclass(driver_class, iface),
                                (driver_class, iface))


class VolumeLifecycleTest(base.DriverTestCase):

    def test_create_is_sparse_and_private(self):
        vol = self.created_volume(size=2)
        st = os.stat(self.path(vol.name))
        self.assertEqual(2 * GiB, st.st_size)
        self.assertEqual(0, st.st_blocks)
        self.assertEqual(0, st.st_mode & stat.S_IRWXO)
        self.assertEqual(self.share, vol.provider_location)

    def test_create_thick_allocates(self):
        self.driver = self.make_driver(cinder_ext_sparse_volumes=False)
        vol = self.created_volume(size=1)
        self.assertGreaterEqual(os.stat(self.path(vol.name)).st_blocks * 512,
                                GiB)

    def test_delete_is_idempotent(self):
        vol = self.created_volume()
        self.driver.delete_volume(vol)
        self.assertFalse(os.path.exists(self.path(vol.name)))
        self.driver.delete_volume(vol)

    def test_extend_keeps_data_and_sparseness(self):
        vol = self.created_volume()
        blocks = base.write_pattern(self.path(vol.name), [0, GiB - MiB])
        before = base.sha256_of(self.path(vol.name))
        self.driver.extend_volume(vol, 3)
        st = os.stat(self.path(vol.name))
        self.assertEqual(3 * GiB, st.st_size)
        self.assertLessEqual(st.st_blocks * 512, 4 * MiB)
        self.assertEqual(before, base.sha256_of(self.path(vol.name), GiB))
        self.assertEqual(2, len(blocks))

    def test_snapshot_clone_and_volume_from_snapshot_copy_data(self):
        vol = self.created_volume(size=1)
        base.write_pattern(self.path(vol.name), [0, 300 * MiB, GiB - MiB])
        digest = base.sha256_of(self.path(vol.name))
        snap = self.created_snapshot(vol)
        self.assertEqual(digest, base.sha256_of(self.path(snap.name)))
        # The volume changes after the snapshot; the snapshot must not.
        base.write_pattern(self.path(vol.name), [0], seed=b'later')

        clone = self.volume(size=2)
        clone.update(self.driver.create_cloned_volume(clone, vol))
        self.assertEqual(base.sha256_of(self.path(vol.name)),
                         base.sha256_of(self.path(clone.name), GiB))
        self.assertEqual(2 * GiB, os.path.getsize(self.path(clone.name)))

        restored = self.volume(size=3)
        restored.update(self.driver.create_volume_from_snapshot(restored,
                                                                snap))
        self.assertEqual(digest,
                         base.sha256_of(self.path(restored.name), GiB))
        self.assertEqual(3 * GiB, os.path.getsize(self.path(restored.name)))
        # Only allocated data was copied: O(allocated), holes stay holes.
        self.assertLessEqual(
            os.stat(self.path(restored.name)).st_blocks * 512, 8 * MiB)
        self.assertEqual(digest, base.sha256_of(self.path(snap.name)))

    def test_revert_replaces_volume_atomically(self):
        vol = self.created_volume()
        base.write_pattern(self.path(vol.name), [0, 5 * MiB])
        snap = self.created_snapshot(vol)
        digest = base.sha256_of(self.path(snap.name))
        base.write_pattern(self.path(vol.name), [0, 7 * MiB], seed=b'new')
        self.assertNotEqual(digest, base.sha256_of(self.path(vol.name)))
        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        self.assertEqual(digest, base.sha256_of(self.path(vol.name)))
        self.assertEqual([], [n for n in os.listdir(self.share)
                              if n.startswith('.')])

    def test_delete_snapshot(self):
        vol = self.created_volume()
        snap = self.created_snapshot(vol)
        self.driver.delete_snapshot(snap)
        self.assertFalse(os.path.exists(self.path(snap.name)))
        self.assertTrue(os.path.exists(self.path(vol.name)))
        self.driver.delete_snapshot(snap)

    def test_snapshot_of_attached_volume_needs_reflink(self):
        # whatever /tmp's filesystem can do, this share copies
        self.driver = self.make_driver(cinder_ext_copy_method='copy')
        vol = self.created_volume()
        vol.status = 'in-use'
        vol.save()
        snap = self.snapshot(vol)
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.create_snapshot, snap)
        self.assertFalse(os.path.exists(self.path(snap.name)))

    def test_connection_info(self):
        vol = self.created_volume()
        info = self.driver.initialize_connection(vol, {})
        self.assertEqual('gpfs', info['driver_volume_type'])
        self.assertEqual(self.path(vol.name), info['data']['device_path'])
        self.assertEqual('raw', info['data']['format'])

    def test_stats(self):
        self.created_volume(size=3)
        stats = self.driver.get_volume_stats(refresh=True)
        self.assertEqual('cinder-ext', stats['vendor_name'])
        self.assertEqual('NFS', stats['storage_protocol'])
        self.assertEqual(base.BACKEND, stats['volume_backend_name'])
        self.assertEqual(3.0, stats['provisioned_capacity_gb'])
        self.assertTrue(stats['thin_provisioning_support'])
        self.assertGreater(stats['total_capacity_gb'], 0)
        st = os.statvfs(self.share)
        self.assertAlmostEqual(st.f_bavail * st.f_frsize / GiB,
                               stats['free_capacity_gb'], delta=1)


class LockTest(base.DriverTestCase):
    """Each operation waits for the tooz locks of what it touches."""

    def test_create_waits_for_volume_lock(self):
        vol = self.volume()
        self.assert_blocked_by(locks.for_key(vol.id),
                               self.driver.create_volume, vol)

    def test_extend_waits_for_volume_lock(self):
        vol = self.created_volume()
        self.assert_blocked_by(locks.for_key(vol.id),
                               self.driver.extend_volume, vol, 2)

    def test_clone_waits_for_source_lock(self):
        src = self.created_volume()
        self.assert_blocked_by(locks.for_key(src.id),
                               self.driver.create_cloned_volume,
                               self.volume(), src)

    def test_clone_copies_without_holding_source_lock(self):
        """The source's lock covers only pinning the source (O(1)): a
        snapshot or another clone of it need not wait for the copy."""
        from cinder import coordination
        src = self.created_volume()
        base.write_pattern(self.path(src.name), [0])
        seen = []
        copy = fileio.clone

        def observing_clone(*args, **kwargs):
            lock = coordination.COORDINATOR.get_lock(locks.for_key(src.id))
            seen.append(lock.acquire(blocking=False))
            if seen[-1]:
                lock.release()
            # The source may even vanish now: the pin keeps its data.
            os.unlink(self.path(src.name))
            return copy(*args, **kwargs)
        self.patch('cinder_ext.storage.fileio.clone', observing_clone)
        clone = self.volume()
        self.driver.create_cloned_volume(clone, src)
        self.assertEqual([True], seen)
        with open(self.path(clone.name), 'rb') as f:
            self.assertNotEqual(bytes(16), f.read(16))
        self.assertEqual([clone.name], os.listdir(self.share))

    def test_volume_from_snapshot_waits_for_snapshot_lock(self):
        snap = self.created_snapshot(self.created_volume())
        self.assert_blocked_by(locks.for_key(snap.id),
                               self.driver.create_volume_from_snapshot,
                               self.volume(), snap)

    def test_snapshot_waits_for_source_volume_lock(self):
        vol = self.created_volume()
        self.assert_blocked_by(locks.for_key(vol.id),
                               self.driver.create_snapshot,
                               self.snapshot(vol))

    def test_share_selection_waits_for_share_lock(self):
        self.assert_blocked_by(locks.for_share(self.share),
                               self.driver.create_volume, self.volume())

    def test_sweep_removes_orphans_only(self):
        orphan = fileio.temp_name('11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa')
        busy = fileio.temp_name('22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb')
        for name in (orphan, busy):
            open(self.path(name), 'w').close()
        from cinder import coordination
        lock = coordination.COORDINATOR.get_lock(
            locks.for_key('22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb'))
        lock.acquire()
        try:
            self.driver.check_for_setup_error()
        finally:
            lock.release()
        self.assertFalse(os.path.exists(self.path(orphan)))
        self.assertTrue(os.path.exists(self.path(busy)))


class UnfinishedCreateTest(base.DriverTestCase):
    """A service killed in a create leaves the object without a share and
    a half-made file keyed by its id; Cinder's cleanup sets the object to
    error, and its delete must take the file away."""

    def half_made(self, key):
        name = fileio.temp_name(key)
        open(self.path(name), 'w').close()
        return name

    def test_delete_volume_removes_its_half_made_files(self):
        vol = self.volume()
        own, pin = self.half_made(vol.id), self.half_made(vol.id)
        other = self.half_made('33333333-cccc-4ccc-8ccc-cccccccccccc')
        self.driver.delete_volume(vol)
        self.assertFalse(os.path.exists(self.path(own)))
        self.assertFalse(os.path.exists(self.path(pin)))
        self.assertTrue(os.path.exists(self.path(other)))

    def test_delete_snapshot_removes_its_half_made_file(self):
        vol = self.created_volume()
        snap = self.snapshot(vol)
        own = self.half_made(snap.id)
        of_volume = self.half_made(vol.id)
        self.driver.delete_snapshot(snap)
        self.assertFalse(os.path.exists(self.path(own)))
        self.assertTrue(os.path.exists(self.path(of_volume)))
        self.assertTrue(os.path.exists(self.path(vol.name)))

    def test_delete_removes_a_file_put_in_place_by_a_killed_create(self):
        """Killed after the rename into place, before Cinder recorded the
        share: the file carries the volume's own name."""
        vol = self.volume()
        placed = self.created_volume()
        os.rename(self.path(placed.name), self.path(vol.name))
        other = self.created_volume()
        self.driver.delete_volume(vol)
        self.assertFalse(os.path.exists(self.path(vol.name)))
        self.assertTrue(os.path.exists(self.path(other.name)))

    def test_revert_never_brings_back_a_deleted_volume(self):
        vol = self.created_volume()
        snap = self.created_snapshot(vol)
        self.driver.delete_volume(vol)
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.revert_to_snapshot, self.ctxt, vol,
                          snap)
        self.assertFalse(os.path.exists(self.path(vol.name)))
        self.assertEqual([], self.driver.shares.stores()[0][0].temp_files())


class CapacityTest(base.DriverTestCase):

    def test_oversubscription_is_refused(self):
        total = os.statvfs(self.share)
        total_gb = total.f_blocks * total.f_frsize // GiB
        self.driver = self.make_driver(max_over_subscription_ratio='1.0')
        vol = self.volume(size=total_gb + 1)
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.create_volume, vol)
        self.assertFalse(os.path.exists(self.path(vol.name)))


class ProbeTest(base.DriverTestCase):

    def test_start_up_sweep_leaves_other_services_probes(self):
        """A service starting beside another must not remove the other's
        scratch files (it would fail that service's start-up)."""
        probe = fileio.PROBE_PREFIX + 'abc'
        open(self.path(probe), 'w').close()
        self.driver.check_for_setup_error()
        self.assertTrue(os.path.exists(self.path(probe)))
        self.assertTrue(fileio.write_probe(self.share))
        fileio.supports_reflink(self.share)  # either answer: /tmp's own
        self.assertEqual([probe], os.listdir(self.share))
