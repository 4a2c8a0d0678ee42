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

"""The test guest's command agent: runs argv lists sent over virtio-serial.

Runs in the guest under busybox init (respawned if it dies), with only the
standard library (Python is 12-17x slower there; imports cost).  Protocol:
one JSON object per line each way.  A request
``{"id": N, "argv": [...], "input": b64|null, "env": {...}|null,
"cwd": str|null, "timeout": seconds|null}`` gets
``{"id": N, "rc": int, "out": b64, "err": b64}``, with ``"timeout": true``
(rc -9) when killed at its timeout and ``"errno"`` (rc 127) when argv[0]
cannot be run; ``"env_replace": true`` makes ``env`` the whole environment
(as processutils' ``env_variables`` does).  Each request runs in its
own thread, so a long command does not hold up the others.
``{"id": N, "op": "poweroff"}`` powers the guest off.  On start the agent
sends ``{"op": "hello", "setup_failed": str, "boot_s": float}``.
"""

import base64
import json
import os
import subprocess
import threading

PORT_NAME = 'cinder-ext.cmd'
BASE_ENV = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': '/root',
            'LANG': 'C.UTF-8'}


def find_port():
    root = '/sys/class/virtio-ports'
    for port in sorted(os.listdir(root)):
        with open(os.path.join(root, port, 'name')) as f:
            if f.read().strip() == PORT_NAME:
                return '/dev/' + port
    raise SystemExit('no virtio port named %s' % PORT_NAME)


class Agent:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR)
        self.write_lock = threading.Lock()

    def send(self, message):
        data = (json.dumps(message) + '\n').encode()
        with self.write_lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]

    def lines(self):
        buf = b''
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:   # host side not connected yet
                threading.Event().wait(0.2)
                continue
            buf += chunk
            *complete, buf = buf.split(b'\n')
            for line in complete:
                if line.strip():
                    yield line

    def serve(self):
        # Hello once stage2.sh is done (bounded: an agent respawned in a
        # guest booted by an older stage2.sh would find no marker).
        for _ in range(1200):
            if os.path.exists('/run/ceg-setup.done'):
                break
            threading.Event().wait(0.1)
        self.send({'op': 'hello',
                   'setup_failed': _read('/run/ceg-setup.failed'),
                   'boot_s': float(_read('/proc/uptime').split()[0])})
        for line in self.lines():
            try:
                request = json.loads(line)
            except ValueError:
                continue
            threading.Thread(target=self.handle, args=(request,),
                             daemon=True).start()

    def handle(self, request):
        rid = request.get('id')
        if request.get('op') == 'poweroff':
            self.send({'id': rid, 'rc': 0, 'out': '', 'err': ''})
            os.system('sync; /bin/busybox poweroff -f')
            return
        try:
            reply = run(request)
        except Exception as exc:   # report, never kill the agent
            reply = {'rc': 127, 'out': b'',
                     'err': ('agent: %s\n' % exc).encode()}
        reply.update(id=rid, out=base64.b64encode(reply['out']).decode(),
                     err=base64.b64encode(reply['err']).decode())
        self.send(reply)


def run(request):
    """{'rc', 'out', 'err'} (bytes), plus 'timeout': True or 'errno'."""
    if request.get('env_replace'):
        env = dict(request.get('env') or {})
    else:
        env = dict(BASE_ENV, **(request.get('env') or {}))
    data = request.get('input')
    data = base64.b64decode(data) if data is not None else None
    try:
        proc = subprocess.Popen(
            request['argv'], env=env, cwd=request.get('cwd') or '/',
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
    except OSError as exc:
        return {'rc': 127, 'out': b'', 'errno': exc.errno,
                'err': ('%s: %s\n' % (request['argv'][0],
                                       exc.strerror)).encode()}
    try:
        out, err = proc.communicate(data, timeout=request.get('timeout'))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        return {'rc': -9, 'out': out, 'timeout': True,
                'err': err + b'\nagent: killed at its timeout\n'}
    return {'rc': proc.returncode, 'out': out, 'err': err}


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ''


if __name__ == '__main__':
    Agent(find_port()).serve()
