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

"""Real filesystems and processes for the backup functional tests.

Each class mounts its own loop filesystem under /tmp/cinder-ext-backup-*
with tools/testfs (root needed; skipped cleanly without it).  Also what
several tests share of Cinder: a cinder.conf naming one NFS/POSIX backend,
and the class set-up of the tests checked against Cinder's own
PosixBackupDriver.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from tests.unit.backup import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TESTFS = os.path.join(ROOT, 'tools', 'testfs')
MiB = helpers.MiB
CINDER_CONF = """
[DEFAULT]
enabled_backends = be1
state_path = %(state)s

[coordination]
backend_url = file://%(locks)s

[be1]
volume_driver = cinder_ext.volume.nfs.NfsDriver
cinder_ext_shares = %(share)s
"""


def need_root(test):
    if os.geteuid() != 0:
        test.skipTest('needs root (loop mounts)')


def mount_testfs(fs, size='2G'):
    """Make and mount a loop filesystem; returns its directory."""
    directory = tempfile.mkdtemp(prefix='cinder-ext-backup-%s-' % fs)
    os.rmdir(directory)
    subprocess.run([TESTFS, 'up', fs, directory, size], check=True,
                   stdout=subprocess.DEVNULL)
    return directory


def unmount_testfs(directory):
    subprocess.run([TESTFS, 'down', directory], check=False)


def mount_tmpfs(size):
    directory = tempfile.mkdtemp(prefix='cinder-ext-backup-tmpfs-')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs',
                    directory], check=True)
    return directory


def unmount(directory):
    subprocess.run(['umount', directory], check=False)
    shutil.rmtree(directory, ignore_errors=True)


def cli(*args, check=False):
    """Run the command line in a new process (as cinder-ext-backup)."""
    return subprocess.run(
        [sys.executable, '-m', 'cinder_ext.backup.cli'] + list(args),
        cwd=ROOT, capture_output=True, text=True, check=check)


def cli_popen(*args):
    return subprocess.Popen(
        [sys.executable, '-m', 'cinder_ext.backup.cli'] + list(args),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def losetup(path):
    return subprocess.run(['losetup', '--find', '--show', path], check=True,
                          capture_output=True, text=True).stdout.strip()


def losetup_detach(device):
    subprocess.run(['losetup', '--detach', device], check=False)


def write_cinder_conf(directory, share):
    """Write ``directory``/cinder.conf: one backend, be1, with ``share``
    as its share, state in ``directory``, Cinder's coordinator on tooz
    file locks in ``directory``/locks (where a test can take the driver's
    lock itself).  Returns (the conf's path, the locks' directory)."""
    locks = os.path.join(directory, 'locks')
    conf = os.path.join(directory, 'cinder.conf')
    with open(conf, 'w') as f:
        f.write(CINDER_CONF % {'state': directory, 'locks': locks,
                               'share': share})
    return conf, locks


class CinderPosixClassMixin:
    """Class set-up for tests against Cinder's own PosixBackupDriver:
    ``build_pristine`` fills ``cls.pristine`` once per class, since
    Cinder's import and database migration cost seconds; tests must not
    change it.  Each test gets a scratch ``self.dir`` and ``self.rng``.
    One seed per class, printed: CINDER_EXT_TEST_SEED=<n> replays."""

    tmp_prefix = 'cinder-ext-cinder-'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seed = int(os.environ.get('CINDER_EXT_TEST_SEED') or
                       random.SystemRandom().randrange(2 ** 32))
        sys.stderr.write('%s seed=%d\n' % (cls.__name__, cls.seed))
        cls.pristine = tempfile.mkdtemp(prefix=cls.tmp_prefix)
        try:
            cls.build_pristine()
        except BaseException:
            # tearDownClass is not called when setUpClass fails
            shutil.rmtree(cls.pristine, True)
            raise

    @classmethod
    def build_pristine(cls):
        raise NotImplementedError

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pristine, True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix=self.tmp_prefix)
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.rng = random.Random('%d %s' % (self.seed, self.id()))

    @staticmethod
    def run_cinder_child(script, spec, out):
        """Run ``script`` SPEC OUT in a child process, which owns the
        global oslo.config Cinder's driver needs; the JSON it wrote to
        ``out``."""
        subprocess.run([sys.executable, os.path.abspath(script),
                        json.dumps(spec), out], check=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONWARNINGS='ignore'))
        with open(out) as f:
            return json.load(f)
