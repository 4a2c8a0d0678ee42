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

"""A share is untrusted ground: what other clients plant on it must never
stop the backend, make it touch anything outside its shares, or lose data.
"""

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import uuid

from cinder import exception as cinder_exception

from cinder_ext import exception
from cinder_ext import locks
from cinder_ext.privileged import fileops
from cinder_ext.storage import fileio
from tests import base

GiB, MiB = base.GiB, base.MiB


class PlantedNamesTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.outside = tempfile.mkdtemp(prefix='cinder-ext-outside-')
        self.addCleanup(base.shutil.rmtree, self.outside)
        self.victim = os.path.join(self.outside, 'victim')
        with open(self.victim, 'w') as f:
            f.write('precious')

    def test_symlink_named_like_a_half_made_file_is_left_alone(self):
        planted = fileio.temp_name(str(uuid.uuid4()))
        os.symlink(self.victim, self.path(planted))
        self.driver = self.make_driver()   # starts, sweeps
        self.assertTrue(os.path.islink(self.path(planted)))
        with open(self.victim) as f:
            self.assertEqual('precious', f.read())

    def test_malformed_temporary_names_are_not_ours(self):
        for name in ('.cinder_ext-tmp-x-deadbeef',
                     '.cinder_ext-tmp-%s-XYZ' % uuid.uuid4()):
            open(self.path(name), 'w').close()
            self.assertIsNone(fileio.temp_key(name))
        self.driver = self.make_driver()
        self.assertTrue(os.path.exists(self.path(
            '.cinder_ext-tmp-x-deadbeef')))

    def test_planted_fifo_and_directory_do_not_stop_the_start(self):
        os.mkfifo(self.path(fileio.temp_name(str(uuid.uuid4()))))
        os.mkdir(self.path(fileio.temp_name(str(uuid.uuid4()))))
        self.driver = self.make_driver()
        self.assertEqual([], self.driver.shares.stores()[0][0].temp_files())

    def test_temporary_prefix_never_reaches_outside_the_share(self):
        os.symlink(self.outside, self.path('.cinder_ext-tmp-x'))
        for name in ('.cinder_ext-tmp-x/victim', '../outside/victim'):
            self.assertRaises(exception.InvalidName, fileio.remove,
                              self.share, name)
            self.assertRaises(exception.InvalidName, fileio.clone,
                              self.share, name, 'volume-new', GiB, False,
                              str(uuid.uuid4()))
        self.assertTrue(os.path.exists(self.victim))

    def test_fifo_under_a_volume_name_does_not_block(self):
        vol = self.created_volume()
        os.unlink(self.path(vol.name))
        os.mkfifo(self.path(vol.name))
        for call in (lambda: self.driver.extend_volume(vol, 2),
                     lambda: self.driver.create_cloned_volume(
                         self.volume(), vol)):
            done, errors = threading.Event(), []

            def run():
                try:
                    call()
                except Exception as exc:
                    errors.append(exc)
                done.set()
            threading.Thread(target=run, daemon=True).start()
            self.assertTrue(done.wait(10), 'blocked on a FIFO')
            self.assertIsInstance(
                errors[0], cinder_exception.VolumeBackendAPIException)

    def test_copy_to_image_refuses_a_volume_swapped_for_a_symlink(self):
        vol = self.created_volume()
        os.unlink(self.path(vol.name))
        os.symlink(self.victim, self.path(vol.name))
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.copy_volume_to_image, self.ctxt, vol,
                          None, {'id': 'i', 'disk_format': 'raw'})
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.copy_image_to_volume, self.ctxt, vol,
                          None, 'image')
        with open(self.victim) as f:
            self.assertEqual('precious', f.read())


