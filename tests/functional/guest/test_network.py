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

"""The guest's network: only the forwarded 127.0.0.1 ports, both ways.

What the coming multi-guest work needs: a guest reaching the host's etcd
(guestfwd) and the host reaching a service in a guest (hostfwd), with
nothing else reachable (user networking with restrict=on).
"""

import socket
import threading
import unittest

from tests.functional import guest as fixture
from tests.guest import Guest
from tests.guest import qemu

GUEST_PORT = 8000
CONNECT = '''
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    print(s.recv(64).decode())
except OSError as exc:
    print('refused' if isinstance(exc, ConnectionRefusedError) else exc)
'''
SERVE_ONCE = '''
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', %d))
s.listen(1)
open('/run/ceg-listening', 'w').close()
c, _ = s.accept()
c.sendall(b'guest-ok')
c.close()
''' % GUEST_PORT


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class ForwardTest(unittest.TestCase):
    guest = None

    @classmethod
    def tearDownClass(cls):
        if cls.guest is not None:
            fixture.discard(cls.guest)
            cls.server.close()

    def setUp(self):
        base = fixture.guest(self)
        cls = type(self)
        if cls.guest is None:    # one boot for the class
            cls.server = socket.socket()
            cls.server.bind(('127.0.0.1', 0))
            cls.server.listen(4)
            cls.host_port = cls.server.getsockname()[1]
            cls.fwd_port = _free_port()
            threading.Thread(target=cls.serve, daemon=True).start()
            cls.guest = Guest(base.name + '-n', export=False,
                              guest_forwards=[cls.host_port],
                              host_forwards=[(cls.fwd_port, GUEST_PORT)])
            cls.guest.start()

    @classmethod
    def serve(cls):
        while True:
            try:
                conn, _ = cls.server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b'host-ok')

    def connect_from_guest(self, address, port):
        return self.guest.execute('python3', '-c', CONNECT, address, port,
                                  timeout=60)[0].strip()

    def test_guest_reaches_forwarded_host_port_only(self):
        self.assertEqual('host-ok', self.connect_from_guest(
            qemu.GUEST_FWD_ADDRESS, self.host_port))
        # The host itself (the user-net gateway) is not reachable.
        self.assertEqual('refused', self.connect_from_guest(
            '10.0.2.2', self.host_port))

    def test_host_reaches_guest_through_host_forward(self):
        self.guest.execute('sh', '-c', 'setsid python3 -c "$0" '
                           '</dev/null >/dev/null 2>&1 &', SERVE_ONCE)
        self.guest.execute('sh', '-c', 'for i in $(seq 100); do '
                           '[ -e /run/ceg-listening ] && exit 0; sleep 0.2; '
                           'done; exit 1', timeout=60)
        with socket.create_connection(('127.0.0.1', self.fwd_port),
                                      timeout=30) as conn:
            self.assertEqual(b'guest-ok', conn.recv(64))


if __name__ == '__main__':
    unittest.main()
