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

"""Bad input and failing steps of cinder-ext-backup archive: each gives a
clear error and leaves nothing behind (nothing mounted, no loop device,
no snapshot, the source's bytes unchanged, no archive that looks valid).
Needs root.  CINDER_EXT_TEST_SEED=<n> replays a run."""

import os
import signal
import struct
import subprocess
import time

from tests.functional.archive import base
from tests.functional.archive import disks
from tests.functional.backup import fixtures
from tests.unit.backup import helpers

MiB = disks.MiB
EXT4_INCOMPAT = 1024 + 0x60  # s_feature_incompat in the superblock


class FailureTest(base.ArchiveTestBase):

    def image(self, label, parts, size_mib=800):
        self.path_ = os.path.join(self.work, 'vol.img')
        return disks.make_image(self.path_, size_mib, label, parts)

    def fill(self, placed, fstypes, **kwargs):
        for (number, offset, size), fstype in zip(placed, fstypes):
            if fstype:
                disks.fill_filesystem(self.path_, offset, size, fstype,
                                      self.rng, **kwargs)

    def poke(self, offset, data):
        with open(self.path_, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def fails(self, code, error, *extra, out=None):
        sha = helpers.sha256_file(self.path_)
        proc = self.archive('--source', self.path_, *extra, out=out)
        message = self.failed(proc, code, error)
        self.assert_clean(self.path_, sha)
        self.assert_no_archive(out)
        return message

    # -- what the volume holds ----------------------------------------------
    def test_gpt_without_a_valid_header(self):
        placed = self.image('gpt', [(100, None), (None, None)])
        self.fill(placed, ['ext4', 'ext4'])
        size = os.path.getsize(self.path_)
        self.poke(512 + 16, b'\xff' * 4)  # CRC of the primary header
        self.poke(size - 512 + 16, b'\xff' * 4)  # and of the backup
        message = self.fails(3, 'PartitionTableDamaged')
        self.assertIn('protective MBR', message)

    def test_mbr_partition_past_the_end(self):
        placed = self.image('dos', [(100, '83'), (100, '83')])
        self.fill(placed, ['ext4', None])
        self.poke(446 + 16 + 12, struct.pack('<I', 10 ** 8))
        message = self.fails(3, 'PartitionTableDamaged')
        self.assertIn('partition 2', message)

    def test_unknown_filesystem_fails_or_is_skipped(self):
        placed = self.image('gpt', [(100, None), (50, None)])
        self.fill(placed, ['ext4', None])
        # a cramfs superblock: a filesystem, but not one archived here
        self.poke(placed[1][1], struct.pack('<II', 0x28cd3d45, 4096) +
                  bytes(8) + b'Compressed ROMFS')
        message = self.fails(3, 'UnknownFilesystem')
        self.assertIn('partition 2 holds cramfs', message)
        sha = helpers.sha256_file(self.path_)
        result, manifest = self.ok(self.archive(
            '--source', self.path_, '--skip-unknown'))
        self.assertEqual(['p1-ext4.tar'], result['archives'])
        self.assertEqual([{'name': 'p2', 'reason': 'unknown: cramfs'}],
                         manifest['skipped'])
        self.assert_clean(self.path_, sha)

    def test_empty_volume(self):
        self.image(None, [], size_mib=64)
        message = self.fails(3, 'UnknownFilesystem')
        self.assertIn('no filesystem and no partition table', message)

    # -- failing steps -----------------------------------------------------
    def test_mount_fails_on_the_second_of_three(self):
        placed = self.image('gpt', [(64, None), (64, None), (None, None)])
        self.fill(placed, ['ext4', 'ext4', 'xfs'],)
        # without metadata_csum, so blkid still sees the changed ext4
        disks.fill_filesystem(self.path_, placed[1][1], placed[1][2], 'ext4',
                              self.rng, extra_mkfs=['-O', '^metadata_csum'])
        offset = placed[1][1] + EXT4_INCOMPAT
        with open(self.path_, 'rb') as f:
            f.seek(offset)
            value = struct.unpack('<I', f.read(4))[0]
        self.poke(offset, struct.pack('<I', value | 0x40000000))
        message = self.fails(3, 'MountFailed')
        self.assertIn('partition 2', message)

    def test_output_full(self):
        placed = self.image(None, [], size_mib=200)
        with disks.Attached(self.path_) as device:
            disks.mkfs(device, 'ext4')
            with disks.Mounted(device) as point:
                disks.random_tree(point, self.rng, files=40,
                                  max_size=2 * MiB)
        out = os.path.join(self.dir, 'small-out')
        os.mkdir(out)
        small = os.path.join(self.dir, 'small.img')
        disks.make_image(small, 8, None, [])
        disks.run('mkfs.ext4', '-q', '-F', small)
        disks.run('mount', '-o', 'loop', small, out)
        self.addCleanup(subprocess.run, ['umount', out], check=False)
        message = self.fails(1, 'ArchiveOutputFailed', out=out)
        self.assertIn('disk-ext4.tar', message)
        self.assertIn('output is full', message)
        del placed

    def test_checksum_write_fails(self):
        """Room for the tar and the manifest, not for SHA256SUMS: a tmpfs
        with five inodes (root, volume dir, temp dir, tar, manifest)."""
        placed = self.image(None, [], size_mib=64)
        self.fill(placed, ['ext4'])
        out = os.path.join(self.dir, 'tiny-out')
        os.mkdir(out)
        disks.run('mount', '-t', 'tmpfs', '-o', 'size=256m,nr_inodes=5',
                  'tmpfs', out)
        self.addCleanup(subprocess.run, ['umount', out], check=False)
        message = self.fails(1, 'ArchiveOutputFailed', out=out)
        self.assertIn('SHA256SUMS', message)
        self.assertIn('output is full', message)

    # -- what the command refuses --------------------------------------------
    def test_no_reflink_is_refused_unless_no_snapshot(self):
        """A file on ext4 cannot be reflinked: refused before anything is
        mapped; with --no-snapshot it is read as it is."""
        self.path_ = self.path('vol.img')
        disks.make_image(self.path_, 64, None, [])
        disks.fill_filesystem(self.path_, 0, None, 'ext4', self.rng)
        message = self.fails(2, 'SnapshotImpossible')
        self.assertIn('--no-snapshot', message)
        sha = helpers.sha256_file(self.path_)
        result, manifest = self.ok(self.archive(
            '--source', self.path_, '--no-snapshot'))
        self.assertEqual('as-is', manifest['snapshot']['kind'])
        self.assert_clean(self.path_, sha)

    def test_usage_errors(self):
        self.path_ = os.path.join(self.work, 'vol.img')
        disks.make_image(self.path_, 8, None, [])
        self.fails(2, 'InvalidArgument', '--exclude', '../etc')
        self.fails(2, 'InvalidArgument', '--from-volume', 'x')
        proc = fixtures.cli('archive', '--source', self.path_)
        self.assertEqual(2, proc.returncode)  # --out is required

    def test_sigterm_while_tar_runs(self):
        """cron's kill: the run stops (exit 130) and undoes everything."""
        placed = self.image(None, [], size_mib=1200)
        with disks.Attached(self.path_) as device:
            disks.mkfs(device, 'ext4')
            with disks.Mounted(device) as point:
                for i in range(4):
                    helpers.make_sparse(os.path.join(point, 'big%d' % i),
                                        160 * MiB, [(0, 160 * MiB)],
                                        self.rng)
        del placed
        sha = helpers.sha256_file(self.path_)
        proc = fixtures.cli_popen('archive', '--json', '--out', self.out,
                                  '--workdir', self.mounts, '--source',
                                  self.path_)
        deadline = time.monotonic() + 60
        while not self._child_named(proc.pid, 'tar'):
            if proc.poll() is not None:
                self.fail('finished before tar was seen: %s' % (
                    proc.communicate(),))
            self.assertLess(time.monotonic(), deadline, 'tar never ran')
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        self.assertEqual(130, proc.returncode, out + err)
        self.assert_clean(self.path_, sha)
        self.assert_no_archive()

    @staticmethod
    def _child_named(pid, name):
        for entry in os.listdir('/proc'):
            try:
                with open('/proc/%s/stat' % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.find('(') + 1:stat.rfind(')')]
            if comm == name and int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                return True
        return False
