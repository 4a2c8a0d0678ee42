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

"""A test guest of this process's own with a fresh VG, for lvm_extra.

The tests run when CINDER_EXT_TEST_GUEST is set and skip otherwise.  Each
test process boots its own instance ``lvmextra-<pid>`` (one 4 GB data
disk, no export) and stops it at exit;
CINDER_EXT_LVM_EXTRA_GUEST=<name> uses (and keeps) a running instance
instead.  The VG has a thin pool ``pool`` like tests/functional/lvm's.
"""

import atexit
import os
import sys
import unittest
import uuid

from tests.functional import guest as functional_guest
from tests.functional.lvm import base

ENV = 'CINDER_EXT_TEST_GUEST'
NAME_ENV = 'CINDER_EXT_LVM_EXTRA_GUEST'
POOL = 'pool'
PREFIX = 'lvmextra-'
# The venv's python and console scripts: the guest sees the host's root.
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
HERE = os.path.dirname(os.path.abspath(__file__))

_state = {}


def guest():
    """(guest, vg); raises SkipTest when the test guest is not enabled."""
    if not os.environ.get(ENV):
        raise unittest.SkipTest('%s is not set: no test guest' % ENV)
    if not _state:
        from tests.guest import Guest
        name = os.environ.get(NAME_ENV)
        g = Guest(name or '%s%d' % (PREFIX, os.getpid()), disks=['4G'],
                  export=False)
        if not name:
            functional_guest.reap_orphans(PREFIX)
            atexit.register(functional_guest.discard, g)
        g.start()
        disk, lock = base._take_disk(g)
        vg = 'cxt-%s' % uuid.uuid4().hex[:6]
        base._make_vg(g, disk, vg)
        _state.update(guest=g, vg=vg, lock=lock)
    return _state['guest'], _state['vg']


def sh(g, script, timeout=300):
    return base.sh(g, script, timeout)


def remove_volumes(g, vg):
    """Remove the LVs the drivers made (named volume-*)."""
    g.run(['sh', '-c', 'lvs --noheadings -o lv_full_name -S '
           '"lv_name=~^volume-" %s | xargs -r lvremove -f -y' % vg])
