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

"""The LVM store's command lines, name rules, reports and error mapping.

Report JSON and error messages below were captured from real LVM
(lvm2 2.03.16, Debian 12) in the test guest.  The store's behaviour on a
real volume group is in tests/functional/lvm.
"""

import json
import uuid

from oslo_concurrency import processutils
from oslo_config import cfg
import testtools

from cinder_ext import exception
from cinder_ext import privileged
from cinder_ext.privileged import lvm as privileged_lvm
from cinder_ext.storage import executor
from cinder_ext.storage import lvm
from cinder_ext.storage import lvmcmd
from cinder_ext.storage import lvmreport

LVS_JSON = '''{
  "report": [
    {
      "lv": [
        {"lv_name":"pool", "lv_size":"536870912", "lv_attr":"twi-aotz--",
         "pool_lv":"", "origin":"", "data_percent":"1.95",
         "metadata_percent":"11.43", "lv_tags":"", "lv_kernel_major":"253",
         "lv_kernel_minor":"2", "segtype":"thin-pool"},
        {"lv_name":"snap1", "lv_size":"1073741824", "lv_attr":"Vwi---tz-k",
         "pool_lv":"pool", "origin":"vol1", "data_percent":"",
         "metadata_percent":"", "lv_tags":"", "lv_kernel_major":"-1",
         "lv_kernel_minor":"-1", "segtype":"thin"},
        {"lv_name":"thick1", "lv_size":"67108864", "lv_attr":"owi-a-s---",
         "pool_lv":"", "origin":"", "data_percent":"",
         "metadata_percent":"", "lv_tags":"", "lv_kernel_major":"253",
         "lv_kernel_minor":"5", "segtype":"linear"},
        {"lv_name":"tsnap", "lv_size":"8388608", "lv_attr":"swi-a-s---",
         "pool_lv":"", "origin":"thick1", "data_percent":"0.00",
         "metadata_percent":"", "lv_tags":"", "lv_kernel_major":"253",
         "lv_kernel_minor":"8", "segtype":"linear",
         "origin_size":"67108864"},
        {"lv_name":"vol1", "lv_size":"1073741824", "lv_attr":"Vwi-aotz--",
         "pool_lv":"pool", "origin":"", "data_percent":"0.98",
         "metadata_percent":"", "lv_tags":"a,b", "lv_kernel_major":"253",
         "lv_kernel_minor":"4", "segtype":"thin"}
      ]
    }
  ]
}'''

VGS_JSON = '''{"report": [{"vg": [{"vg_name":"cap", "vg_size":"4290772992",
 "vg_free":"3670016000", "vg_extent_size":"4194304", "lv_count":"5",
 "vg_attr":"wz--n-"}]}]}'''

KEY = str(uuid.UUID(int=7))


class NameRulesTest(testtools.TestCase):

    def test_valid_names(self):
        for name in ('volume-%s' % KEY, '_snapshot-x', 'a+b.c_d-e',
                     'x' * 127, lvmcmd.temp_name(KEY)):
            self.assertEqual(name, lvmcmd.check_name(name))

    def test_invalid_names(self):
        for name in ('', 'x' * 128, '-a', '.', '..', 'a b', 'a/b', 'ä',
                     'snapshot1', 'pvmove0', 'a_tmeta', 'x_tdata1',
                     'a_mlog', 'v_rimage_0', 'c_corig', 'v_vorigin',
                     'a;rm', 'a\nb', None, 5, b'bytes'):
            self.assertRaises(exception.InvalidName, lvmcmd.check_name,
                              name)

    def test_vg_names_have_no_reserved_lv_words(self):
        self.assertEqual('snapshots', lvmcmd.check_name('snapshots', 'VG'))
        self.assertRaises(exception.InvalidName, lvmcmd.check_name,
                          '-vg', 'VG')

    def test_temporary_names(self):
        tmp = lvmcmd.temp_name(KEY)
        self.assertTrue(tmp.startswith('cinder_ext-tmp-'))
        self.assertEqual((KEY, None), lvmcmd.temp_key(tmp))
        aside = lvmcmd.aside_name(KEY, 'volume-%s' % KEY)
        self.assertEqual((KEY, 'volume-%s' % KEY), lvmcmd.temp_key(aside))
        for name in ('cinder_ext-tmp-%s' % KEY, 'cinder_ext-tmp-x-12345678',
                     'volume-%s' % KEY, tmp + 'x', None):
            self.assertIsNone(lvmcmd.temp_key(name))

    def test_device_mapper_name_length(self):
        vg = 'cinder-volumes'
        name = 'volume-%s' % KEY
        self.assertEqual(name, lvmcmd.check_lv(vg, name))
        self.assertEqual(lvmcmd.aside_name(KEY, name),
                         lvmcmd.check_lv(vg, lvmcmd.aside_name(KEY, name)))
        # 100 characters, but 'VG-LV' with doubled dashes is over the limit
        self.assertRaises(exception.InvalidName, lvmcmd.check_lv, vg,
                          'a-' * 50)
        self.assertRaises(exception.InvalidName, lvmcmd.check_argv, vg,
                          ['lvrename', vg, 'a', 'a-' * 50])
        self.assertRaises(exception.InvalidName, lvmcmd.aside_name, 'x',
                          name)

    def test_dm_name_doubles_dashes(self):
        self.assertEqual('my--vg-vol--1-cow',
                         lvmcmd.dm_name('my-vg', 'vol-1', 'cow'))


