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

"""Tests of the test guest itself and of the NFS mount path in it.

They run when CINDER_EXT_TEST_GUEST is set (tools/run-tests' guest stage):
``1`` boots a fresh instance ``functional-<pid>`` once per test process
(stestr --concurrency 1 boots one guest; more workers boot one each) and
stops and removes it at exit, after stopping the instances of test
processes that died; any other value names a running instance to use
(``tools/guest start --name dev``), which is left running.
"""

import atexit
import os
import shutil

from tests.guest import config
from tests.guest import Guest

ENV = 'CINDER_EXT_TEST_GUEST'
PREFIX = 'functional-'
_state = {}


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def discard(instance):
    """Stop an instance and remove its run directory (disk images)."""
    instance.stop()
    shutil.rmtree(instance.rd, ignore_errors=True)


def reap_orphans(prefix=PREFIX):
    """Instances ``<prefix><pid>[-...]`` whose test process died (they
    outlive it by design)."""
    try:
        names = os.listdir(config.RUN)
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split('-')[0]
        if name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
            discard(Guest(name))


def shared_image(name):
    """The image the instance shares with a second one (test_shared)."""
    return os.path.join(config.run_dir(name), 'shared.img')


def guest(testcase):
    """The shared guest, booted on first use; skips without ENV/root."""
    value = os.environ.get(ENV)
    if not value or os.geteuid() != 0:
        testcase.skipTest('needs root and %s (tools/run-tests guest)' % ENV)
    if 'error' in _state:
        raise _state['error']
    if 'guest' not in _state:
        try:
            if value == '1':
                reap_orphans()
                name = '%s%d' % (PREFIX, os.getpid())
                instance = Guest(name, disks=['4G', '4G'],
                                 shared_disks=[(shared_image(name), '1G')])
                atexit.register(discard, instance)
                instance.start()
            else:
                instance = Guest(value).wait_ready(timeout=5)
        except Exception as exc:
            _state['error'] = exc
            raise
        _state['guest'] = instance
    return _state['guest']
