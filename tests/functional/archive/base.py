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

"""What every archive test checks: the tar contents against the tree that
was written, SHA256SUMS with ``sha256sum -c``, and after every run,
failed or not, the cleanup invariants: nothing mounted, no loop device on
the test's files, no snapshot left, the source's bytes unchanged, no
half-made archive."""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import uuid

from tests.functional.archive import disks
from tests.functional.backup import fixtures
from tests.unit.backup import helpers

SNAPSHOT_GLOB = '.cinder_ext-archive-*'


class ArchiveTestBase(helpers.TempDirTest):
    """Images live on a loop XFS with reflink (class-wide)."""

    @classmethod
    def setUpClass(cls):
        cls.mount = None
        if os.geteuid() == 0 and shutil.which('sfdisk'):
            cls.mount = fixtures.mount_testfs('xfs', '16G')

    @classmethod
    def tearDownClass(cls):
        if cls.mount:
            fixtures.unmount_testfs(cls.mount)

    def setUp(self):
        super().setUp()
        if not self.mount:
            self.skipTest('needs root, sfdisk and mkfs.xfs')
        self.work = os.path.join(self.mount, uuid.uuid4().hex)
        os.mkdir(self.work)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.out = os.path.join(self.work, 'out')
        self.mounts = os.path.join(self.dir, 'mounts')
        os.mkdir(self.mounts, 0o700)

    # -- running -----------------------------------------------------------
    def archive(self, *args, out=None):
        return fixtures.cli('archive', '--json', '--out', out or self.out,
                            '--workdir', self.mounts, *args)

    def lines(self, proc):
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def ok(self, proc):
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        result = self.lines(proc)[-1]
        with open(os.path.join(result['path'], 'manifest.json')) as f:
            return result, json.load(f)

    def failed(self, proc, code, error):
        self.assertEqual(code, proc.returncode, proc.stdout + proc.stderr)
        last = self.lines(proc)[-1]
        self.assertEqual(('error', error), (last['event'], last['error']),
                         last)
        return last['message']

    # -- checks ---------------------------------------------------------
    def assert_clean(self, image, sha_before):
        """Nothing of the run is left, and the source is untouched."""
        with open('/proc/self/mountinfo') as f:
            points = [line.split()[4] for line in f]
        for point in points:
            for ours in (self.mounts, self.work):
                self.assertFalse(point.startswith(ours + '/'),
                                 'left mounted: %s' % point)
        self.assertEqual([], os.listdir(self.mounts))
        loops = json.loads(disks.run('losetup', '--list', '--json') or
                           '{"loopdevices": []}')['loopdevices']
        held = [d for d in loops
                if (d.get('back-file') or '').startswith(self.work)]
        self.assertEqual([], held, 'loop devices left bound')
        self.assertEqual('', disks.run('losetup', '-j', image))
        self.assertEqual([], glob.glob(os.path.join(
            os.path.dirname(image), SNAPSHOT_GLOB)), 'snapshot left')
        if sha_before is not None:  # None: a mounted source, written
            self.assertEqual(sha_before, helpers.sha256_file(image),
                             'the source was written to')

    def assert_no_archive(self, out=None):
        """No archive directory, complete or half-made, anywhere."""
        out = out or self.out
        left = []
        for top, dirs, files in os.walk(out):
            left += [os.path.join(top, n) for n in files
                     if n != 'orphan' and 'lost+found' not in top]
            left += [os.path.join(top, d) for d in dirs
                     if d != 'lost+found' and top != out]
        self.assertEqual([], left)

    def assert_sums(self, path):
        proc = subprocess.run(['sha256sum', '--strict', '-c', 'SHA256SUMS'],
                              cwd=path, capture_output=True, text=True)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        with open(os.path.join(path, 'SHA256SUMS')) as f:
            names = sorted(line.split('  ', 1)[1]
                           for line in f.read().splitlines())
        self.assertEqual(sorted(n for n in os.listdir(path)
                                if n != 'SHA256SUMS'), names)

    def assert_tar(self, path, expect, excluded=()):
        """The tar holds exactly ``expect`` (plus the root), with the
        contents, owner, xattr and ACL written; nothing of ``excluded``.
        Kind 'any': may be there, with any contents."""
        with tarfile.open(path) as tar:
            members = {m.name: m for m in tar.getmembers()}
            for name in excluded:
                self.assertFalse([m for m in members
                                  if m == name or m.startswith(name + '/')],
                                 '%s is in %s' % (name, path))
            for name, (kind, size, detail) in expect.items():
                if kind == 'any' and name not in members:
                    continue  # may be there or not
                self.assertIn(name, members, path)
                m = members[name]
                if kind == 'dir':
                    self.assertTrue(m.isdir(), name)
                elif kind == 'any':
                    continue
                elif kind == 'symlink':
                    self.assertEqual(detail, m.linkname, name)
                else:
                    self.assertEqual(size, m.size, name)
                    digest = hashlib.sha256()
                    f = tar.extractfile(m)
                    for block in iter(lambda: f.read(1 << 20), b''):
                        digest.update(block)
                    self.assertEqual(detail, digest.hexdigest(), name)
            extra = set(members) - set(expect) - {'.'}
            self.assertEqual(set(), extra, 'unexpected members')
            owned = members.get('./owned')
            if owned is not None:
                self.assertEqual((4242, 4343), (owned.uid, owned.gid))
                self.assertEqual('kept', owned.pax_headers.get(
                    'SCHILY.xattr.user.archive_test'))
                self.assertIn('user:4321:r--', owned.pax_headers.get(
                    'SCHILY.acl.access', ''))