class PrivilegedConfinementTest(base.DriverTestCase):
    """The entry points accept only configured share roots (in-process
    here; tests/functional/test_privsep_daemon.py starts the daemon)."""

    def test_unconfigured_roots_are_refused(self):
        outside = tempfile.mkdtemp(prefix='cinder-ext-outside-')
        self.addCleanup(base.shutil.rmtree, outside)
        with open(os.path.join(outside, 'secret'), 'w') as f:
            f.write('x')
        for call in (lambda: fileops.inspect(outside, 'secret'),
                     lambda: fileops.remove(outside, 'secret'),
                     lambda: fileops.create(outside, 'volume-x', 1, False,
                                            str(uuid.uuid4())),
                     lambda: fileops.write_probe(outside),
                     lambda: fileops.scan('/etc')):
            self.assertRaises(exception.OutsideShares, call)
        self.assertEqual(['secret'], os.listdir(outside))

    def test_header_reads_are_capped(self):
        vol = self.created_volume()
        found = fileops.inspect(self.share, vol.name, 10 * MiB)
        self.assertEqual(fileio.MAX_HEADER, len(found['header']))


class StatsTest(base.DriverTestCase):

    def test_reserved_space_is_left_to_the_scheduler(self):
        self.driver = self.make_driver(reserved_percentage=50)
        self.driver._update_volume_stats()
        stats = self.driver._stats
        st = os.statvfs(self.share)
        free_gb = st.f_bavail * st.f_frsize / GiB
        self.assertEqual(50, stats['reserved_percentage'])
        # Not halved here: Cinder's CapacityFilter takes the 50% off.
        self.assertAlmostEqual(free_gb, stats['free_capacity_gb'], delta=1)


class InUseCopyTest(base.DriverTestCase):

    def test_clone_of_attached_volume_needs_reflink(self):
        self.driver = self.make_driver(cinder_ext_copy_method='copy')
        src = self.created_volume(status='in-use')
        clone = self.volume()
        self.assertRaises(cinder_exception.VolumeBackendAPIException,
                          self.driver.create_cloned_volume, clone, src)
        self.assertFalse(os.path.exists(self.path(clone.name)))
        src.status = 'available'
        self.driver.create_cloned_volume(clone, src)
        self.assertTrue(os.path.exists(self.path(clone.name)))


class ManageInputTest(base.DriverTestCase):

    def raw_file(self, name, size=MiB):
        with open(self.path(name), 'wb') as f:
            f.truncate(size)
        return name

    def test_names_with_control_characters_are_refused(self):
        name = self.raw_file('evil\nname')
        self.assertRaises(cinder_exception.ManageExistingInvalidReference,
                          self.driver.manage_existing, self.volume(),
                          {'source-name': name})
        self.assertTrue(os.path.exists(self.path(name)))

    def test_file_open_for_writing_elsewhere_is_refused(self):
        name = self.raw_file('busy')
        writer = subprocess.Popen(
            [sys.executable, '-c', 'import sys, time; '
             'f = open(sys.argv[1], "r+b"); print("open", flush=True); '
             'time.sleep(60)', self.path(name)], stdout=subprocess.PIPE)
        self.addCleanup(writer.wait)
        self.addCleanup(writer.kill)
        self.assertEqual(b'open\n', writer.stdout.readline())
        exc = self.assertRaises(
            cinder_exception.ManageExistingInvalidReference,
            self.driver.manage_existing, self.volume(),
            {'source-name': name})
        self.assertIn('open for writing', str(exc))
        writer.kill()
        writer.wait()
        vol = self.volume()
        self.driver.manage_existing(vol, {'source-name': name})
        self.assertTrue(os.path.exists(self.path(vol.name)))

    def test_failed_grow_puts_the_file_back(self):
        name = self.raw_file('big', GiB + MiB)   # Cinder records 2 GiB
        vol = self.volume()
        old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
        old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (GiB + 2 * MiB, old_limit[1]))
        try:
            self.assertRaises(cinder_exception.VolumeBackendAPIException,
                              self.driver.manage_existing, vol,
                              {'source-name': name})
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
            signal.signal(signal.SIGXFSZ, old_handler)
        self.assertEqual(GiB + MiB, os.path.getsize(self.path(name)))
        self.assertFalse(os.path.exists(self.path(vol.name)))

    def test_manage_holds_the_source_lock(self):
        name = self.raw_file('source')
        vol = self.volume()
        self.assert_blocked_by(
            locks.for_manage_source(self.share, name),
            self.driver.manage_existing, vol, {'source-name': name})
        self.assertTrue(os.path.exists(self.path(vol.name)))