class CommandCheckTest(testtools.TestCase):
    VG = 'cinder-volumes'

    def built(self):
        vg = self.VG
        return [lvmcmd.lvs(vg), lvmcmd.lvs(vg, 'a', 'pool'), lvmcmd.vgs(vg),
                lvmcmd.create_thin(vg, 'pool', 'v', 1 << 30),
                lvmcmd.create_thick(vg, 'v', 1 << 30),
                lvmcmd.snapshot_thin(vg, 'v', 's'),
                lvmcmd.snapshot_thin(vg, 'v', 's', active=True),
                lvmcmd.snapshot_cow(vg, 'v', 's', 4 << 20),
                lvmcmd.remove(vg, 'v'), lvmcmd.extend(vg, 'v', 2 << 30),
                lvmcmd.rename(vg, 'v', 'w'), lvmcmd.activate(vg, 'v'),
                lvmcmd.activate(vg, 'v', exclusive=True),
                lvmcmd.deactivate(vg, 'v'), lvmcmd.merge(vg, 's'),
                lvmcmd.zero('/dev/%s/v' % vg),
                lvmcmd.zero('/dev/mapper/' + lvmcmd.dm_name(vg, 's', 'cow')),
                lvmcmd.discard('/dev/%s/v' % vg),
                lvmcmd.copy('/dev/%s/a' % vg, '/dev/%s/b' % vg, True),
                lvmcmd.copy('/dev/%s/a' % vg, '/dev/%s/b' % vg, False),
                lvmcmd.queue_limit(253, 4, 'write_zeroes_max_bytes')]

    def test_every_built_command_passes(self):
        for argv in self.built():
            lvmcmd.check_argv(self.VG, argv)

    def test_thin_create_command(self):
        self.assertEqual(['lvcreate', '--yes', '-T', 'vg/pool', '-V',
                          '1073741824b', '-n', 'v'],
                         lvmcmd.create_thin('vg', 'pool', 'v', 1 << 30))

    def test_report_command(self):
        argv = lvmcmd.lvs('vg')
        self.assertEqual(['lvs', '--reportformat', 'json', '--units', 'b',
                          '--nosuffix', '-o'], argv[:7])
        self.assertEqual('vg', argv[-1])

    def test_bad_sizes_never_build(self):
        for size in (0, -1, 1.5, '1G', True, None):
            self.assertRaises(exception.InvalidName, lvmcmd.extend, 'vg',
                              'v', size)

    def test_refused_commands(self):
        vg = self.VG
        bad = [
            [], 'lvs', ['rm', '-rf', '/'], ['lvs', '-o', 'x', 'other-vg'],
            ['lvremove', '-f', 'other/v'], ['lvremove', '-f', vg + '/-v'],
            ['lvremove', '-f', vg + '/v', vg + '/w'],
            ['lvremove', '--nolocking', vg + '/v'],
            ['lvcreate', '-T', vg + '/pool', '-V', '1G', '-n', 'v'],
            ['lvcreate', '-n', 'snapshot0', '-L', '4b', vg],
            ['lvrename', vg, 'a', '../b'], ['lvrename', vg, 'a'],
            ['lvchange', '--activate', 'yes', vg + '/v'],
            ['lvs', '-o', 'lv_name;x', vg], ['lvextend', '-L'],
            ['vgremove', vg], ['lvconvert', '--merge', vg],
            ['blkdiscard', '/dev/sda'], ['blkdiscard', '/dev/other/v'],
            ['blkdiscard', '/dev/mapper/other-v-cow'],
            ['blkdiscard', '-z', '/dev/%s/../../sda' % vg],
            ['dd', 'if=/dev/sda', 'of=/dev/%s/v' % vg],
            ['dd', 'if=/dev/%s/v' % vg, 'of=/etc/passwd'],
            ['dd', 'if=/dev/%s/v' % vg, 'of=/dev/%s/w' % vg, 'bs=1G'],
            ['dd', 'of=/dev/%s/w' % vg], ['cat', '/etc/shadow'],
            ['cat', '/sys/dev/block/1:1/queue/../../../../x'],
            ['lvs', 5], ('lvs', None),
        ]
        for argv in bad:
            self.assertRaises(exception.InvalidName, lvmcmd.check_argv, vg,
                              argv)
        self.assertRaises(exception.InvalidName, lvmcmd.check_argv, '-vg',
                          ['vgs', '-vg'])


