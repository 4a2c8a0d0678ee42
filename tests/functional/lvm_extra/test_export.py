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

"""LvmDriver exports through Cinder's LIO helper on real LIO in the guest.

The driver runs here with cinder's test base (a real database and volume
objects) and ``target_helper = lioadm``; its LVM commands and the helper's
``cinder-rtstool`` commands (the console script shipped with cinder, with
rtslib-fb) run in the test guest, whose kernel has LIO
(target_core_mod, target_core_iblock, iscsi_target_mod) and configfs.
What the driver returns is checked against what LIO shows in configfs.
"""

import os
import shlex

from cinder import context
from cinder.tests.unit import test
from cinder.tests.unit import utils as cinder_utils

from tests.functional.lvm import driver_setup
from tests.functional.lvm_extra import fixture

BACKEND = 'lvm-export'
PREFIX = 'iqn.2010-10.org.openstack:'
ISCSI = '/sys/kernel/config/target/iscsi'
CORE = '/sys/kernel/config/target/core'
PORTAL = ('127.0.0.1', 3260)
CONNECTOR = {'initiator': 'iqn.1993-08.org.debian:01:cinder-ext-test',
             'ip': '127.0.0.1', 'host': 'lvm-extra', 'multipath': False,
             'platform': 'x86_64', 'os_type': 'linux'}
LIO_MODULES = ('target_core_mod', 'target_core_iblock', 'iscsi_target_mod')

_prepared = set()


def prepare_lio(g):
    """LIO in the guest: modules, configfs, rtslib's dbroot, and
    cinder-rtstool on the guest's PATH (a link in the guest's RAM overlay
    to the venv's console script)."""
    if g.name in _prepared:
        return
    rtstool = os.path.join(fixture.VENV_BIN, 'cinder-rtstool')
    fixture.sh(g, 'modprobe -a %s && (mountpoint -q /sys/kernel/config || '
               'mount -t configfs configfs /sys/kernel/config) && '
               'mkdir -p /etc/target && ln -sf %s /usr/sbin/cinder-rtstool'
               % (' '.join(LIO_MODULES), shlex.quote(rtstool)))
    _prepared.add(g.name)


class LioTestCase(test.TestCase):
    """The driver with target_helper = lioadm, commands in the guest."""

    MOCK_TOOZ = False

    def setUp(self):
        super().setUp()
        self.guest, self.vg = fixture.guest()
        prepare_lio(self.guest)
        # LioAdm runs cinder-rtstool through cinder.utils.execute: in the
        # guest, where LIO is (run_as_root is moot there: it is root).
        driver_setup.use_guest(self, self.guest, self.vg, BACKEND,
                               cinder_commands=True)
        self.ctxt = context.get_admin_context()
        self.driver = self.make_driver()
        self.addCleanup(fixture.remove_volumes, self.guest, self.vg)

    def make_driver(self):
        return driver_setup.make_driver(self, BACKEND, {
            'cinder_ext_volume_group': self.vg,
            'cinder_ext_thin_pool': fixture.POOL,
            'cinder_ext_lvm_type': 'thin',
            'target_helper': 'lioadm',
            'target_protocol': 'iscsi',
            'target_prefix': PREFIX,
            'target_ip_address': PORTAL[0],
            'target_port': PORTAL[1]})

    # -- helpers ----------------------------------------------------------

    def created_volume(self):
        vol = cinder_utils.create_volume(self.ctxt, size=1,
                                         volume_type_id=None,
                                         testcase_instance=self)
        vol.update(self.driver.create_volume(vol))
        vol.save()
        return vol

    def read(self, path):
        return fixture.sh(self.guest, 'cat %s' % shlex.quote(path)).strip()

    def exists(self, path):
        rc, _out, _err = self.guest.run(['test', '-e', path])
        return rc == 0

    def listing(self, path):
        rc, out, _err = self.guest.run(['ls', '-1', path])
        return out.split() if rc == 0 else []

    def realpath(self, path):
        return fixture.sh(self.guest, 'readlink -f %s'
                          % shlex.quote(path)).strip()

    def backstore_of(self, lun_dir):
        """The udev_path of the storage object a LUN links to."""
        links = fixture.sh(self.guest, 'find %s -maxdepth 1 -type l'
                           % shlex.quote(lun_dir)).split()
        self.assertEqual(1, len(links), 'LUN links: %s' % links)
        so_dir = self.realpath(links[0])
        self.assertTrue(so_dir.startswith(CORE + '/iblock_'), so_dir)
        return so_dir, self.read(os.path.join(so_dir, 'udev_path'))

    def drop_target(self, iqn):
        """What a failed test left in LIO would hold its LV open."""
        if self.exists(os.path.join(ISCSI, iqn)):
            self.guest.run(['cinder-rtstool', 'delete', iqn])


