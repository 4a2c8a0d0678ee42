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

"""manage_existing / unmanage with rename, and the manageable listings."""

import os
import uuid

from cinder import exception as cinder_exception
from cinder import objects

from cinder_ext import locks
from tests import base
from tests.unit import test_nfs_driver

GiB, MiB = base.GiB, base.MiB
Invalid = cinder_exception.ManageExistingInvalidReference


class ManageVolumeTest(base.DriverTestCase):

    def make_file(self, name, size=GiB + 1, header=None):
        path = self.path(name)
        with open(path, 'wb') as f:
            f.truncate(size)
            if header:
                f.write(header)
        return path

    def assert_refused(self, ref, exc=Invalid, untouched=()):
        before = sorted(os.listdir(self.share))
        vol = self.volume()
        self.assertRaises(exc, self.driver.manage_existing_get_size, vol,
                          ref)
        self.assertRaises(exc, self.driver.manage_existing, vol, ref)
        self.assertEqual(before, sorted(os.listdir(self.share)))
        for path in untouched:
            self.assertTrue(os.path.lexists(path), path)

    def test_manage_renames_and_rounds_size_up(self):
        self.make_file('legacy-disk', size=GiB + 1)
        base.write_pattern(self.path('legacy-disk'), [0])
        digest = base.sha256_of(self.path('legacy-disk'))
        vol = self.volume(size=2)
        ref = {'source-name': 'legacy-disk'}
        self.assertEqual(2, self.driver.manage_existing_get_size(vol, ref))
        update = self.driver.manage_existing(vol, ref)
        self.assertEqual(self.share, update['provider_location'])
        self.assertFalse(os.path.exists(self.path('legacy-disk')))
        self.assertEqual(2 * GiB, os.path.getsize(self.path(vol.name)))
        self.assertEqual(digest,
                         base.sha256_of(self.path(vol.name), GiB + 1))

    def test_manage_by_absolute_path_and_subdirectory(self):
        os.mkdir(self.path('import'))
        self.make_file('import/disk')
        vol = self.volume(size=2)
        self.driver.manage_existing(
            vol, {'source-name': self.path('import/disk')})
        self.assertTrue(os.path.exists(self.path(vol.name)))
        self.assertEqual([], os.listdir(self.path('import')))

    def test_unmanage_renames_and_manage_again(self):
        vol = self.created_volume()
        self.driver.unmanage(vol)
        unmanaged = 'unmanaged-' + vol.name
        self.assertEqual([unmanaged], os.listdir(self.share))
        again = self.volume()
        self.driver.manage_existing(again, {'source-name': unmanaged})
        self.assertEqual([again.name], os.listdir(self.share))

    def test_unmanage_waits_for_a_manage_of_its_new_name(self):
        """The race test saw a manage of ``unmanaged-<name>`` overlap the
        unmanage that made that name: unmanage renames under the lock a
        manage of the new name takes."""
        vol = self.created_volume()
        unmanaged = 'unmanaged-' + vol.name
        self.assert_blocked_by(
            locks.for_manage_source(self.share, './' + unmanaged),
            self.driver.unmanage, vol)
        self.assertEqual([unmanaged], os.listdir(self.share))

    def test_unmanage_never_overwrites(self):
        vol = self.created_volume()
        victim = self.make_file('unmanaged-' + vol.name, size=123)
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.unmanage, vol)
        self.assertEqual(123, os.path.getsize(victim))
        self.assertTrue(os.path.exists(self.path(vol.name)))

    def test_refuses_dotdot(self):
        self.assert_refused({'source-name': '../etc/passwd'})
        self.assert_refused({'source-name': 'sub/../../x'})

    def test_refuses_absolute_path_outside_shares(self):
        self.assert_refused({'source-name': '/etc/passwd'},
                            untouched=['/etc/passwd'])

    def test_refuses_symlink_to_outside(self):
        os.symlink('/etc/passwd', self.path('evil'))
        self.assert_refused({'source-name': 'evil'},
                            untouched=[self.path('evil')])
        os.mkdir(self.path('real'))
        os.symlink('/etc', self.path('linkdir'))
        self.assert_refused({'source-name': 'linkdir/passwd'})

    def test_refuses_device_node_fifo_and_directory(self):
        os.mkfifo(self.path('fifo'))
        self.assert_refused({'source-name': 'fifo'})
        os.mkdir(self.path('adir'))
        self.assert_refused({'source-name': 'adir'})
        if os.geteuid() == 0:
            os.mknod(self.path('nullnode'), 0o600 | 0o020000,
                     os.makedev(1, 3))
            self.assert_refused({'source-name': 'nullnode'})

    def test_refuses_missing_file_and_missing_ref(self):
        self.assert_refused({'source-name': 'nope'})
        self.assert_refused({'source-id': 'x'})

    def test_refuses_already_managed_name(self):
        vol = self.created_volume()
        self.assert_refused({'source-name': vol.name},
                            exc=cinder_exception.ManageExistingAlreadyManaged)
        self.assertTrue(os.path.exists(self.path(vol.name)))

    def test_refuses_qcow2_naming_backing_file(self):
        header = test_nfs_driver.qcow2_header(b'/etc/shadow')
        self.make_file('trojan', header=header)
        self.assert_refused({'source-name': 'trojan'})

    def test_refuses_hidden_temporary_file(self):
        self.make_file('.cinder_ext-tmp-abc-12345678')
        self.assert_refused({'source-name': '.cinder_ext-tmp-abc-12345678'})