class ReportTest(testtools.TestCase):

    def test_lvs_report(self):
        lvs = {lv.name: lv for lv in lvmreport.parse_lvs(LVS_JSON)}
        self.assertEqual({'pool': 'pool', 'snap1': 'thin', 'vol1': 'thin',
                          'thick1': 'thick', 'tsnap': 'cow-snapshot'},
                         {n: lv.kind for n, lv in lvs.items()})
        vol, snap, pool = lvs['vol1'], lvs['snap1'], lvs['pool']
        self.assertEqual((1 << 30, True, True, 'pool', ('a', 'b')),
                         (vol.size, vol.active, vol.open, vol.pool, vol.tags))
        self.assertEqual((253, 4), (vol.major, vol.minor))
        self.assertEqual(('vol1', False, True, None),
                         (snap.origin, snap.active, snap.skip_activation,
                          snap.major))
        self.assertEqual((1.95, 11.43), (pool.data_percent,
                                         pool.metadata_percent))
        self.assertTrue(lvs['thick1'].cow_origin)
        self.assertFalse(lvs['thick1'].open)
        self.assertEqual(('thick1', 64 << 20, 8 << 20),
                         (lvs['tsnap'].origin, lvs['tsnap'].size,
                          lvs['tsnap'].cow_size))
        self.assertIsNone(vol.cow_size)

    def test_vgs_report(self):
        vg, = lvmreport.parse_vgs(VGS_JSON)
        self.assertEqual(('cap', 4290772992, 3670016000, 4194304, 5, 'none'),
                         vg)
        self.assertFalse(lvmreport.is_shared(vg))
        shared, = lvmreport.parse_vgs(VGS_JSON.replace(
            '"lv_count"', '"vg_lock_type":"sanlock", "lv_count"'))
        self.assertTrue(lvmreport.is_shared(shared))

    def test_odd_rows_are_kept_as_other(self):
        rows = {'report': [{'lv': [
            {'lv_name': 'x', 'lv_attr': 'r'},
            {'lv_name': '[x_tdata]', 'lv_attr': 'Twi-ao----'},
            {'lv_name': 'r', 'lv_attr': 'rwi-a-r---', 'segtype': 'raid1'},
            {'lv_name': 'w', 'lv_attr': '-wi-a-----', 'segtype': 'raid1'},
            'junk', {'lv_name': 'y', 'lv_size': 'big',
                     'lv_attr': '-wi-------', 'segtype': 'linear'}]}]}
        kinds = [(lv.name, lv.kind, lv.size)
                 for lv in lvmreport.parse_lvs(json.dumps(rows))]
        self.assertEqual([('x', 'other', 0), ('[x_tdata]', 'internal', 0),
                          ('r', 'other', 0), ('w', 'other', 0),
                          ('y', 'thick', 0)], kinds)

    def test_unreadable_report(self):
        for text in ('', 'not json', '{"x": 1}'):
            self.assertRaises(exception.StorageError, lvmreport.parse_lvs,
                              text)
        self.assertEqual([], lvmreport.parse_lvs('{"report": {}}'))


