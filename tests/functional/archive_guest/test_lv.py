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

"""Archives of thin LVs on real LVM in the test guest: the thin snapshot
(as a backup takes it), kpartx's read-only maps of its partitions, a
whole-disk filesystem on the snapshot itself, and nothing left behind
(no snapshot LV, no map, no mount; the LV's bytes unchanged).

The CLI runs in the guest (the host's venv over 9p; ``kpartx`` must be
installed on the host, see tests/guest/config.py HOST_PACKAGES).
Environment: CINDER_EXT_ARCHIVE_GUEST (guest name, default ``archive``;
booted with one 4G disk and no export when not running).
"""

import json
import os
import shlex
import sys
import uuid

import testtools

from tests.functional.lvm import base

MiB = 1024 ** 2
GUEST = os.environ.get('CINDER_EXT_ARCHIVE_GUEST', 'archive')
POOL_SIZE = 2048 * MiB
CLI = '%s -m cinder_ext.backup.cli' % sys.executable
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
_state = {}


def guest():
    return base.thin_pool_guest(GUEST, 'cta', POOL_SIZE, _state)


class ThinLvArchiveTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('the test guest needs root')
        self.guest, self.vg = guest()
        if not self.sh('command -v kpartx || true').strip():
            self.skipTest('kpartx is not installed')
        self.lv = 'volume-%s' % uuid.uuid4()
        self.dev = '/dev/%s/%s' % (self.vg, self.lv)
        self.out = '/tmp/archive-out-%s' % uuid.uuid4().hex[:8]
        self.mounts = '/tmp/archive-mnt-%s' % uuid.uuid4().hex[:8]
        self.sh('mkdir -m 700 %s' % self.mounts)
        self.addCleanup(self.sh, 'rm -rf %s; rmdir %s || true' % (
            self.out, self.mounts))
        self.addCleanup(self.sh, 'lvremove -q -f -y %s || true' % self.dev)
        self.sh('lvcreate -q -T %s/pool -V 1g -n %s' % (self.vg, self.lv))

    def sh(self, script, timeout=600):
        return base.sh(self.guest, script, timeout)

    def fill(self, device, mkfs, tag):
        """mkfs, then files whose contents the archive must hold."""
        self.sh('%s %s && m=$(mktemp -d) && mount %s $m && mkdir $m/d && '
                'seq 1 100000 > $m/d/seq-%s && echo %s > $m/tag && '
                'mkdir -p $m/lost+found $m/skipme && echo x > '
                '$m/skipme/x && umount $m && rmdir $m'
                % (mkfs, device, device, tag, tag))

    def archive(self, *extra, expect=0):
        argv = '%s archive --json --no-progress --out %s --workdir %s ' \
            '--exclude skipme --source %s %s' % (
                CLI, self.out, self.mounts, self.dev, ' '.join(extra))
        rc, out, err = self.guest.run(['sh', '-c', 'cd %s && %s' % (
            TOP, argv)], timeout=600)
        self.assertEqual(expect, rc, 'stdout: %s\nstderr: %s' % (
            out[-2000:], err[-2000:]))
        return json.loads(out.splitlines()[-1])

    def sha(self):
        return self.sh('sha256sum < %s' % self.dev).split()[0]

    def assert_clean(self, sha):
        self.assertEqual(sha, self.sha())
        lvs = self.sh('lvs --noheadings -o lv_name %s' % self.vg).split()
        self.assertEqual([], [n for n in lvs if n.startswith('_backup-new')])
        self.assertEqual('', self.sh('dmsetup ls | grep _backup--new || '
                                     'true').strip())
        self.assertEqual('', self.sh('grep " %s/" /proc/self/mountinfo || '
                                     'true' % self.mounts).strip())
        self.assertEqual('', self.sh('ls -A %s' % self.mounts).strip())

    def assert_tar(self, path, name, tag):
        listing = self.sh('cd %s && sha256sum --strict -c SHA256SUMS >&2 && '
                          'tar -tf %s' % (shlex.quote(path), name)).split()
        self.assertIn('./d/seq-%s' % tag, listing)
        self.assertNotIn('./skipme/x', listing)
        self.assertNotIn('./lost+found/', listing)
        self.assertEqual(
            self.sh('seq 1 100000 | sha256sum').split()[0],
            self.sh('tar -xOf %s/%s ./d/seq-%s | sha256sum' % (
                path, name, tag)).split()[0])

    def two_partitions(self):
        self.sh("printf 'label: gpt\\n,200M\\n,\\n' | sfdisk -q %s"
                % self.dev)
        maps = self.sh('kpartx -a -s -v -p p %s' % self.dev)
        self.assertIn('p2', maps)
        dm = self.sh('dmsetup info -c --noheadings -o name %s'
                     % self.dev).strip()
        try:
            self.fill('/dev/mapper/%sp1' % dm, 'mkfs.ext4 -q -F', 'one')
            self.fill('/dev/mapper/%sp2' % dm, 'mkfs.xfs -q -f', 'two')
        finally:
            self.sh('kpartx -d -p p %s' % self.dev)

    def test_as_is_lv_through_a_read_only_loop(self):
        """An LV read as it is (a Cinder snapshot, --no-snapshot): a
        read-only loop device over it, the LV's own flag untouched."""
        self.two_partitions()
        sha = self.sha()
        result = self.archive('--no-snapshot')
        self.assertEqual(['p1-ext4.tar', 'p2-xfs.tar'], result['archives'])
        self.assertEqual('as-is', result['snapshot'])
        self.assert_tar(result['path'], 'p2-xfs.tar', 'two')
        self.assertEqual('0', self.sh('blockdev --getro %s' % self.dev)
                         .strip())
        self.assertEqual('', self.sh('losetup -j %s' % self.dev).strip())
        self.assert_clean(sha)

    def test_partitions_through_kpartx(self):
        self.two_partitions()
        sha = self.sha()
        result = self.archive()
        self.assertEqual(['p1-ext4.tar', 'p2-xfs.tar'], result['archives'])
        self.assertEqual('thin', result['snapshot'])
        self.assert_tar(result['path'], 'p1-ext4.tar', 'one')
        self.assert_tar(result['path'], 'p2-xfs.tar', 'two')
        self.assert_clean(sha)

    def test_whole_disk_filesystem_on_the_snapshot(self):
        self.fill(self.dev, 'mkfs.ext4 -q -F', 'whole')
        sha = self.sha()
        result = self.archive()
        self.assertEqual(['disk-ext4.tar'], result['archives'])
        self.assert_tar(result['path'], 'disk-ext4.tar', 'whole')
        self.assert_clean(sha)

    def test_mount_failure_leaves_no_map_and_no_snapshot(self):
        self.sh("printf 'label: gpt\\n,200M\\n,\\n' | sfdisk -q %s"
                % self.dev)
        self.sh('kpartx -a -s -p p %s' % self.dev)
        dm = self.sh('dmsetup info -c --noheadings -o name %s'
                     % self.dev).strip()
        try:
            self.fill('/dev/mapper/%sp1' % dm, 'mkfs.ext4 -q -F', 'one')
            # the second: an ext4 with an incompatible feature this
            # kernel lacks (the top byte of s_feature_incompat)
            self.fill('/dev/mapper/%sp2' % dm,
                      'mkfs.ext4 -q -F -O ^metadata_csum', 'two')
            self.sh("printf '\\100' | dd of=/dev/mapper/%sp2 bs=1 "
                    "seek=%d conv=notrunc status=none" % (dm, 1024 + 0x63))
        finally:
            self.sh('kpartx -d -p p %s' % self.dev)
        sha = self.sha()
        result = self.archive(expect=3)
        self.assertEqual('MountFailed', result['error'])
        self.assert_clean(sha)