class LioExportTest(LioTestCase):

    def test_export_connect_disconnect_unexport_on_lio(self):
        vol = self.created_volume()
        iqn = PREFIX + vol.name
        self.assertNotIn(iqn, self.listing(ISCSI))

        update = self.driver.create_export(self.ctxt, vol, CONNECTOR)
        self.addCleanup(self.drop_target, iqn)
        vol.update(update)
        vol.save()
        tpg = os.path.join(ISCSI, iqn, 'tpgt_1')
        self.assertEqual('1', self.read(os.path.join(tpg, 'enable')))
        self.assertEqual(['%s:%d' % PORTAL],
                         self.listing(os.path.join(tpg, 'np')))
        self.assertEqual(['lun_0'], self.listing(os.path.join(tpg, 'lun')))
        so_dir, udev_path = self.backstore_of(os.path.join(tpg, 'lun',
                                                           'lun_0'))
        # the backstore is the LV's device, and LIO holds it open
        lv_path = self.driver.local_path(vol)
        self.assertEqual('/dev/%s/%s' % (self.vg, vol.name), lv_path)
        self.assertEqual(self.realpath(lv_path), self.realpath(udev_path))
        self.assertTrue(self.driver.store.lv(vol.name).open)
        self.assertEqual('1', self.read(os.path.join(tpg, 'attrib',
                                                     'authentication')))
        self.assertEqual([], self.listing(os.path.join(tpg, 'acls')))

        conn = self.driver.initialize_connection(vol, CONNECTOR)
        self.assertEqual('iscsi', conn['driver_volume_type'])
        data = conn['data']
        self.assertEqual(iqn, data['target_iqn'])
        self.assertEqual('%s:%d' % PORTAL, data['target_portal'])
        self.assertEqual(0, data['target_lun'])
        self.assertEqual(vol.id, data['volume_id'])
        acl = os.path.join(tpg, 'acls', CONNECTOR['initiator'])
        self.assertEqual([CONNECTOR['initiator']],
                         self.listing(os.path.join(tpg, 'acls')))
        self.assertEqual('CHAP', data['auth_method'])
        self.assertEqual(self.read(os.path.join(acl, 'auth', 'userid')),
                         data['auth_username'])
        self.assertEqual(self.read(os.path.join(acl, 'auth', 'password')),
                         data['auth_password'])
        self.assertTrue(bool(data['auth_username'] and
                             data['auth_password']))
        self.assertEqual(['lun_0'], [n for n in self.listing(acl)
                                     if n.startswith('lun_')])

        self.assertFalse(self.driver.terminate_connection(vol, CONNECTOR))
        self.assertEqual([], self.listing(os.path.join(tpg, 'acls')))
        self.assertTrue(self.exists(tpg), 'the target went with the ACL')

        self.driver.remove_export(self.ctxt, vol)
        self.assertNotIn(iqn, self.listing(ISCSI))
        self.assertFalse(self.exists(so_dir), 'the backstore is left')
        self.assertFalse(self.driver.store.lv(vol.name).open)
        # nothing holds the LV any more: it can be deleted
        self.driver.delete_volume(vol)
        self.assertIsNone(self.driver.store.lv(vol.name))


