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

"""Thin LV metadata: parsing real tool output, names, the metadata
snapshot's release.  The outputs below were captured in the test guest
(lvm2 2.03.16, thin-provisioning-tools 0.9.0, Debian 12): a 1 GiB thin LV
with 64 KiB pool blocks; snapshot 4 taken, then 1 MiB at 10 MiB discarded,
192 KiB written at block 12000 and 64 KiB rewritten at block 9000, then
snapshot 5 taken."""

import fixtures
from oslo_concurrency import processutils
import testtools

from cinder_ext.backup import exception
from cinder_ext.backup import thin
from cinder_ext.backup import thinbase
from cinder_ext.storage import executor

KiB = 1024
MiB = KiB * KiB
BLOCK = 64 * KiB

LVS = '''  {
      "report": [
          {
              "lv": [
                  {"lv_name":"_backup-base-v1", "vg_name":"tbx", \
"pool_lv":"pool", "thin_id":"3", "lv_size":"1073741824", "segtype":"thin", \
"lv_tags":"cinder_ext_backup.22e659e0-7892-4d2f-b81b-ea741d6278c4"},
                  {"lv_name":"pool", "vg_name":"tbx", "pool_lv":"", \
"thin_id":"", "lv_size":"1073741824", "segtype":"thin-pool", "lv_tags":""},
                  {"lv_name":"s1", "vg_name":"tbx", "pool_lv":"pool", \
"thin_id":"4", "lv_size":"1073741824", "segtype":"thin", "lv_tags":""},
                  {"lv_name":"vol", "vg_name":"tbx", "pool_lv":"pool", \
"thin_id":"1", "lv_size":"1073741824", "segtype":"thin", "lv_tags":""}
              ]
          }
      ]
  }
'''

DUMP = '''<superblock uuid="" time="4" transaction="8" flags="0" version="2" \
data_block_size="128" nr_data_blocks="0">
  <device dev_id="5" mapped_blocks="37" transaction="7" creation_time="4" \
snap_time="4">
    <range_mapping origin_begin="176" data_begin="16" length="32" time="0"/>
    <single_mapping origin_block="5000" data_block="48" time="0"/>
    <single_mapping origin_block="9000" data_block="55" time="3"/>
    <range_mapping origin_begin="12000" data_begin="52" length="3" time="3"/>
  </device>
</superblock>
'''

DUMP_TWO = '''<superblock uuid="" time="2" transaction="3" flags="0" \
version="2" data_block_size="128" nr_data_blocks="0">
  <device dev_id="2" mapped_blocks="49" transaction="2" creation_time="2" \
snap_time="2">
    <range_mapping origin_begin="160" data_begin="0" length="10" time="0"/>
    <single_mapping origin_block="5000" data_block="48" time="0"/>
  </device>
  <device dev_id="3" mapped_blocks="49" transaction="2" creation_time="2" \
snap_time="2">
    <range_mapping origin_begin="160" data_begin="0" length="10" time="0"/>
    <range_mapping origin_begin="170" data_begin="49" length="2" time="1"/>
    <range_mapping origin_begin="172" data_begin="12" length="36" time="0"/>
    <single_mapping origin_block="5000" data_block="48" time="0"/>
  </device>
</superblock>
'''

DELTA = '''<superblock uuid="" time="4" transaction="8" data_block_size="128" \
nr_data_blocks="0">
  <diff left="4" right="5">
    <left_only begin="160" length="16"/>
    <same begin="176" length="32"/>
    <same begin="5000" length="1"/>
    <different begin="9000" length="1"/>
    <right_only begin="12000" length="3"/>
  </diff>
</superblock>
'''


class ParseTest(testtools.TestCase):

    def test_dump(self):
        self.assertEqual([(176 * BLOCK, 32 * BLOCK), (5000 * BLOCK, BLOCK),
                          (9000 * BLOCK, BLOCK), (12000 * BLOCK, 3 * BLOCK)],
                         thin.parse_dump(DUMP, 5))

    def test_dump_picks_the_device_and_merges_adjacent_ranges(self):
        self.assertEqual([(160 * BLOCK, 48 * BLOCK), (5000 * BLOCK, BLOCK)],
                         thin.parse_dump(DUMP_TWO, 3))
        self.assertEqual([(160 * BLOCK, 10 * BLOCK), (5000 * BLOCK, BLOCK)],
                         thin.parse_dump(DUMP_TWO, 2))

    def test_dump_without_the_device(self):
        self.assertRaises(exception.SourceError, thin.parse_dump, DUMP, 4)

    def test_delta_changed_ranges(self):
        ranges, block = thin.parse_delta(DELTA)
        self.assertEqual(BLOCK, block)
        # left_only (unmapped since), different and right_only; never same
        self.assertEqual([(160 * BLOCK, 16 * BLOCK), (9000 * BLOCK, BLOCK),
                          (12000 * BLOCK, 3 * BLOCK)], ranges)

    def test_malformed_output(self):
        for text in ('', '<superblock', '<superblock data_block_size="x"/>',
                     '<superblock data_block_size="128"/>'):
            self.assertRaises(exception.SourceError, thin.parse_delta, text)
        self.assertRaises(exception.SourceError, thin.parse_dump,
                          '<superblock/>', 1)

    def test_report(self):
        lvs = thin.parse_report(LVS)
        self.assertEqual(thin.ThinLv('tbx', 'vol', 'pool', 1, 1 << 30, ()),
                         lvs['vol'])
        self.assertIsNone(lvs['pool'].thin_id)
        self.assertEqual('22e659e0-7892-4d2f-b81b-ea741d6278c4',
                         thinbase.backup_id_of(lvs['_backup-base-v1']))
        self.assertIsNone(thinbase.backup_id_of(lvs['s1']))
        self.assertIsNone(thinbase.backup_id_of(None))
        self.assertRaises(exception.SourceError, thin.parse_report, '{}')

    def test_clip_and_changed_chunks(self):
        self.assertEqual([(0, 10), (90, 10)],
                         thin.clip([(0, 10), (90, 64), (200, 5)], 100))
        cs = 4 * MiB
        # a range across a chunk boundary touches both chunks
        self.assertEqual({0, 1}, thin.changed_chunks(
            [(4 * MiB - BLOCK, 2 * BLOCK)], 8 * MiB, 8 * MiB, cs))
        # grown from 6 MiB to 12 MiB: the old short chunk 1 and chunk 2
        self.assertEqual({1, 2}, thin.changed_chunks([], 12 * MiB,
                                                     6 * MiB, cs))
        self.assertEqual(set(), thin.changed_chunks([], 8 * MiB, 8 * MiB,
                                                    cs))


