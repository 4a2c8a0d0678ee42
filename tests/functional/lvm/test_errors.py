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

"""Bad input on real LVM: clear errors, nothing lost."""

from oslo_config import cfg

from cinder_ext import exception
from cinder_ext.privileged import lvm as privileged_lvm
from cinder_ext.storage import executor
from cinder_ext.storage import lvm
from tests.functional.lvm import base

MiB = base.MiB


class ErrorTest(base.LvmTestCase):

    def names(self):
        return {lv.name for lv in self.store.lvs()}

    def test_check_at_start_up(self):
        vg = self.store.check()
        self.assertEqual(self.vg, vg.name)
        self.assertGreater(vg.size, vg.free)
        # a VG the configuration names but the host lacks
        cfg.CONF.set_override(privileged_lvm.VG_OPTION, 'cxt-missing',
                              group=base.BACKEND)
        missing = lvm.VgStore('cxt-missing', 'pool')
        exc = self.assertRaises(exception.VolumeGroupMissing, missing.check)
        self.assertIn('cxt-missing', str(exc))
        cfg.CONF.set_override(privileged_lvm.VG_OPTION, self.vg,
                              group=base.BACKEND)
        self.assertRaises(exception.NotFound,
                          self.make_store(pool='nopool').check)
        thin_lv = self.name()
        self.store.create(thin_lv, 8 * MiB)
        self.assertRaises(exception.NotFound,
                          self.make_store(pool=thin_lv).check)

    def test_unknown_lvs(self):
        ghost = self.name()
        self.assertIsNone(self.store.lv(ghost))
        for call, args in ((self.store.snapshot, (ghost, self.name('_s'))),
                           (self.store.clone, (ghost, self.name(), 8 * MiB,
                                               self.key)),
                           (self.store.revert, (ghost, self.name('_s'),
                                                self.key)),
                           (self.store.extend, (ghost, 8 * MiB)),
                           (self.store.rename, (ghost, self.name())),
                           (self.store.activate, (ghost,))):
            self.assertRaises(exception.NotFound, call, *args)
        self.assertFalse(self.store.delete(ghost))

    def test_names_taken(self):
        vol, other = self.name(), self.name()
        self.store.create(vol, 8 * MiB)
        self.store.create(other, 8 * MiB)
        data = self.write(vol, 0, 4)
        mine = self.write(other, 0, 4)
        for call, args in ((self.store.create, (vol, 8 * MiB)),
                           (self.store.create, (vol, 8 * MiB, False)),
                           (self.store.snapshot, (other, vol)),
                           (self.store.clone, (other, vol, 8 * MiB,
                                               self.key)),
                           (self.store.rename, (other, vol))):
            self.assertRaises(exception.AlreadyExists, call, *args)
        self.assertEqual(data, self.sha(vol, 0, 4))
        self.assertEqual(mine, self.sha(other, 0, 4))
        self.assertEqual([], self.store.temporaries())

    def test_malformed_names_never_reach_lvm(self):
        ran = []
        real = self.guest.execute

        def recording(*argv, **kwargs):
            ran.append(argv)
            return real(*argv, **kwargs)
        self.patch(executor, 'execute', recording)
        vol = self.name()
        bad = ['', '-rf', '.', '..', 'a/b', '../../dev/sda', 'x y',
               'snapshot-1', 'vol_tmeta', 'a' * 128, 'a-' * 60,
               'volume;reboot', 'ünïcode']
        for name in bad:
            for call, args in ((self.store.create, (name, 8 * MiB)),
                               (self.store.delete, (name,)),
                               (self.store.lv, (name,)),
                               (self.store.snapshot, (vol, name)),
                               (self.store.clone, (name, vol, 8 * MiB,
                                                   self.key)),
                               (self.store.rename, (vol, name)),
                               (self.store.revert, (vol, name, self.key)),
                               (self.store.extend, (name, 8 * MiB))):
                self.assertRaises(exception.InvalidName, call, *args)
        self.assertEqual([], ran)

    def test_privileged_layer_refuses_other_vgs(self):
        self.assertRaises(exception.OutsideVolumeGroups, privileged_lvm.run,
                          'cxt-other', ['vgs', 'cxt-other'])
        self.assertRaises(exception.InvalidName, privileged_lvm.run,
                          self.vg, ['vgremove', '-f', self.vg])

    def test_out_of_space_in_vg(self):
        before = self.names()
        huge = 64 * 1024 * MiB
        thick = self.make_store(thin=False)
        exc = self.assertRaises(exception.NoSpace, thick.create, self.name(),
                                huge)
        self.assertIn(self.vg, str(exc))
        vol = self.name()
        thick.create(vol, 8 * MiB)
        self.assertRaises(exception.NoSpace, thick.clone, vol, self.name(),
                          huge, self.key)
        self.assertEqual(before | {vol}, self.names())
        self.assertEqual([], self.store.temporaries())

    def test_clone_smaller_than_source_refused(self):
        vol = self.name()
        self.store.create(vol, 16 * MiB)
        self.assertRaises(exception.InvalidSize, self.store.clone, vol,
                          self.name(), 8 * MiB, self.key)
