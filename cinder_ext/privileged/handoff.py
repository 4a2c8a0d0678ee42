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

"""Hand an open file descriptor from the privsep daemon to the service.

Image copies run qemu-img (as root) and glance uploads on a volume file.
Given a path, they would follow a symlink planted on the share meanwhile;
given ``/proc/<pid>/fd/<n>`` of a descriptor opened without following
links, they reach that file and nothing else.  oslo.privsep cannot carry
descriptors, so the daemon sends it over a Unix socket (SCM_RIGHTS) in a
directory only the service can enter.
"""

import os
import socket
import tempfile

from cinder_ext import exception

_TIMEOUT = 30


def send_fd(sock_path, fd):
    """Daemon side: send ``fd`` to the service listening at ``sock_path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_TIMEOUT)
        sock.connect(sock_path)
        socket.send_fds(sock, [b'fd'], [fd])


def receive_fd(request):
    """Service side: call ``request(sock_path)``, which makes the daemon
    send one descriptor to ``sock_path``; return that descriptor.

    Only root (the daemon) or this service's own user may be the sender.
    """
    with tempfile.TemporaryDirectory(prefix='cinder_ext-fd-') as private:
        os.chmod(private, 0o700)
        path = os.path.join(private, 'sock')
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(1)
            server.settimeout(_TIMEOUT)
            # The daemon connects and sends before it returns: the message
            # waits in the listening socket's queue until accepted below.
            request(path)
            conn, _addr = server.accept()
            with conn:
                creds = conn.getsockopt(socket.SOL_SOCKET,
                                        socket.SO_PEERCRED, 12)
                uid = int.from_bytes(creds[4:8], 'little')
                _msg, fds, _flags, _addr = socket.recv_fds(conn, 16, 1)
                if uid not in (0, os.getuid()) or len(fds) != 1:
                    for fd in fds:
                        os.close(fd)
                    raise exception.StorageError(
                        operation='open', name=path, location='privsep',
                        reason='descriptor from an unexpected sender')
                return fds[0]


def fd_path(fd):
    """A path that opens exactly the file behind this process's ``fd``."""
    return '/proc/%d/fd/%d' % (os.getpid(), fd)
