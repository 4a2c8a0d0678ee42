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

"""The host side of one guest instance: runs qemu, relays commands.

``python3 -m tests.guest.relay NAME`` (started detached by ``Guest.start``)
reads ``spec.json`` in the instance's run directory, starts qemu with a
virtio-serial port on two FIFOs (``cmd.in``/``cmd.out``; a socket chardev
would read EOF in the guest while no client is connected) and serves a
Unix socket ``sock`` there.  Clients send the agent's JSON lines (see
``agent.py``) with their own ids; the relay renumbers them, so any number
of processes and threads share the one port.  Its own requests:
``{"op": "status"}`` and ``{"op": "stop"}``.  It exits when qemu does.
"""

import ctypes
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from tests.guest import config


class Relay:
    def __init__(self, name):
        self.name = name
        self.rd = config.run_dir(name)
        with open(os.path.join(self.rd, 'spec.json')) as f:
            self.spec = json.load(f)
        self.ids = itertools.count(1)
        self.pending = {}           # relay id -> (connection, client id)
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.hello = {}
        self.started = time.time()
        self.state = 'booting'

    def start_qemu(self):
        fifo = os.path.join(self.rd, 'cmd')
        for end in ('.in', '.out'):
            if os.path.exists(fifo + end):
                os.unlink(fifo + end)
            os.mkfifo(fifo + end, 0o600)
        # O_RDWR: opening a FIFO this way never blocks on the other end.
        self.to_guest = os.open(fifo + '.in', os.O_RDWR)
        self.from_guest = os.open(fifo + '.out', os.O_RDWR)
        log = open(os.path.join(self.rd, 'qemu.log'), 'ab')
        self.qemu = subprocess.Popen(self.spec['argv'],
                                     stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log,
                                     preexec_fn=_die_with_parent)
        with open(os.path.join(self.rd, 'qemu.pid'), 'w') as f:
            f.write(str(self.qemu.pid))

    def send_guest(self, message):
        data = (json.dumps(message) + '\n').encode()
        with self.lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.to_guest, view):]

    def read_guest(self):
        buf = b''
        while True:
            chunk = os.read(self.from_guest, 65536)
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b'\n')
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get('op') == 'hello':
                    self.on_hello(message)
                    continue
                with self.lock:
                    target = self.pending.pop(message.get('id'), None)
                if target:
                    conn, client_id = target
                    message['id'] = client_id
                    conn.send(message)

    def on_hello(self, message):
        self.hello = message
        self.hello['ready_s'] = round(time.time() - self.started, 2)
        self.state = 'running'
        # An agent that restarted lost what it was running.
        with self.lock:
            lost, self.pending = self.pending, {}
        for conn, client_id in lost.values():
            conn.send({'id': client_id, 'error': 'the guest agent restarted'})
        self.ready.set()

    def status(self):
        return dict(self.hello, state=self.state, name=self.name,
                    qemu_pid=self.qemu.pid, relay_pid=os.getpid(),
                    uptime_s=round(time.time() - self.started, 1),
                    spec={k: v for k, v in self.spec.items() if k != 'argv'})

    def serve(self):
        path = os.path.join(self.rd, 'sock')
        if os.path.exists(path):
            os.unlink(path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(64)
        threading.Thread(target=self.accept, args=(server,),
                         daemon=True).start()

    def accept(self, server):
        while True:
            sock, _ = server.accept()
            threading.Thread(target=_Connection(self, sock).serve,
                             daemon=True).start()

    def stop(self, timeout=10):
        self.state = 'stopping'
        if self.ready.is_set():
            try:
                self.send_guest({'id': 0, 'op': 'poweroff'})
                self.qemu.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.qemu.poll() is None:
            self.qemu.terminate()
            try:
                self.qemu.wait(5)
            except subprocess.TimeoutExpired:
                self.qemu.kill()

    def run(self):
        self.start_qemu()
        self.serve()
        threading.Thread(target=self.read_guest, daemon=True).start()
        signal.signal(signal.SIGTERM, lambda *a: self.stop())
        rc = self.qemu.wait()
        self.state = 'stopped'
        with self.lock:
            lost, self.pending = self.pending, {}
        for conn, client_id in lost.values():
            conn.send({'id': client_id, 'error': 'the guest stopped'})
        for leftover in ('sock', 'cmd.in', 'cmd.out', 'qemu.pid',
                         'relay.pid'):
            try:
                os.unlink(os.path.join(self.rd, leftover))
            except OSError:
                pass
        print('qemu exited with %s' % rc, flush=True)


def _die_with_parent():
    """qemu gets SIGTERM when the relay dies, even by SIGKILL: no orphan
    guest keeps a disk image open."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class _Connection:
    def __init__(self, relay, sock):
        self.relay = relay
        self.sock = sock
        self.lock = threading.Lock()

    def send(self, message):
        try:
            with self.lock:
                self.sock.sendall((json.dumps(message) + '\n').encode())
        except OSError:
            pass    # the client went away; its answer is dropped

    def serve(self):
        relay = self.relay
        with self.sock, self.sock.makefile('rb') as lines:
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                op = message.get('op')
                if op == 'status':
                    self.send(dict(relay.status(), id=message.get('id')))
                elif op == 'stop':
                    relay.stop()
                    self.send({'id': message.get('id'), 'state': 'stopped'})
                elif relay.state != 'running':
                    self.send({'id': message.get('id'),
                               'error': 'the guest is %s' % relay.state})
                else:
                    rid = next(relay.ids)
                    with relay.lock:
                        relay.pending[rid] = (self, message.get('id'))
                    message['id'] = rid
                    relay.send_guest(message)


def main(name):
    relay = Relay(name)
    # Detach: the starter reaps this process at once; the relay lives on.
    # relay.pid is written before the starter returns.
    pid = os.fork()
    if pid:
        with open(os.path.join(relay.rd, 'relay.pid'), 'w') as f:
            f.write(str(pid))
        os._exit(0)
    relay.run()


if __name__ == '__main__':
    main(sys.argv[1])
