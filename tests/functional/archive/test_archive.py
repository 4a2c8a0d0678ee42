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

"""cinder-ext-backup archive on real disk images: GPT and MBR tables and
whole-disk filesystems (xfs, ext4, btrfs), random trees checked file by
file, dirty journals, and every failure leaving nothing behind.  Needs
root (loop devices, mounts).  CINDER_EXT_TEST_SEED=<n> replays a run."""

import os
import subprocess
import tarfile

from tests.functional.archive import base
from tests.functional.archive import disks
from tests.unit.backup import helpers

EXCLUDE = ['--exclude', '/skipme']
EXCLUDED = ['./lost+found', './skipme']


class LayoutTest(base.ArchiveTestBase):

    def build(self, label, parts, fstypes, size_mib=1400):
        """An image with ``parts`` (sfdisk) made into ``fstypes`` (None:
        left alone; 'swap': mkswap); returns (path, {part name: tree})."""
        image = os.path.join(self.work, 'disk.img')
        placed = disks.make_image(image, size_mib, label, parts)
        trees = {}
        for (number, offset, size), fstype in zip(placed, fstypes):
            name = 'disk' if number is None else 'p%d' % number
            if fstype == 'swap':
                with disks.Attached(image, offset, size) as device:
                    disks.run('mkswap', device)
            elif fstype:
                trees['%s-%s.tar' % (name, fstype)] = disks.fill_filesystem(
                    image, offset, size, fstype, self.rng)
        return image, trees

    def check(self, image, trees, skipped=()):
        sha = helpers.sha256_file(image)
        result, manifest = self.ok(self.archive('--source', image, *EXCLUDE))
        self.assertEqual(sorted(trees), sorted(result['archives']))
        self.assertEqual(sorted(skipped), sorted(
            s['name'] for s in manifest['skipped']))
        self.assertEqual('reflink', manifest['snapshot']['kind'])
        self.assert_sums(result['path'])
        for name, tree in trees.items():
            self.assert_tar(os.path.join(result['path'], name), tree,
                            EXCLUDED)
        self.assert_clean(image, sha)
        self.assertEqual([os.path.basename(result['path'])], os.listdir(
            os.path.join(self.out, 'disk.img')))
        return manifest

    def test_gpt_with_xfs_ext4_btrfs_and_swap(self):
        image, trees = self.build(
            'gpt', [(320, None), (160, None), (300, None), (16, None)],
            ['xfs', 'ext4', 'btrfs', 'swap'])
        manifest = self.check(image, trees, skipped=['p4'])
        self.assertEqual('gpt', manifest['partition_table'])
        options = {f['fstype']: f['mount_options']
                   for f in manifest['filesystems']}
        self.assertIn('norecovery', options['xfs'])
        self.assertIn('noload', options['ext4'])
        self.assertIn('nologreplay', options['btrfs'])

    def test_mbr_with_a_logical_partition(self):
        image, trees = self.build(
            'dos', [(160, '83'), (None, '5'), (320, '83')],
            ['ext4', None, 'xfs'])
        manifest = self.check(image, trees, skipped=['p2'])
        self.assertEqual('dos', manifest['partition_table'])

    def test_whole_disk_ext4(self):
        image, trees = self.build(None, [], ['ext4'], size_mib=200)
        self.check(image, trees)

    def test_whole_disk_xfs(self):
        image, trees = self.build(None, [], ['xfs'], size_mib=320)
        self.check(image, trees)


class DirtyJournalTest(base.ArchiveTestBase):
    """A reflink copy of an image whose filesystem is mounted and being
    written: its journal is dirty.  The archive mounts it without replay
    (a plain read-only mount of it fails), holds every file committed
    before, and leaves the copy's bytes as they were."""

    def _dirty_copy(self, fstype, size_mib):
        image = os.path.join(self.work, 'live.img')
        disks.make_image(image, size_mib, None, [])
        with disks.Attached(image) as device:
            disks.mkfs(device, fstype)
            with disks.Mounted(device) as point:
                tree = disks.random_tree(point, self.rng)
                disks.excluded_content(point)
            with disks.Mounted(device) as point:
                os.mkdir(os.path.join(point, 'later'))
                for i in range(200):
                    with open(os.path.join(point, 'later', str(i)),
                              'wb') as f:
                        f.write(self.rng.randbytes(4096))
                os.sync()  # committed to the journal, not checkpointed
                copy = os.path.join(self.work, 'copy.img')
                subprocess.run(['cp', '--reflink=always', image, copy],
                               check=True)
        return copy, tree

    def _plain_ro_mount_fails(self, image):
        with disks.Attached(image, read_only=True) as device:
            proc = subprocess.run(['mount', '-o', 'ro', device, self.mounts],
                                  capture_output=True)
            if proc.returncode == 0:
                subprocess.run(['umount', self.mounts], check=True)
            return proc.returncode != 0

    def _check(self, fstype, size_mib):
        copy, tree = self._dirty_copy(fstype, size_mib)
        self.assertTrue(self._plain_ro_mount_fails(copy),
                        'the copy\'s journal is not dirty: no test')
        sha = helpers.sha256_file(copy)
        result, manifest = self.ok(self.archive(
            '--source', copy, '--no-snapshot', *EXCLUDE))
        self.assertEqual('as-is', manifest['snapshot']['kind'])
        # what was committed before the dirty mount is all there; of the
        # files only in the journal, whatever made it (not replayed)
        path = os.path.join(result['path'], 'disk-%s.tar' % fstype)
        with tarfile.open(path) as tar:
            later = [n for n in tar.getnames() if n.startswith('./later')]
        self.assert_tar(path, dict(tree, **{n: ('any', 0, None)
                                            for n in later}), EXCLUDED)
        self.assert_sums(result['path'])
        self.assert_clean(copy, sha)

    def test_ext4_dirty_journal(self):
        self._check('ext4', 200)

    def test_xfs_dirty_log(self):
        self._check('xfs', 320)

    def test_btrfs_snapshot_taken_while_mounted(self):
        """The source image's btrfs is mounted here (same fsid as the
        snapshot) and has a log tree (fsync): the snapshot still mounts
        (temporary fsid) without log replay."""
        image = os.path.join(self.work, 'live.img')
        disks.make_image(image, 300, None, [])
        with disks.Attached(image) as device:
            disks.mkfs(device, 'btrfs')
            with disks.Mounted(device) as point:
                tree = disks.random_tree(point, self.rng)
                disks.excluded_content(point)
                os.sync()
                with open(os.path.join(point, 'fsynced'), 'wb') as f:
                    f.write(self.rng.randbytes(65536))
                    os.fsync(f.fileno())
                result, manifest = self.ok(self.archive(
                    '--source', image, *EXCLUDE))
            self.assertEqual('reflink', manifest['snapshot']['kind'])
            path = os.path.join(result['path'], 'disk-btrfs.tar')
            self.assert_tar(path, dict(tree, **{'./fsynced': ('any', 0,
                                                              None)}),
                            EXCLUDED)
            self.assert_sums(result['path'])
        self.assert_clean(image, None)
