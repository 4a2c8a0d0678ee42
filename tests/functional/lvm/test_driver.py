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

"""The LVM driver through Cinder's objects, on real LVM in the test guest.

The driver runs here with cinder's own test base (a real database, real
volume and snapshot objects, real tooz file locks); its commands run in
the guest, where the data is written and checked.
"""

import uuid

from cinder import context
from cinder import exception as cinder_exception
from cinder.tests.unit import test
from cinder.tests.unit import utils as cinder_utils

from cinder_ext.storage import lvmcmd
from cinder_ext.volume import lvm
from tests.functional.lvm import base
from tests.functional.lvm import driver_setup

GiB, MiB = 1024 ** 3, base.MiB
BACKEND = base.BACKEND


class LvmDriverTestCase(test.TestCase):
    MOCK_TOOZ = False
    lvm_type = 'thin'

    def setUp(self):
        super().setUp()
        self.guest, self.vg = base.guest()
        driver_setup.use_guest(self, self.guest, self.vg, BACKEND)
        self.ctxt = context.get_admin_context()
        self.driver = self.make_driver()
        self.addCleanup(self.remove_test_lvs)

    def make_driver(self, cluster_name=None, **overrides):
        settings = {'cinder_ext_volume_group': self.vg,
                    'cinder_ext_thin_pool': 'pool',
                    'cinder_ext_lvm_type': self.lvm_type,
                    'cinder_ext_volume_clear': 'auto',
                    'target_helper': 'fake'}
        settings.update(overrides)
        return driver_setup.make_driver(self, BACKEND, settings,
                                        cluster_name=cluster_name)

    def remove_test_lvs(self):
        for _ in range(3):
            rows = [line.split() for line in base.sh(
                self.guest, 'lvs --noheadings -o lv_name,lv_attr %s'
                % self.vg).splitlines() if line.strip()]
            victims = [n for n, attr in rows if n not in ('pool', 'small')
                       and not attr.startswith('o')]
            if not victims:
                return
            self.guest.run(['lvremove', '-f', '-y'] +
                           ['%s/%s' % (self.vg, n) for n in victims])

    # -- Cinder objects ---------------------------------------------------

    def volume(self, size=1, **kwargs):
        kwargs.setdefault('volume_type_id', None)
        return cinder_utils.create_volume(self.ctxt, size=size,
                                          testcase_instance=self, **kwargs)

    def created(self, vol, update):
        vol.update(update or {})
        vol.save()
        return vol

    def created_volume(self, size=1):
        vol = self.volume(size)
        return self.created(vol, self.driver.create_volume(vol))

    def created_snapshot(self, vol):
        snap = cinder_utils.create_snapshot(self.ctxt, vol.id,
                                            testcase_instance=self)
        snap.volume_size = vol.size
        snap.update(self.driver.create_snapshot(snap))
        snap.save()
        return snap

    # -- data in the guest ------------------------------------------------

    def dev(self, name):
        return '/dev/%s/%s' % (self.vg, lvm.LvmDriver._storage_name(name))

    def write(self, name, offset_mib, count_mib):
        self.driver.store.activate(lvm.LvmDriver._storage_name(name))
        # a private pattern file: other test processes share the guest
        return base.sh(self.guest, 'p=$(mktemp) && dd if=/dev/urandom '
                       'bs=1M count=%d status=none | tee $p | dd of=%s '
                       'bs=1M seek=%d oflag=direct conv=notrunc status=none '
                       '&& sha256sum < $p && rm -f $p' % (
                           count_mib, self.dev(name), offset_mib)).split()[0]

    def sha(self, name, offset_mib, count_mib):
        self.driver.store.activate(lvm.LvmDriver._storage_name(name))
        return base.sh(self.guest, 'dd if=%s bs=1M skip=%d count=%d '
                       'iflag=direct status=none | sha256sum' % (
                           self.dev(name), offset_mib, count_mib)).split()[0]

    def lv(self, name):
        """The LV of a Cinder name (snapshots' names are escaped)."""
        return self.driver.store.lv(lvm.LvmDriver._storage_name(name))


