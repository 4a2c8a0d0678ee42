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

"""LvmDriver's iSCSI exports used from another host, as Nova uses them.

The driver runs here (cinder's test base, target_helper = lioadm) with its
LVM and cinder-rtstool commands in the target guest; os-brick's iSCSI
connector runs in a second guest, the initiator, with the connection info
the driver returned for that guest's connector properties.  Data written
through the initiator's device must come back through the devices of the
snapshot's, the clone's and the reverted volume's own exports.
"""

import os

from cinder import context
from cinder.tests.unit import test
from cinder.tests.unit import utils as cinder_utils

from tests.functional.lvm import base
from tests.functional.lvm import driver_setup
from tests.functional.lvm_attach import guests
from tests.functional.lvm_attach import initiator as initiator_guest
from tests.functional.lvm_extra import test_export

BACKEND = 'lvm-attach'
PREFIX = test_export.PREFIX
ISCSI = test_export.ISCSI
CORE = test_export.CORE
# (offset MiB, count MiB) of what the test compares: each write below falls
# in one, and the last starts out zero.
REGIONS = ((0, 8), (696, 8), (896, 8))


class Attachment(object):
    """One volume exported and connected in the initiator guest."""

    def __init__(self, volume, data, device_info):
        self.volume, self.data, self.device_info = volume, data, device_info
        self.path = device_info['path']
        self.attached = True


