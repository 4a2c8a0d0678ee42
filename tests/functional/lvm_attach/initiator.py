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

"""The initiator guest as Nova's compute: os-brick (brick_call.py) for
connect/disconnect, dd and sha256sum on the device it returns."""

import json
import os

from tests.functional.lvm import base
from tests.functional.lvm_attach import guests
from tests.functional.lvm_extra import fixture

BRICK_CALL = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'brick_call.py')
PYTHON = os.path.join(fixture.VENV_BIN, 'python')
# os-brick's external locks; importing it under TCG takes a while
ENV = {'OSLO_LOCK_PATH': '/run/lock/os-brick', 'PATH': '/usr/sbin:/usr/bin:'
       '/sbin:/bin', 'PYTHONDONTWRITEBYTECODE': '1'}


def reachable(data):
    """The connection info as the initiator guest can dial it.

    The only change: the portal's address.  The driver reports the
    target guest's own address, which in the initiator guest's separate
    user network is the initiator itself; the initiator reaches the target
    at the host-side relay address with the same port.  IQN, LUN and CHAP
    are the driver's (the test asserts so)."""
    address, port = data['target_portal'].rsplit(':', 1)
    assert address == guests.TARGET_ADDRESS, data['target_portal']
    return dict(data, target_portal='%s:%s' % (guests.HOST_SIDE_ADDRESS,
                                               port))


class Initiator(object):
    def __init__(self, guest):
        self.guest = guest

    def brick(self, op, request=None):
        rc, out, err = self.guest.run(
            [PYTHON, BRICK_CALL, op], timeout=900, env=ENV,
            input=None if request is None else json.dumps(request))
        if rc:
            raise AssertionError('brick_call %s failed (%s):\n%s'
                                 % (op, rc, err[-6000:]))
        return json.loads(out)

    def properties(self):
        return self.brick('properties')

    def connect(self, data):
        """os-brick's connect_volume; its device info."""
        return self.brick('connect', data)

    def disconnect(self, data, device_info):
        self.brick('disconnect', {'data': data, 'device_info': device_info})

    def sessions(self):
        """Target IQNs of the initiator's iSCSI sessions (sysfs)."""
        return base.sh(self.guest, 'cat /sys/class/iscsi_session/*/'
                       'targetname 2>/dev/null || true').split()

    def exists(self, path):
        return self.guest.run(['test', '-b', path])[0] == 0

    def size(self, dev):
        return int(base.sh(self.guest, 'blockdev --getsize64 %s' % dev))

    def write(self, dev, offset_mib, count_mib):
        """Random data at an offset, written through; its sha256."""
        return base.sh(self.guest, (
            'p=$(mktemp) && dd if=/dev/urandom of=$p bs=1M count=%d '
            'iflag=fullblock status=none && dd if=$p of=%s bs=1M seek=%d '
            'oflag=direct conv=notrunc,fsync status=none && sha256sum < $p '
            '&& rm -f $p') % (count_mib, dev, offset_mib)).split()[0]

    def sha(self, dev, offset_mib, count_mib):
        return base.sh(self.guest, 'dd if=%s bs=1M skip=%d count=%d '
                       'iflag=direct status=none | sha256sum'
                       % (dev, offset_mib, count_mib)).split()[0]