class ThinDriverTest(LvmDriverTestCase):

    def test_volume_life_with_data(self):
        vol = self.created_volume()
        self.assertEqual(self.vg, vol.provider_id)
        self.assertEqual(('thin', GiB), (self.lv(vol.name).kind,
                                         self.lv(vol.name).size))
        first = self.write(vol.name, 0, 4)
        snap = self.created_snapshot(vol)
        self.assertEqual(self.vg, snap.provider_id)
        second = self.write(vol.name, 0, 4)

        from_snap = self.volume(size=2)
        self.created(from_snap, self.driver.create_volume_from_snapshot(
            from_snap, snap))
        self.assertEqual(2 * GiB, self.lv(from_snap.name).size)
        self.assertEqual(first, self.sha(from_snap.name, 0, 4))

        clone = self.volume()
        self.created(clone, self.driver.create_cloned_volume(clone, vol))
        self.assertEqual(second, self.sha(clone.name, 0, 4))

        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        self.assertEqual(first, self.sha(vol.name, 0, 4))
        self.assertEqual([], self.driver.store.temporaries())

        self.driver.extend_volume(vol, 3)
        self.assertEqual(3 * GiB, self.lv(vol.name).size)
        self.assertEqual(first, self.sha(vol.name, 0, 4))

        self.driver.delete_snapshot(snap)
        self.assertIsNone(self.lv(snap.name))
        for v in (vol, clone, from_snap):
            self.driver.delete_volume(v)
            self.assertIsNone(self.lv(v.name))
        self.driver.delete_volume(vol)   # idempotent

    def test_revert_refused_while_open(self):
        vol = self.created_volume()
        snap = self.created_snapshot(vol)
        pid = base.sh(self.guest, 'sleep 60 < %s >/dev/null 2>&1 & echo $!'
                      % self.dev(vol.name)).strip()
        self.addCleanup(self.guest.run, ['kill', pid])
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.revert_to_snapshot, self.ctxt, vol,
                          snap)
        self.assertEqual('thin', self.lv(vol.name).kind)

    def test_unmanage_and_manage_rename(self):
        vol = self.created_volume()
        data = self.write(vol.name, 1, 2)
        snap = self.created_snapshot(vol)
        self.driver.unmanage_snapshot(snap)
        self.driver.unmanage(vol)
        self.assertIsNone(self.lv(vol.name))
        self.assertIsNotNone(self.lv('unmanaged-' + vol.name))

        listing = self.driver.get_manageable_volumes([], None, 1000, 0,
                                                     ['size'], ['asc'])
        entry = [e for e in listing if e['reference']['source-name'] ==
                 'unmanaged-' + vol.name][0]
        self.assertTrue(entry['safe_to_manage'], entry)
        self.assertEqual(1, entry['size'])
        self.assertFalse(any(e['reference']['source-name'] == 'pool'
                             for e in listing))
        snaps = self.driver.get_manageable_snapshots([], None, 1000, 0,
                                                     ['size'], ['asc'])
        self.assertIn('unmanaged-' + snap.name,
                      [e['reference']['source-name'] for e in snaps])

        new = self.volume()
        ref = {'source-name': 'unmanaged-' + vol.name}
        self.assertEqual(1, self.driver.manage_existing_get_size(new, ref))
        self.created(new, self.driver.manage_existing(new, ref))
        self.assertEqual(data, self.sha(new.name, 1, 2))
        self.assertIsNone(self.lv('unmanaged-' + vol.name))

        # An LV already named as a managed volume is refused.
        other = self.volume()
        self.assertRaises(cinder_exception.ManageExistingAlreadyManaged,
                          self.driver.manage_existing, other,
                          {'source-name': new.name})

    def test_bad_manage_references(self):
        for ref in ({'source-name': '--force'}, {'source-name': 'a/b'},
                    {'source-name': 'x' * 200}, {'source-name': 'pool'},
                    {'source-name': 'no-such-lv'}, {}, {'source-name': 7}):
            self.assertRaises(cinder_exception.ManageExistingInvalidReference,
                              self.driver.manage_existing, self.volume(), ref)
        self.assertEqual('pool', self.lv('pool').name)

    def test_half_made_lvs_are_swept(self):
        tmp = lvmcmd.temp_name(str(uuid.uuid4()))
        self.driver.store.create(tmp, 16 * MiB)
        self.driver.check_for_setup_error()
        self.assertIsNone(self.lv(tmp))

    def test_pool_guard(self):
        drv = self.make_driver(cinder_ext_thin_pool='small',
                               cinder_ext_pool_data_limit=50)
        vol = self.volume()
        self.created(vol, drv.create_volume(vol))
        drv.store.activate(vol.name)
        base.sh(self.guest, 'dd if=/dev/urandom of=%s bs=1M count=40 '
                'oflag=direct status=none' % self.dev(vol.name))
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          drv.create_volume, self.volume())
        snap = cinder_utils.create_snapshot(self.ctxt, vol.id,
                                            testcase_instance=self)
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          drv.create_snapshot, snap)
        drv._update_volume_stats()
        self.assertGreaterEqual(drv._stats['pool_data_percent'], 50)

    def test_stats_from_reports(self):
        self.created_volume(size=2)
        self.driver._update_volume_stats()
        stats = self.driver._stats
        self.assertEqual(self.vg, stats['volume_group'])
        self.assertGreaterEqual(stats['provisioned_capacity_gb'], 2)
        self.assertIn('pool_metadata_percent', stats)
        self.assertTrue(stats['multiattach'])

    def test_missing_volume_group_is_refused_at_start(self):
        self.override_config('enabled_backends', [BACKEND])
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.make_driver,
                          cinder_ext_thin_pool='no-such-pool')

    def test_cluster_on_a_local_vg_is_refused_at_start(self):
        """Active/active needs a VG every member sees (lvmlockd); this
        one is local: refused, naming the option and the lock type."""
        self.override_config('backend_url', 'etcd3+http://127.0.0.1:2379',
                             group='coordination')
        exc = self.assertRaises(cinder_exception.InvalidConfigurationValue,
                                self.make_driver, cluster_name='cluster1')
        self.assertIn('cinder_ext_volume_group', str(exc))
        self.assertIn('lock type none', str(exc))


class ThickDriverTest(LvmDriverTestCase):
    lvm_type = 'thick'

    def test_volume_life_with_data(self):
        vol = self.created_volume()
        self.assertEqual('thick', self.lv(vol.name).kind)
        first = self.write(vol.name, 0, 4)
        snap = self.created_snapshot(vol)
        self.assertEqual('cow-snapshot', self.lv(snap.name).kind)
        second = self.write(vol.name, 0, 4)

        clone = self.volume()
        self.created(clone, self.driver.create_volume_from_snapshot(
            clone, snap))
        self.assertEqual(first, self.sha(clone.name, 0, 4))
        self.assertEqual('thick', self.lv(clone.name).kind)

        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        self.assertEqual(first, self.sha(vol.name, 0, 4))
        self.assertIsNotNone(self.lv(snap.name))   # re-created
        self.assertNotEqual(first, second)

        self.driver.delete_snapshot(snap)
        for v in (clone, vol):
            self.driver.delete_volume(v)
            self.assertIsNone(self.lv(v.name))