class IscsiAttachTest(test.TestCase):

    MOCK_TOOZ = False

    def setUp(self):
        super().setUp()
        env = guests.guests()
        self.target, self.vg, self.port = (env['target'], env['vg'],
                                           env['port'])
        self.initiator = initiator_guest.Initiator(env['initiator'])
        if 'connector' not in env:    # a python start in TCG: once
            env['connector'] = self.initiator.properties()
        self.connector = env['connector']
        # the ACL the driver makes must name the initiator guest
        self.assertEqual(env['initiator_iqn'], self.connector['initiator'])
        # cinder-rtstool (LioAdm) runs where LIO is
        driver_setup.use_guest(self, self.target, self.vg, BACKEND,
                               cinder_commands=True)
        self.ctxt = context.get_admin_context()
        self.driver = self.make_driver()
        self.addCleanup(self.remove_lvs)

    def make_driver(self):
        return driver_setup.make_driver(self, BACKEND, {
            'cinder_ext_volume_group': self.vg,
            'cinder_ext_thin_pool': guests.POOL,
            'cinder_ext_lvm_type': 'thin',
            'target_helper': 'lioadm',
            'target_protocol': 'iscsi',
            'target_prefix': PREFIX,
            'target_ip_address': guests.TARGET_ADDRESS,
            'target_port': self.port})

    def remove_lvs(self):
        self.target.run(['sh', '-c', 'lvs --noheadings -o lv_full_name -S '
                         '"lv_name=~^(volume|snapshot)-" %s | xargs -r '
                         'lvremove -f -y' % self.vg])

    # -- volumes ----------------------------------------------------------

    def new_volume(self, make, *args):
        vol = cinder_utils.create_volume(self.ctxt, size=1,
                                         volume_type_id=None,
                                         testcase_instance=self)
        vol.update(make(vol, *args) or {})
        vol.save()
        return vol

    def target_listing(self, path):
        rc, out, _err = self.target.run(['ls', '-1', path])
        return out.split() if rc == 0 else []

    def read_target(self, path):
        return base.sh(self.target, 'cat %s' % path).strip()

    # -- attach / detach, as Cinder's volume manager and Nova do ------------

    def attach(self, vol):
        vol.update(self.driver.create_export(self.ctxt, vol, self.connector))
        vol.save()
        iqn = PREFIX + vol.name
        self.addCleanup(self.drop_target, iqn)
        data = self.driver.initialize_connection(vol, self.connector)['data']
        self.check_connection_info(vol, data)
        device_info = self.initiator.connect(
            initiator_guest.reachable(data))
        att = Attachment(vol, data, device_info)
        self.addCleanup(self.detach_quietly, att)
        self.assertTrue(self.initiator.exists(att.path), device_info)
        self.assertEqual(vol.size * 1024 ** 3, self.initiator.size(att.path))
        self.assertIn(iqn, self.initiator.sessions())
        return att

    def check_connection_info(self, vol, data):
        """The driver's IQN, LUN and CHAP, and LIO's ACL for B."""
        iqn = PREFIX + vol.name
        self.assertEqual(iqn, data['target_iqn'])
        self.assertEqual(0, data['target_lun'])
        self.assertEqual('%s:%d' % (guests.TARGET_ADDRESS, self.port),
                         data['target_portal'])
        self.assertEqual('CHAP', data['auth_method'])
        acls = os.path.join(ISCSI, iqn, 'tpgt_1', 'acls')
        self.assertEqual([self.connector['initiator']],
                         self.target_listing(acls))
        auth = os.path.join(acls, self.connector['initiator'], 'auth')
        self.assertEqual(self.read_target(auth + '/userid'),
                         data['auth_username'])
        self.assertEqual(self.read_target(auth + '/password'),
                         data['auth_password'])

    def detach(self, att):
        iqn = att.data['target_iqn']
        self.initiator.disconnect(initiator_guest.reachable(att.data),
                                  att.device_info)
        att.attached = False
        self.assertNotIn(iqn, self.initiator.sessions())
        self.assertFalse(self.initiator.exists(att.path))
        self.driver.terminate_connection(att.volume, self.connector)
        self.driver.remove_export(self.ctxt, att.volume)
        self.assertNotIn(iqn, self.target_listing(ISCSI))

    def detach_quietly(self, att):
        """What a failed test left: B's session, then the export."""
        if att.attached:
            try:
                self.initiator.disconnect(
                    initiator_guest.reachable(att.data), att.device_info)
            except AssertionError:
                pass

    def drop_target(self, iqn):
        if iqn in self.target_listing(ISCSI):
            self.target.run(['cinder-rtstool', 'delete', iqn])

    def regions(self, att):
        return [self.initiator.sha(att.path, off, count)
                for off, count in REGIONS]

    # -- the test ---------------------------------------------------------

    def test_data_through_snapshot_clone_and_revert(self):
        vol = self.new_volume(self.driver.create_volume)
        att = self.attach(vol)
        vol.status = 'in-use'
        vol.save()
        zero = self.initiator.sha(att.path, *REGIONS[2])
        self.assertEqual(self.initiator.write(att.path, 1, 4),
                         self.initiator.sha(att.path, 1, 4))
        self.assertEqual(self.initiator.write(att.path, 698, 2),
                         self.initiator.sha(att.path, 698, 2))
        first = self.regions(att)
        self.assertEqual(zero, first[2])

        # Nova's snapshot of an attached volume (thin: one instant)
        snap = cinder_utils.create_snapshot(self.ctxt, vol.id,
                                            testcase_instance=self)
        snap.update(self.driver.create_snapshot(snap) or {})
        snap.save()
        self.addCleanup(self.driver.delete_snapshot, snap)
        self.initiator.write(att.path, 3, 2)
        self.initiator.write(att.path, 897, 3)
        second = self.regions(att)
        self.assertNotEqual(first[0], second[0])
        self.assertNotEqual(first[2], second[2])

        clone = self.new_volume(self.driver.create_cloned_volume, vol)
        from_snap = self.new_volume(self.driver.create_volume_from_snapshot,
                                    snap)
        for copy, expected in ((clone, second), (from_snap, first)):
            copy_att = self.attach(copy)
            self.assertEqual(expected, self.regions(copy_att))
            self.detach(copy_att)
        # the copies' exports never touched the volume's
        self.assertEqual(second, self.regions(att))

        # Cinder reverts only an available volume: detached, unexported
        # (and the LV must be closed: LIO held it open)
        self.detach(att)
        vol.status = 'available'
        vol.save()
        self.driver.revert_to_snapshot(self.ctxt, vol, snap)
        att = self.attach(vol)
        self.assertEqual(first, self.regions(att))
        self.detach(att)

        self.assertEqual([], self.initiator.sessions())
        self.assertEqual([], [n for n in self.target_listing(ISCSI)
                              if n.startswith(PREFIX)])
        # no storage object left in any iblock HBA
        self.assertEqual('', base.sh(
            self.target, 'ls -d %s/iblock_*/*/ 2>/dev/null || true'
            % CORE).strip())
