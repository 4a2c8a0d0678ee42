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

"""stdin/stdout <-> a TCP port on the host: qemu's guestfwd ``cmd:`` end.

qemu runs this for each connection the guest opens to a forwarded address;
a chardev target would instead connect once, at qemu's start, and fail when
the host service is not up yet.
"""

import os
import socket
import sys
import threading


def main(host, port):
    sock = socket.create_connection((host, int(port)))

    def pump_in():
        while True:
            data = os.read(0, 65536)
            if not data:
                sock.shutdown(socket.SHUT_WR)
                return
            sock.sendall(data)

    threading.Thread(target=pump_in, daemon=True).start()
    while True:
        data = sock.recv(65536)
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]


if __name__ == '__main__':
    main(*sys.argv[1:3])