class ErrorTranslationTest(testtools.TestCase):
    """Real stderr of LVM (LC_ALL=C) -> cinder-ext errors."""

    CASES = [
        ('  Failed to find logical volume "cap/nope"', exception.NotFound),
        ('  Volume group "nosuchvg" not found\n  Cannot process volume '
         'group nosuchvg', exception.VolumeGroupMissing),
        ('  Logical Volume "vol1" already exists in volume group "cap"',
         exception.AlreadyExists),
        ('  Volume group "cap" has insufficient free space (875 extents): '
         '25600 required.', exception.NoSpace),
        ('  Existing logical volume "nope" not found in volume group "cap"',
         exception.NotFound),
        ('  Logical volume cap/vol1 in use.', exception.LvBusy),
        ('  Snapshot origin volumes can be resized only while inactive: '
         'try lvchange -an.', exception.LvBusy),
        ('  LV locked by other host: cap/vol1\n  Failed to lock logical '
         'volume cap/vol1.', exception.LvBusy),
        ('  something else', exception.StorageError),
    ]

    def test_translation(self):
        for stderr, cls in self.CASES:
            def fail(vg, argv, stderr=stderr):
                raise processutils.ProcessExecutionError(
                    stdout='', stderr=stderr, exit_code=5, cmd=argv)
            store = lvm.VgStore('cap', 'pool', run=fail)
            exc = self.assertRaises(exception.CinderExtException,
                                    store.extend, 'vol1', 1 << 30)
            self.assertIsInstance(exc, cls, stderr)


class CowReserveTest(testtools.TestCase):

    def test_reserve_is_whole_sectors(self):
        """LVM refuses a --size that is not whole 512-byte sectors."""
        seen = []

        def run(vg, argv):
            seen.append(argv)
            return (LVS_JSON, '') if argv[0] == 'lvs' else ('', '')
        origin = 64 << 20
        for percent in (10, 33, 100):
            store = lvm.VgStore('cap', run=run, thin=False,
                                cow_percent=percent)
            store.snapshot('thick1', 'snap9')
            argv = seen[-1]
            self.assertEqual('lvcreate', argv[0])
            size = int(argv[argv.index('-L') + 1].rstrip('b'))
            self.assertEqual(0, size % 512, percent)
            self.assertGreaterEqual(size, origin * percent / 100)
            self.assertLess(size, origin * percent / 100 + 512)


class PrivilegedEntryTest(testtools.TestCase):
    """The entry point refuses foreign VGs and bad commands before the
    executor is reached; what it passes reaches the executor intact."""

    def setUp(self):
        super().setUp()
        privileged.lvm_admin.set_client_mode(False)
        self.addCleanup(privileged.lvm_admin.set_client_mode, True)
        privileged_lvm.allowed_vgs()  # registers enabled_backends
        cfg.CONF.set_override('enabled_backends', ['b1'])
        privileged_lvm.allowed_vgs()  # registers [b1] volume_group
        self.addCleanup(cfg.CONF.clear_override, 'enabled_backends')
        cfg.CONF.set_override(privileged_lvm.VG_OPTION, 'vg1', group='b1')
        self.addCleanup(cfg.CONF.clear_override, privileged_lvm.VG_OPTION,
                        group='b1')
        self.calls = []

        def execute(*argv, **kwargs):
            self.calls.append((argv, kwargs))
            return '{"report": []}', ''
        self.patch(executor, 'execute', execute)

    def test_allowed_command_reaches_executor(self):
        out, err = privileged_lvm.run('vg1', lvmcmd.lvs('vg1'))
        self.assertEqual('{"report": []}', out)
        argv, kwargs = self.calls[0]
        self.assertEqual(tuple(lvmcmd.lvs('vg1')), argv)
        self.assertEqual('C', kwargs['env_variables']['LC_ALL'])

    def test_refusals(self):
        self.assertRaises(exception.OutsideVolumeGroups, privileged_lvm.run,
                          'vg2', lvmcmd.lvs('vg2'))
        self.assertRaises(exception.InvalidName, privileged_lvm.run, 'vg1',
                          ['lvremove', '-f', 'vg2/x'])
        self.assertEqual([], self.calls)

    def test_store_rejects_bad_names_before_any_command(self):
        store = lvm.VgStore('vg1', 'pool')
        for call, args in ((store.create, ('-x', 1 << 30)),
                           (store.delete, ('a/b',)),
                           (store.snapshot, ('vol', 'snapshot-1')),
                           (store.clone, ('vol', 'x y', 1 << 30, KEY)),
                           (store.rename, ('vol', '../x')),
                           (store.revert, ('vol', 'a_tmeta', KEY)),
                           (store.extend, ('.', 1 << 30)),
                           (store.path, ('..',))):
            self.assertRaises(exception.InvalidName, call, *args)
        self.assertEqual([], self.calls)

    def test_store_rejects_bad_configuration(self):
        self.assertRaises(exception.InvalidName, lvm.VgStore, 'vg/x', 'p')
        self.assertRaises(exception.InvalidName, lvm.VgStore, 'vg', None)
        self.assertRaises(exception.InvalidName, lvm.VgStore, 'vg', 'p',
                          wipe='shred')
