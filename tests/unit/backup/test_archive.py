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

"""The archive's parsing and choices, without root: blkid and sfdisk
output, the checks on a partition table, mount options per filesystem,
tar's argument list, SHA256SUMS lines, volume names, and the output
directory's commit and cleanup on real files."""

import json
import os
import unittest

from cinder_ext.backup.archive import inventory
from cinder_ext.backup.archive import mounting
from cinder_ext.backup.archive import probe
from cinder_ext.backup.archive import tarball
from cinder_ext.backup import exception
from tests.unit.backup import helpers

MiB = 1024 * 1024
GiB = 1024 * MiB


def sfdisk(label, parts, sector=512):
    return json.dumps({'partitiontable': {
        'label': label, 'unit': 'sectors', 'sectorsize': sector,
        'device': '/dev/loop7',
        'partitions': [{'node': '/dev/loop7p%d' % n, 'start': start,
                        'size': size, 'type': t}
                       for n, start, size, t in parts]}})


class ProbeParsingTest(unittest.TestCase):

    def test_blkid_export(self):
        text = ('DEVNAME=/dev/loop7p1\nUUID=ab-cd\nBLOCK_SIZE=4096\n'
                'TYPE=xfs\nLABEL=a=b\n\n')
        self.assertEqual({'DEVNAME': '/dev/loop7p1', 'UUID': 'ab-cd',
                          'BLOCK_SIZE': '4096', 'TYPE': 'xfs',
                          'LABEL': 'a=b'}, probe.parse_blkid(text))

    def test_gpt(self):
        label, parts = probe.parse_sfdisk(sfdisk('gpt', [
            (1, 2048, 2048, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'),
            (2, 4096, 4096, '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F')]),
            GiB, 'src')
        self.assertEqual('gpt', label)
        self.assertEqual([(1, MiB, MiB), (2, 2 * MiB, 2 * MiB)],
                         [(p.number, p.start, p.size) for p in parts])

    def test_4k_sectors(self):
        _, parts = probe.parse_sfdisk(sfdisk('gpt', [(1, 256, 256, 'x')],
                                             sector=4096), GiB, 'src')
        self.assertEqual((MiB, MiB), (parts[0].start, parts[0].size))

    def test_dos_logical_partitions_inside_the_extended_one(self):
        _, parts = probe.parse_sfdisk(sfdisk('dos', [
            (1, 2048, 2048, '83'), (2, 4096, 8192, '5'),
            (5, 6144, 2048, '83'), (6, 10240, 2048, '83')]), GiB, 'src')
        self.assertEqual([1, 2, 5, 6], [p.number for p in parts])

    def damaged(self, text, size=GiB):
        with self.assertRaises(exception.PartitionTableDamaged) as ctx:
            probe.parse_sfdisk(text, size, 'src')
        self.assertEqual(3, ctx.exception.exit_code)
        return str(ctx.exception)

    def test_protective_mbr_alone(self):
        self.assertIn('protective MBR', self.damaged(
            sfdisk('dos', [(1, 1, 2097151, 'ee')])))

    def test_partition_past_the_end(self):
        self.assertIn('partition 2', self.damaged(sfdisk('dos', [
            (1, 2048, 2048, '83'), (2, 4096, 10 ** 8, '83')])))

    def test_overlap(self):
        self.assertIn('partitions 1 and 2 overlap', self.damaged(
            sfdisk('gpt', [(1, 2048, 4096, 'x'), (2, 4096, 4096, 'x')])))

    def test_zero_start_or_size(self):
        self.damaged(sfdisk('gpt', [(1, 0, 2048, 'x')]))
        self.damaged(sfdisk('gpt', [(1, 2048, 0, 'x')]))

    def test_unknown_label_and_garbage(self):
        self.assertIn('sun', self.damaged(sfdisk('sun', [])))
        self.damaged('not json')
        self.damaged(json.dumps({'partitiontable': {'label': 'gpt',
                                                    'partitions': [{}]}}))

    def test_choose(self):
        for fstype in ('xfs', 'ext4', 'ext3', 'ext2', 'btrfs'):
            self.assertEqual('archive', probe.choose('p1', {'TYPE': fstype}))
        self.assertEqual('swap space', probe.choose('p1', {'TYPE': 'swap'}))
        self.assertEqual('no filesystem signature', probe.choose('p1', {}))
        self.assertEqual('BIOS boot partition', probe.choose(
            'p1', {}, probe.BIOS_BOOT_GUID.lower()))
        self.assertIn('extended', probe.choose('p2', {}, '5'))
        self.assertIsNone(probe.choose('p1', {'TYPE': 'ntfs'}))
        self.assertIsNone(probe.choose('p1', {'TYPE': 'LVM2_member'}))


class MountOptionsTest(unittest.TestCase):

    def test_no_journal_replay_and_no_tenant_devices(self):
        self.assertEqual(['ro,norecovery,nouuid,nodev,nosuid,noexec'],
                         mounting.options('xfs'))
        self.assertEqual(['ro,noload,nodev,nosuid,noexec'],
                         mounting.options('ext4'))
        self.assertEqual('ro,rescue=nologreplay,subvolid=5,nodev,nosuid,'
                         'noexec', mounting.options('btrfs')[0])
        self.assertIn('nologreplay', mounting.options('btrfs')[1])
        for fstype in probe.SUPPORTED:
            for opts in mounting.options(fstype):
                self.assertTrue(opts.startswith('ro,'), opts)

    def test_is_mounted(self):
        self.assertTrue(mounting.is_mounted('/proc'))
        self.assertFalse(mounting.is_mounted(os.path.dirname(__file__)))


class TarTest(helpers.TempDirTest):

    def test_exclude_patterns(self):
        self.assertEqual('./var/tmp', tarball.exclude_pattern('/var/tmp/'))
        self.assertEqual('./var/tmp', tarball.exclude_pattern('var//tmp'))
        self.assertEqual('./home/*/.cache',
                         tarball.exclude_pattern('./home/*/.cache'))
        for bad in ('', '/', '.', '../etc', 'a/../../b'):
            self.assertRaises(exception.InvalidArgument,
                              tarball.exclude_pattern, bad)

    def test_tar_argv(self):
        argv = tarball.tar_argv('/o/x.tar', '/m', ['/var/tmp'])
        self.assertEqual(['tar', '--create', '--file', '/o/x.tar',
                          '--directory', '/m'], argv[:6])
        for option in ('--format=posix', '--numeric-owner', '--xattrs',
                       '--xattrs-include=*', '--acls', '--sparse'):
            self.assertIn(option, argv)
        # anchored before the excludes it applies to; members last
        anchored = argv.index('--anchored')
        self.assertLess(anchored, argv.index('--exclude=./lost+found'))
        self.assertLess(anchored, argv.index('--exclude=./var/tmp'))
        self.assertEqual('.', argv[-1])

    def test_sums_text(self):
        self.assertEqual('%s  p1-xfs.tar\n%s  manifest.json\n' % (
            'a' * 64, 'b' * 64), tarball.sums_text([
                ('p1-xfs.tar', 'a' * 64), ('manifest.json', 'b' * 64)]))

    def test_output_dir_commit(self):
        with tarball.OutputDir(self.dir, 'vol-1') as out:
            tarball.write_all(out, [], {'a': 1})
            final = out.commit('20260101T000000Z')
        self.assertEqual(os.path.join(self.dir, 'vol-1', '20260101T000000Z'),
                         final)
        self.assertEqual(['20260101T000000Z'], os.listdir(self.path(
            'vol-1')))
        with open(os.path.join(final, 'SHA256SUMS')) as f:
            line = f.read()
        self.assertEqual('%s  manifest.json\n' % helpers.sha256_file(
            os.path.join(final, 'manifest.json')), line)
        # the same second again: refused, the first one kept
        with self.assertRaises(exception.ArchiveOutputFailed):
            with tarball.OutputDir(self.dir, 'vol-1') as out:
                out.commit('20260101T000000Z')
        self.assertEqual(['20260101T000000Z'], os.listdir(self.path(
            'vol-1')))

    def test_output_dir_removed_on_failure(self):
        with self.assertRaises(RuntimeError):
            with tarball.OutputDir(self.dir, 'vol-1') as out:
                out.write_file('manifest.json', '{}')
                raise RuntimeError('a step failed')
        self.assertEqual([], os.listdir(self.path('vol-1')))

    def test_volume_id_must_name_a_directory(self):
        for bad in ('', '.', '..', 'a/b', '.hidden'):
            self.assertRaises(exception.InvalidArgument, tarball.OutputDir,
                              self.dir, bad)


class InventoryTest(unittest.TestCase):

    def test_names_of_the_template(self):
        a = '0b0e5d0e-3f3a-4a57-a7a4-1b1c1d1e1f10'
        b = 'ffffffff-3f3a-4a57-a7a4-1b1c1d1e1f10'
        names = ['volume-' + a, 'volume-%s.info' % b, 'volume-' + b,
                 '.cinder_ext-archive-x.new', 'snapshot-' + a, 'volume-x',
                 'volume-' + a + '-tmp']
        self.assertEqual([a, b], inventory.matching(names, 'volume-%s'))
        self.assertEqual([a], inventory.matching(['vol_%s_x' % a],
                                                 'vol_%s_x'))
