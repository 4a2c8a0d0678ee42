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

"""NFS in the guest, mounted through the driver's own os-brick path.

The mount runs in the guest through os-brick's RemoteFsClient handed the
guest's execute (what Shares builds); the store's file operations must run
where the mount is, so ``nfs_probe.py`` runs them in the guest through
Shares/FileStore and reports what it saw.
"""

import json
import os
import unittest
import uuid

from os_brick.remotefs import remotefs

from tests.functional import guest as fixture

SPEC = '127.0.0.1:/export'
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     'nfs_probe.py')
VENV_PYTHON = '/work/main/.venv/bin/python'
PROBE_TIMEOUT = 300     # imports os-brick/oslo in the guest: ~20-30 s


class MountTest(unittest.TestCase):
    def setUp(self):
        self.guest = fixture.guest(self)

    def mount(self, version):
        base = '/run/ceg-mount-%s' % uuid.uuid4().hex[:8]
        client = remotefs.RemoteFsClient(
            'nfs', 'sudo', execute=self.guest.execute,
            nfs_mount_point_base=base, nfs_mount_options='vers=%s' % version)
        client.mount(SPEC)
        mount_point = client.get_mount_point(SPEC)
        self.addCleanup(self.guest.run, ['umount', '-l', mount_point])
        return client, mount_point

    def check_mount(self, version, fstype):
        client, mount_point = self.mount(version)
        out = self.guest.execute('findmnt', '-n', '-o', 'FSTYPE,OPTIONS',
                                 mount_point)[0].split()
        self.assertEqual(fstype, out[0])
        self.assertIn('vers=%s' % version, out[1].split(','))
        client.mount(SPEC)      # mounted already: a no-op, no error
        name = 'ceg-%s' % uuid.uuid4().hex[:8]
        self.guest.execute('dd', 'of=%s/%s' % (mount_point, name),
                           'conv=fsync', process_input=name * 1000)
        self.addCleanup(self.guest.run, ['rm', '-f', '/export/' + name])
        self.assertEqual(name * 1000,
                         self.guest.execute('cat', '/export/' + name)[0])
        # Locks (NLM for v3, v4 state) answer at once: short grace periods.
        self.guest.execute('flock', '-x', '-w', '20',
                           '%s/%s' % (mount_point, name), 'true',
                           timeout=40)

    def test_nfs_4_2_mount_through_os_brick(self):
        self.check_mount('4.2', 'nfs4')

    def test_nfs_3_mount_through_os_brick(self):
        self.check_mount('3', 'nfs')


class FileStoreOverNfsTest(unittest.TestCase):
    """fallocate and reflink over NFS 4.2, the fallbacks on v3."""

    @classmethod
    def setUpClass(cls):
        cls.report = None

    def setUp(self):
        self.guest = fixture.guest(self)
        cls = type(self)
        if cls.report is None:
            out, _err = self.guest.execute(
                VENV_PYTHON, PROBE, '4.2', '3', timeout=PROBE_TIMEOUT,
                env_variables={'PYTHONWARNINGS': 'ignore',
                               'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
            cls.report = json.loads(out)
            print(json.dumps(cls.report, indent=1))

    def test_nfs_4_2_allocates_and_clones_on_the_server(self):
        r = self.report['4.2']
        self.assertEqual(('nfs4', 'vers=4.2'), (r.get('mount_type'),
                                                r.get('mount_vers')), r)
        self.assertTrue(r['reflink'])
        self.assertEqual('fallocate', r['create_thick'])
        self.assertTrue(r['thick_allocated'])
        self.assertEqual('reflink', r['copy_auto'])
        self.assertTrue(r['same_data'])
        # Both written MiB are shared with the source on the server's XFS:
        # FICLONE became NFS CLONE, copy_file_range NFS COPY, and the
        # server's XFS remapped the extents in both cases.
        self.assertEqual(2 * 1024 ** 2, r['shared_auto'])
        self.assertEqual('copy', r['copy_plain'])
        self.assertEqual(2 * 1024 ** 2, r['shared_plain'])

    def test_nfs_3_falls_back_to_zero_fill_and_copy(self):
        r = self.report['3']
        self.assertEqual(('nfs', 'vers=3'), (r.get('mount_type'),
                                             r.get('mount_vers')), r)
        self.assertFalse(r['reflink'])
        self.assertEqual('zero-fill', r['create_thick'])
        self.assertTrue(r['thick_allocated'])
        self.assertEqual(('copy', 'copy'), (r['copy_auto'], r['copy_plain']))
        self.assertTrue(r['same_data'])
        self.assertEqual((0, 0), (r['shared_auto'], r['shared_plain']))


if __name__ == '__main__':
    unittest.main()
