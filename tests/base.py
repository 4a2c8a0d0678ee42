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

"""A real cinder test environment for the driver.

cinder's own TestCase gives a sqlite database with real volume and
snapshot objects and, with MOCK_TOOZ off, real tooz file locks.  The share
is a real directory; file operations run in-process through the privsep
entry points (client mode off), so the privileged layer is exercised too.
"""

import hashlib
import os
import shutil
import tempfile
import threading

from cinder import context
from cinder.tests.unit import test
from cinder.tests.unit import utils as cinder_utils
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_config import cfg

from cinder_ext import opts
from cinder_ext import privileged
from cinder_ext.volume import nfs

GiB = 1024 ** 3
MiB = 1024 ** 2
BACKEND = 'cinder-ext'


def empty_dir(path):
    """Remove everything inside ``path`` (a test share), not ``path``."""
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def sha256_of(path, size=None):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        remaining = size if size is not None else os.fstat(f.fileno()).st_size
        while remaining > 0:
            chunk = f.read(min(remaining, 4 * MiB))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def write_pattern(path, offsets, length=MiB, seed=b'cinder-ext'):
    """Write pseudo-random blocks at offsets; returns the blocks."""
    blocks = {}
    with open(path, 'r+b') as f:
        for offset in offsets:
            block = hashlib.sha256(seed + str(offset).encode()).digest()
            block = (block * (length // len(block) + 1))[:length]
            f.seek(offset)
            f.write(block)
            blocks[offset] = block
    return blocks


class DriverTestCase(test.TestCase):
    MOCK_TOOZ = False
    share_dir = None

    def setUp(self):
        super().setUp()
        privileged.default.set_client_mode(False)
        self.addCleanup(privileged.default.set_client_mode, True)
        self.ctxt = context.get_admin_context()
        if self.share_dir is None:
            self.share = tempfile.mkdtemp(prefix='cinder-ext-share-')
            self.addCleanup(shutil.rmtree, self.share)
        else:
            self.share = self.share_dir
        self.driver = self.make_driver()

    def make_driver(self, shares=None, cluster_name=None, **overrides):
        conf = configuration.Configuration(cinder_driver.volume_opts,
                                           config_group=BACKEND)
        conf.append_config_values(opts.cinder_ext_opts)
        for opt in opts.cinder_ext_opts:  # each driver starts from defaults
            cfg.CONF.clear_override(opt.name, group=BACKEND)
        # The privileged entry points accept only the share roots of the
        # backends cinder.conf enables, as the real daemon does.
        self.override_config('enabled_backends', [BACKEND])
        settings = {'cinder_ext_shares': shares or [self.share],
                    'volume_backend_name': BACKEND}
        settings.update(overrides)
        for key, value in settings.items():
            self.override_config(key, value, group=BACKEND)
        drv = nfs.NfsDriver(configuration=conf, cluster_name=cluster_name)
        drv.do_setup(self.ctxt)
        drv.check_for_setup_error()
        return drv

    def path(self, name):
        return os.path.join(self.share, name)

    def volume(self, size=1, **kwargs):
        kwargs.setdefault('volume_type_id', None)
        return cinder_utils.create_volume(self.ctxt, size=size,
                                          testcase_instance=self, **kwargs)

    def created_volume(self, size=1, **kwargs):
        vol = self.volume(size, **kwargs)
        vol.update(self.driver.create_volume(vol))
        vol.save()
        return vol

    def snapshot(self, volume):
        snap = cinder_utils.create_snapshot(self.ctxt, volume.id,
                                            testcase_instance=self)
        snap.volume_size = volume.size
        return snap

    def created_snapshot(self, volume):
        snap = self.snapshot(volume)
        snap.update(self.driver.create_snapshot(snap))
        snap.save()
        return snap

    def assert_blocked_by(self, lock_name, func, *args):
        """``func`` waits while another holder has ``lock_name``."""
        from cinder import coordination
        lock = coordination.COORDINATOR.get_lock(lock_name)
        self.assertTrue(lock.acquire())
        done = threading.Event()
        errors = []

        def run():
            try:
                func(*args)
            except Exception as exc:  # reported below
                errors.append(exc)
            done.set()
        worker = threading.Thread(target=run)
        worker.start()
        try:
            self.assertFalse(done.wait(0.5),
                             '%s ran while %s was held' % (func, lock_name))
        finally:
            lock.release()
        self.assertTrue(done.wait(30))
        worker.join()
        self.assertEqual([], errors)
