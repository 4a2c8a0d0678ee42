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

"""Two test guests of this process's own: an iSCSI target and an initiator.

The tests run when CINDER_EXT_TEST_GUEST is set and skip otherwise.  Each
test process boots ``lvmattach-<pid>-t`` (the target: one 4 GB data disk
with a VG and thin pool ``pool``, LIO) and ``lvmattach-<pid>-i`` (the
initiator: iscsid) and stops both at exit;
CINDER_EXT_LVM_ATTACH_GUESTS=<name> uses (and keeps) running instances
``<name>-t`` and ``<name>-i`` started with the same forwards and port.

Network: the guests share no network (qemu user networking, restrict=on,
each its own 10.0.2.15).  The target's hostfwd puts its port PORT on the
host's 127.0.0.1:PORT; the initiator's guestfwd relays 10.0.2.100:PORT to
that host port.  LIO listens on the target's own 10.0.2.15:PORT, so the
portal the driver reports is right but for its address, which only the
initiator's side of the test translates (10.0.2.15 -> 10.0.2.100).
"""

import atexit
import os
import socket
import threading
import unittest
import uuid

from tests.functional import guest as functional_guest
from tests.functional.lvm import base
from tests.functional.lvm_extra import test_export

ENV = 'CINDER_EXT_TEST_GUEST'
NAME_ENV = 'CINDER_EXT_LVM_ATTACH_GUESTS'
PORT_ENV = 'CINDER_EXT_LVM_ATTACH_PORT'
PREFIX = 'lvmattach-'
POOL = 'pool'
TARGET_ADDRESS = '10.0.2.15'    # the target guest's own address
HOST_SIDE_ADDRESS = '10.0.2.100'   # qemu.GUEST_FWD_ADDRESS
INITIATOR_IQN = 'iqn.1993-08.org.debian:01:%s'

_state = {}


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def guests():
    """{'target', 'initiator', 'vg', 'port'}; SkipTest when not enabled."""
    if not os.environ.get(ENV):
        raise unittest.SkipTest('%s is not set: no test guest' % ENV)
    if not _state:
        _state.update(_boot())
    return _state


def _boot():
    from tests.guest import Guest
    name = os.environ.get(NAME_ENV)
    port = int(os.environ.get(PORT_ENV) or _free_port())
    base_name = name or '%s%d' % (PREFIX, os.getpid())
    target = Guest(base_name + '-t', disks=['4G'], export=False,
                   host_forwards=[(port, port)])
    initiator = Guest(base_name + '-i', export=False,
                      guest_forwards=[port])
    if not name:
        functional_guest.reap_orphans(PREFIX)
        for g in (target, initiator):
            atexit.register(functional_guest.discard, g)
    # TCG boots are slow: both at once (two host cores)
    booting = threading.Thread(target=initiator.start)
    booting.start()
    target.start()
    booting.join()
    initiator.wait_ready(timeout=60)
    disk, lock = base._take_disk(target)
    vg = 'cxa-%s' % uuid.uuid4().hex[:6]
    base._make_vg(target, disk, vg)
    test_export.prepare_lio(target)
    iqn = INITIATOR_IQN % initiator.name
    base.sh(initiator, 'modprobe -a iscsi_tcp sd_mod && mkdir -p /etc/iscsi '
            '/run/lock/iscsi /run/lock/os-brick && echo InitiatorName=%s > '
            '/etc/iscsi/initiatorname.iscsi && (pgrep -x iscsid >/dev/null '
            '|| iscsid)' % iqn)
    return {'target': target, 'initiator': initiator, 'vg': vg,
            'port': port, 'lock': lock, 'initiator_iqn': iqn}
