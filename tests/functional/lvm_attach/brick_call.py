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

"""os-brick's iSCSI connector as Nova's compute runs it; runs in the
initiator guest under the venv's python (the guest sees the host's root).

    brick_call.py properties     -> get_connector_properties' dict
    brick_call.py connect        stdin: the connection info's 'data'
                                 -> connect_volume's device info
    brick_call.py disconnect     stdin: {"data": ..., "device_info": ...}

One JSON document on stdout.  Privsep runs in-process (we are root, as in
Nova's functional tests); os-brick's external locks need a lock path,
OSLO_LOCK_PATH (set by the caller).
"""

import json
import socket
import sys

from os_brick.initiator import connector
from os_brick import privileged


def main(op):
    privileged.default.set_client_mode(False)
    if op == 'properties':
        # root_helper is unused: privsep runs in-process
        result = connector.get_connector_properties(
            None, '10.0.2.15', False, False, host=socket.gethostname())
    else:
        request = json.load(sys.stdin)
        conn = connector.InitiatorConnector.factory(
            'ISCSI', None, use_multipath=False)
        if op == 'connect':
            result = conn.connect_volume(request)
        else:
            conn.disconnect_volume(request['data'], request['device_info'])
            result = {}
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1])