class IscsiLoginTest(LioTestCase):
    """The export seen by an initiator: open-iscsi in the same guest logs
    in with the connection info, and data crosses both ways."""

    def setUp(self):
        super().setUp()
        if self.guest.run(['test', '-x', '/usr/sbin/iscsiadm'])[0]:
            self.skipTest('no iscsiadm (Debian package open-iscsi on the '
                          'host that runs the guest)')
        fixture.sh(self.guest, 'modprobe -a iscsi_tcp sd_mod && mkdir -p '
                   '/etc/iscsi /run/lock/iscsi && echo InitiatorName=%s > '
                   '/etc/iscsi/initiatorname.iscsi && (pgrep -x iscsid >'
                   '/dev/null || iscsid)' % CONNECTOR['initiator'])

    def iscsiadm(self, data, *args):
        return self.guest.execute(
            'iscsiadm', '-m', 'node', '-T', data['target_iqn'], '-p',
            data['target_portal'], *args, timeout=120)[0]

    def login(self, data):
        """Log in as os-brick would (CHAP from the connection info);
        returns the SCSI disk's device."""
        self.iscsiadm(data, '--op', 'new')
        for key, value in (('authmethod', data['auth_method']),
                           ('username', data['auth_username']),
                           ('password', data['auth_password'])):
            self.iscsiadm(data, '--op', 'update', '-n',
                          'node.session.auth.' + key, '-v', value)
        self.iscsiadm(data, '--login')
        self.addCleanup(self.iscsiadm, data, '--op', 'delete')
        self.addCleanup(self.guest.run, [
            'iscsiadm', '-m', 'node', '-T', data['target_iqn'], '-p',
            data['target_portal'], '--logout'])
        # no udev in the guest: the session's disk from sysfs
        disk = fixture.sh(self.guest, (
            'for i in $(seq 60); do for s in /sys/class/iscsi_session/*; do '
            '[ "$(cat $s/targetname)" = %s ] && ls $s/device/target*/*/block'
            ' 2>/dev/null && exit 0; done; sleep 0.5; done; exit 1')
            % shlex.quote(data['target_iqn'])).split()
        self.assertEqual(1, len(disk), disk)
        return '/dev/' + disk[0]

    def write(self, dev, offset_mib, count_mib):
        return fixture.sh(self.guest, (
            'p=$(mktemp) && dd if=/dev/urandom of=$p bs=1M count=%d '
            'status=none && dd if=$p of=%s bs=1M seek=%d oflag=direct '
            'conv=notrunc,fsync status=none && sha256sum < $p && rm -f $p')
            % (count_mib, dev, offset_mib)).split()[0]

    def sha(self, dev, offset_mib, count_mib):
        return fixture.sh(self.guest, 'dd if=%s bs=1M skip=%d count=%d '
                          'iflag=direct status=none | sha256sum'
                          % (dev, offset_mib, count_mib)).split()[0]

    def test_data_written_through_iscsi_is_on_the_lv(self):
        vol = self.created_volume()
        lv_dev = self.driver.local_path(vol)
        on_lv = self.write(lv_dev, 8, 2)
        vol.update(self.driver.create_export(self.ctxt, vol, CONNECTOR))
        vol.save()
        self.addCleanup(self.driver.remove_export, self.ctxt, vol)
        data = self.driver.initialize_connection(vol, CONNECTOR)['data']
        self.addCleanup(self.driver.terminate_connection, vol, CONNECTOR)
        disk = self.login(data)
        size = fixture.sh(self.guest, 'blockdev --getsize64 %s' % disk)
        self.assertEqual(vol.size * 1024 ** 3, int(size))
        self.assertEqual(on_lv, self.sha(disk, 8, 2))
        through_iscsi = self.write(disk, 1, 4)
        self.assertEqual(through_iscsi, self.sha(lv_dev, 1, 4))
