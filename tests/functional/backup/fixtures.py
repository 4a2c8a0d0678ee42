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
with tools/testfs (root needed; skipped cleanly without it).
"""

import os
import shutil
import subprocess
import sys
import tempfile

from tests.unit.backup import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TESTFS = os.path.join(ROOT, 'tools', 'testfs')
MiB = helpers.MiB


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