class NameTest(testtools.TestCase):

    def test_valid(self):
        self.assertEqual(('vg0', 'volume-1'),
                         thin.check_names('vg0', 'volume-1'))

    def test_invalid(self):
        for vg, lv in (('vg', 'a/b'), ('vg', '-x'), ('vg', 'snapshot1'),
                       ('vg', 'x_tmeta'), ('bad vg', 'lv'), ('vg', ''),
                       ('vg', 'x' * 200), ('..', 'lv')):
            self.assertRaises(exception.InvalidArgument, thin.check_names,
                              vg, lv)

    def test_base_names(self):
        self.assertEqual('_backup-base-v1',
                         thinbase.check_base_name('vg', '_backup-base-v1'))
        for name in ('volume-1', '_snapshot-1', '_backup-new-x',
                     'cinder_ext-tmp-x', 'a/b'):
            self.assertRaises(exception.InvalidArgument,
                              thinbase.check_base_name, 'vg', name)

    def test_device_names_only_for_lvm_paths(self):
        for path in ('/srv/volume-1', '/dev/vda', '/dev/mapper/vg-lv',
                     '/dev/disk/by-id/x', '/dev/null/x', None, 3):
            self.assertIsNone(thin.device_names(path))
        self.assertIsNone(thin.lookup('/tmp/not-a-device'))


class MetadataSnapshotTest(testtools.TestCase):
    """The outermost boundary (the executor) is faked: the commands the
    metadata snapshot runs, and that it is released on every exit."""

    def setUp(self):
        super().setUp()
        self.calls = []
        self.fail_on = set()
        self.patch(executor, 'execute', self._execute)
        self.patch(thin, 'LOCK_DIR', self.useFixture(
            fixtures.TempDir()).path)

    def _execute(self, *argv, **kwargs):
        self.calls.append(list(argv))
        if argv[-1] in self.fail_on or argv[0] in self.fail_on:
            self.fail_on.discard(argv[-1])
            raise processutils.ProcessExecutionError(
                exit_code=1, stderr='device-mapper: message ioctl on '
                'vg--1-pool-tpool  failed: Device or resource busy\n',
                cmd=' '.join(argv))
        if argv[0] == 'thin_dump':
            return DUMP, ''
        return '', ''

    def lv(self):
        return thin.ThinLv('vg-1', 'vol', 'pool', 5, 1 << 30, ())

    def test_commands(self):
        self.assertEqual(4, len(thin.mapped_ranges(self.lv())))
        self.assertEqual([
            ['dmsetup', 'message', 'vg--1-pool-tpool', '0',
             'reserve_metadata_snap'],
            ['thin_dump', '--metadata-snap', '--dev-id', '5',
             '/dev/mapper/vg--1-pool_tmeta'],
            ['dmsetup', 'message', 'vg--1-pool-tpool', '0',
             'release_metadata_snap']], self.calls)

    def test_released_when_the_tool_fails(self):
        self.fail_on.add('thin_dump')
        error = self.assertRaises(exception.SourceError, thin.mapped_ranges,
                                  self.lv())
        self.assertIn('thin_dump failed (exit 1)', str(error))
        self.assertEqual('release_metadata_snap', self.calls[-1][-1])

    def test_a_snapshot_left_reserved_is_released_first(self):
        self.fail_on.add('reserve_metadata_snap')
        thin.mapped_ranges(self.lv())
        self.assertEqual(['reserve_metadata_snap', 'release_metadata_snap',
                          'reserve_metadata_snap', '--dev-id',
                          'release_metadata_snap'],
                         [c[-1] if c[0] == 'dmsetup' else c[2]
                          for c in self.calls])
