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

"""Two LvmDriver members of one cluster on one shared VG, one per guest.

Each member's commands run in its own guest (lvmlockd + sanlock, distinct
host ids); both take their tooz locks from one backend, as cinder-volume
members of one cluster do.  What is checked is that activation follows the
work: an LV is active, exclusively, only on the member that writes, copies
or exports it, and inactive everywhere between operations, so the other
member can take it; while one member exports a volume, the other is
refused at once (LvBusy, "locked by other host"), leaves nothing behind,
and does not take the export over at start-up.
"""

import contextlib

from cinder import context
from cinder import exception as cinder_exception
from cinder.tests.unit import test
from cinder.tests.unit import utils as cinder_utils

from cinder_ext.storage import lvmcmd
from cinder_ext.volume import lvm
from tests.functional.lvm import driver_setup
from tests.functional.lvm_shared import test_lvmlockd as shared

BACKEND = 'lvm-members'
CLUSTER = 'cluster1'
MiB = shared.MiB


class MembersTest(shared.SharedVgBase, test.TestCase):
    MOCK_TOOZ = False
    prefix = 'lvmshared-members'
    shared_disk_size = '5G'   # 1 GiB volumes, their clones and snapshots

    def setUp(self):
        super().setUp()
        self.ctxt = context.get_admin_context()
        # What the members' start-up check reads; their locks are the
        # test base's real tooz locks, which both members here share.
        self.override_config('backend_url', 'etcd3+http://127.0.0.1:2379',
                             group='coordination')
        driver_setup.use_guest(self, self.a, shared.VG, BACKEND)
        self.current = self.a
        # one executor seam, routed to the guest of the member at work
        self.patch('cinder_ext.storage.executor.execute',
                   lambda *a, **kw: self.current.execute(*a, **dict(
                       {'timeout': shared.COMMAND_TIMEOUT}, **kw)))
        self.addCleanup(self.remove_all_lvs)
        self.member_a = self.member(self.a)
        self.member_b = self.member(self.b)

    @contextlib.contextmanager
    def on(self, guest):
        saved, self.current = self.current, guest
        try:
            yield
        finally:
            self.current = saved

    def member(self, guest):
        with self.on(guest):
            drv = driver_setup.make_driver(
                self, BACKEND, {'cinder_ext_volume_group': shared.VG,
                                'cinder_ext_lvm_type': 'thick',
                                'cinder_ext_volume_clear': 'auto',
                                'cinder_ext_snapshot_reserve_percent': 10,
                                'target_helper': 'fake'},
                cluster_name=CLUSTER)
        self.assertTrue(drv.store.shared)
        return guest, drv

    def call(self, member, method, *args):
        guest, drv = member
        with self.on(guest):
            return getattr(drv, method)(*args)

    # -- helpers ------------------------------------------------------------

    def volume(self):
        return cinder_utils.create_volume(self.ctxt, size=1,
                                          volume_type_id=None,
                                          testcase_instance=self)

    def created_volume(self, member):
        vol = self.volume()
        vol.update(self.call(member, 'create_volume', vol) or {})
        vol.save()
        return vol

    def created_snapshot(self, member, vol):
        snap = cinder_utils.create_snapshot(self.ctxt, vol.id,
                                            testcase_instance=self)
        snap.volume_size = vol.size
        snap.update(self.call(member, 'create_snapshot', snap) or {})
        snap.save()
        return snap

    def active_on(self, name):
        """The guests on which the LV (a Cinder name) is active."""
        lv = lvm.LvmDriver._storage_name(name)
        return [g.name for g in self.guests if self.lvs(g)[lv].active]

    def assert_idle(self, *names):
        for name in names:
            self.assertEqual([], self.active_on(name), name)

    def temporaries(self):
        return [n for n in self.lvs(self.a) if lvmcmd.is_temporary(n)]

    def write_on(self, guest, name):
        lv = lvm.LvmDriver._storage_name(name)
        self.assertEqual(0, self.activate(guest, lv)[0])
        try:
            return self.write_random(guest, lv)
        finally:
            self.assertEqual(0, self.activate(guest, lv, 'n')[0])

    def sha_on(self, guest, name):
        lv = lvm.LvmDriver._storage_name(name)
        rc, err = self.activate(guest, lv)
        self.assertEqual(0, rc, err)
        try:
            return self.read_sha(guest, lv)
        finally:
            self.assertEqual(0, self.activate(guest, lv, 'n')[0])

    # -- tests --------------------------------------------------------------

    def test_activation_follows_the_work(self):
        a, b = self.member_a, self.member_b
        vol = self.created_volume(a)
        self.assert_idle(vol.name)
        digest = self.write_on(self.a, vol.name)

        # A exports it: active there, exclusively, until remove_export.
        export = self.call(a, 'create_export', self.ctxt, vol, {})
        vol.update(export)
        vol.save()
        self.assertEqual([self.a.name], self.active_on(vol.name))

        # B is refused at once, and leaves nothing behind.
        clone = self.volume()
        for method, args in (('create_cloned_volume', (clone, vol)),
                             ('extend_volume', (vol, 2))):
            with self.assertRaises(
                    cinder_exception.VolumeBackendAPIException) as refused:
                self.call(b, method, *args)
            self.assertIn(shared.LOCKED_ELSEWHERE, str(refused.exception))
        self.assertEqual([], self.temporaries())
        self.assertNotIn(clone.name, self.lvs(self.a))
        # B's start-up re-export leaves A's export alone, without error.
        self.assertIsNone(self.call(b, 'ensure_export', self.ctxt, vol))
        self.assertEqual([self.a.name], self.active_on(vol.name))

        # Once A removes its export, B copies, snapshots, reverts and
        # deletes; between operations the LVs are active nowhere.
        self.call(a, 'remove_export', self.ctxt, vol)
        self.assert_idle(vol.name)
        self.call(b, 'create_cloned_volume', clone, vol)
        self.assert_idle(vol.name, clone.name)
        self.assertEqual(digest, self.sha_on(self.a, clone.name))

        snap = self.created_snapshot(b, vol)
        self.assert_idle(vol.name)
        self.write_on(self.b, vol.name)
        self.call(a, 'revert_to_snapshot', self.ctxt, vol, snap)
        self.assert_idle(vol.name)
        self.assertEqual(digest, self.sha_on(self.b, vol.name))

        from_snap = self.volume()
        self.call(a, 'create_volume_from_snapshot', from_snap, snap)
        self.assert_idle(vol.name, from_snap.name)
        self.assertEqual(digest, self.sha_on(self.b, from_snap.name))

        self.call(b, 'extend_volume', vol, 2)
        self.assertEqual(2 * 1024 ** 3, self.lvs(self.a)[vol.name].size)
        self.call(b, 'delete_snapshot', snap)
        for gone in (from_snap, clone, vol):
            self.call(a if gone is clone else b, 'delete_volume', gone)
        left = self.lvs(self.b)
        for name in (vol.name, clone.name, from_snap.name,
                     lvm.LvmDriver._storage_name(snap.name)):
            self.assertNotIn(name, left)

    def test_start_up_frees_what_a_dead_process_left_active(self):
        """A process that died mid-copy leaves LVs active, holding locks
        the other members need: the member's start-up deactivates this
        host's active LVs that nothing holds open."""
        vol = self.created_volume(self.member_a)
        lv = lvm.LvmDriver._storage_name(vol.name)
        self.assertEqual(0, self.activate(self.a, lv)[0])
        rc, err = self.activate(self.b, lv)
        self.assertIn(shared.LOCKED_ELSEWHERE, err)
        self.member(self.a)          # a restart: setup and checks
        self.assert_idle(vol.name)
        rc, err = self.activate(self.b, lv)
        self.assertEqual(0, rc, err)
        self.activate(self.b, lv, 'n')