class ManageSnapshotTest(base.DriverTestCase):

    def test_unmanage_and_manage_snapshot(self):
        vol = self.created_volume()
        snap = self.created_snapshot(vol)
        self.driver.unmanage_snapshot(snap)
        unmanaged = 'unmanaged-' + snap.name
        self.assertTrue(os.path.exists(self.path(unmanaged)))
        self.assertFalse(os.path.exists(self.path(snap.name)))

        again = self.snapshot(vol)
        ref = {'source-name': unmanaged}
        self.assertEqual(
            1, self.driver.manage_existing_snapshot_get_size(again, ref))
        update = self.driver.manage_existing_snapshot(again, ref)
        self.assertEqual(self.share, update['provider_location'])
        self.assertTrue(os.path.exists(self.path(again.name)))

    def test_snapshot_unmanage_never_overwrites(self):
        snap = self.created_snapshot(self.created_volume())
        with open(self.path('unmanaged-' + snap.name), 'w') as f:
            f.write('keep')
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.unmanage_snapshot, snap)
        with open(self.path('unmanaged-' + snap.name)) as f:
            self.assertEqual('keep', f.read())


class ManageableListingTest(base.DriverTestCase):

    def listing(self, kind='volumes', cinder_objects=()):
        func = getattr(self.driver, 'get_manageable_' + kind)
        entries = func(list(cinder_objects), None, 1000, 0, ['size'],
                       ['asc'])
        # What the volume manager does with them: they must convert.
        list_cls = (objects.ManageableVolumeList if kind == 'volumes'
                    else objects.ManageableSnapshotList)
        self.assertEqual(len(entries),
                         len(list_cls.from_primitives(self.ctxt, entries)))
        return {e['reference']['source-name']: e for e in entries}

    def test_volume_listing_reasons(self):
        managed = self.created_volume()
        open(self.path('plain'), 'wb').close()
        with open(self.path('image.qcow2'), 'wb') as f:
            f.write(test_nfs_driver.qcow2_header(b'/etc/shadow'))
        os.symlink('/etc/passwd', self.path('link'))
        open(self.path('.cinder_ext-tmp-x-1'), 'wb').close()
        orphan = 'volume-%s' % uuid.uuid4()
        open(self.path(orphan), 'wb').close()
        snap = self.created_snapshot(managed)

        entries = self.listing('volumes', [managed])
        self.assertTrue(entries['plain']['safe_to_manage'])
        self.assertFalse(entries[managed.name]['safe_to_manage'])
        self.assertEqual(managed.id, entries[managed.name]['cinder_id'])
        self.assertIn('backing file',
                      entries['image.qcow2']['reason_not_safe'])
        self.assertFalse(entries[orphan]['safe_to_manage'])
        self.assertNotIn('link', entries)
        self.assertNotIn('.cinder_ext-tmp-x-1', entries)
        self.assertNotIn(snap.name, entries)

    def test_snapshot_listing(self):
        vol = self.created_volume()
        snap = self.created_snapshot(vol)
        self.driver.unmanage_snapshot(snap)
        entries = self.listing('snapshots', [])
        entry = entries['unmanaged-' + snap.name]
        self.assertTrue(entry['safe_to_manage'])
        self.assertEqual({'source-name': vol.name},
                         entry['source_reference'])
