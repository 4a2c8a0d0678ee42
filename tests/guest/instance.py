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

"""A named test guest: start, run commands in it, stop.

    guest = Guest('default', disks=['8G', '8G']).start()
    rc, out, err = guest.run(['lvs', '--reportformat', 'json'])
    guest.stop()

Instances live in ``config.RUN/<name>`` (relay socket, console.log, disk
images) and outlive the process that started them: ``Guest(name)`` with no
other arguments attaches to a running one.  Every call opens its own
connection to the relay, so threads and processes may share an instance.
"""

import base64
import fcntl
import json
import os
import socket
import subprocess
import sys
import time

from tests.guest import builder
from tests.guest import config
from tests.guest import qemu

GuestError = config.GuestError


class Guest:
    def __init__(self, name=config.DEFAULT_NAME, disks=(), shared_disks=(),
                 memory_mb=config.DEFAULT_MEMORY_MB, export=True,
                 guest_forwards=(), host_forwards=(), cache_9p='loose',
                 rw_dirs=(), cpus=1):
        """``disks``: sizes ('8G' or bytes) of fresh per-instance images.

        ``shared_disks``: (path, size) of images that several instances
        attach (made when missing, never wiped).  ``guest_forwards``: host
        ports on 127.0.0.1 the guest reaches at ``qemu.GUEST_FWD_ADDRESS``;
        ``host_forwards``: (host port, guest port) pairs.  ``rw_dirs``:
        host directories the guest may write, exported over 9p with the
        tags ``qemu.rw_tag(i)`` (mounted by whoever uses them).
        """
        self.name = config.check_name(name)
        self.rd = config.run_dir(name)
        self.disk_sizes = [config.parse_size(s) if isinstance(s, str) else s
                           for s in disks]
        self.shared = [(p, config.parse_size(s) if isinstance(s, str) else s)
                       for p, s in shared_disks]
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.with_export = export
        self.guest_forwards = list(guest_forwards)
        self.host_forwards = list(host_forwards)
        self.cache_9p = cache_9p
        self.rw_dirs = list(rw_dirs)

    # -- life cycle ---------------------------------------------------------
    def status(self):
        """The relay's status dict, or None when the instance is not up."""
        try:
            return self._call({'op': 'status'}, timeout=10)
        except GuestError:
            return None

    def running(self):
        status = self.status()
        return bool(status) and status['state'] == 'running'

    def start(self, timeout=config.BOOT_TIMEOUT, log=None):
        """Boot the guest (no-op when running); returns self.

        Serialised per instance by a lock file: two processes starting the
        same name get one guest."""
        os.makedirs(self.rd, exist_ok=True)
        with open(os.path.join(self.rd, 'start.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._start(timeout, log or (lambda msg: None))

    def _start(self, timeout, log):
        status = self.status()
        if status and status['state'] in ('running', 'booting'):
            return self.wait_ready(timeout)
        build = builder.build(log=log)
        os.makedirs(self.rd, exist_ok=True)
        disks = self._make_disks()
        spec = {'name': self.name, 'disks': disks,
                'memory_mb': self.memory_mb, 'build': build['initrd'],
                'argv': qemu.argv(self.name, build, disks, self.memory_mb,
                                  self.guest_forwards, self.host_forwards,
                                  self.cache_9p, self.rw_dirs, self.cpus)}
        with open(os.path.join(self.rd, 'spec.json'), 'w') as f:
            json.dump(spec, f, indent=1)
        for stale in ('console.log', 'sock', 'relay.pid'):
            if os.path.exists(os.path.join(self.rd, stale)):
                os.unlink(os.path.join(self.rd, stale))
        with open(os.path.join(self.rd, 'relay.log'), 'ab') as out:
            # The relay forks itself away and writes relay.pid.
            subprocess.run(
                [sys.executable, '-m', 'tests.guest.relay', self.name],
                cwd=config.TOP, stdin=subprocess.DEVNULL, stdout=out,
                stderr=out, start_new_session=True, check=True,
                env=dict(os.environ, PYTHONPATH=config.TOP))
        log('booting %s' % self.name)
        try:
            return self.wait_ready(timeout, watch_relay=True)
        except GuestError as exc:
            if 'set-up failed' not in str(exc):   # hung: no use running on
                self.stop()
            raise

    def wait_ready(self, timeout=config.BOOT_TIMEOUT, watch_relay=False):
        """Wait for the agent's hello; returns self."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status and status['state'] == 'running':
                if status.get('setup_failed'):
                    raise GuestError('guest %s set-up failed: %s'
                                     % (self.name, status['setup_failed']))
                return self
            if watch_relay and not self._relay_alive():
                break       # qemu or the relay died: see the logs
            time.sleep(0.2)
        raise GuestError('guest %s did not come up in %ss; see %s\n%s'
                         % (self.name, timeout, self.rd, self.console_tail()))

    def stop(self):
        """Power the guest off (qemu killed if it hangs); idempotent."""
        try:
            self._call({'op': 'stop'}, timeout=30)
        except GuestError:
            pass
        deadline = time.monotonic() + 20
        while self._relay_alive() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _relay_alive(self):
        try:
            with open(os.path.join(self.rd, 'relay.pid')) as f:
                os.kill(int(f.read()), 0)
        except (OSError, ValueError):
            return False
        return True

    def console_tail(self, lines=30):
        """The end of the guest's console and of qemu's own messages."""
        text = ''
        for log in ('console.log', 'qemu.log'):
            try:
                with open(os.path.join(self.rd, log), 'rb') as f:
                    tail = f.read().decode(errors='replace').splitlines()
            except OSError:
                continue
            if tail:
                text += '--- %s\n%s\n' % (log, '\n'.join(tail[-lines:]))
        return text

    def _make_disks(self):
        """Data disks first (/dev/vda...), then shared ones, then the
        export disk; serials tell stage2.sh which is which."""
        disks = []
        for i, size in enumerate(self.disk_sizes):
            path = os.path.join(self.rd, 'disk%d.img' % i)
            with open(path, 'wb') as f:     # fresh and sparse: O(1)
                f.truncate(size)
            disks.append({'path': path, 'serial': 'data%d' % i})
        for i, (path, size) in enumerate(self.shared):
            if not os.path.exists(path):
                with open(path, 'wb') as f:
                    f.truncate(size)
            disks.append({'path': os.path.abspath(path),
                          'serial': 'datashared%d' % i, 'shared': True})
        if self.with_export:
            path = os.path.join(self.rd, 'export.img')
            with open(path, 'wb') as f:
                f.truncate(config.EXPORT_DISK_SIZE)
            # On the host: O(1)-ish here, seconds under TCG.  -K: no discard.
            subprocess.run(['mkfs.xfs', '-q', '-f', '-K', '-m', 'reflink=1',
                            path], check=True)
            disks.append({'path': path, 'serial': 'export'})
        return disks

    def spec(self):
        """What the instance was started with (its spec.json)."""
        with open(os.path.join(self.rd, 'spec.json')) as f:
            return json.load(f)

    @property
    def disks(self):
        """Guest device paths of the data disks (own, then shared)."""
        return ['/dev/vd%s' % chr(ord('a') + i)
                for i, d in enumerate(self.spec()['disks'])
                if d['serial'].startswith('data')]

    export = '127.0.0.1:%s' % config.EXPORT_DIR

    # -- commands -----------------------------------------------------------
    def run(self, argv, input=None, timeout=None, env=None, cwd=None,
            env_replace=False, text=True):
        """Run argv in the guest as root: (rc, stdout, stderr).

        ``timeout`` kills the command in the guest (rc -9, ``timed_out`` in
        ``run_reply``).  Output is str (undecodable bytes escaped) or bytes
        with ``text=False``.
        """
        reply = self.run_reply(argv, input, timeout, env, cwd, env_replace)
        rc, out, err = self.decode(reply)
        if text:
            out, err = os.fsdecode(out), os.fsdecode(err)
        return rc, out, err

    @staticmethod
    def decode(reply):
        """(rc, stdout bytes, stderr bytes) of an agent reply."""
        return (reply['rc'], base64.b64decode(reply['out']),
                base64.b64decode(reply['err']))

    def run_reply(self, argv, input=None, timeout=None, env=None, cwd=None,
                  env_replace=False):
        """The agent's raw reply (see agent.py)."""
        if isinstance(input, str):
            input = os.fsencode(input)
        request = {'argv': [str(a) for a in argv], 'env': env, 'cwd': cwd,
                   'timeout': timeout, 'env_replace': env_replace,
                   'input': (base64.b64encode(input).decode()
                             if input is not None else None)}
        return self._call(request,
                          timeout=None if timeout is None else timeout + 60)

    def execute(self, *cmd, **kwargs):
        """oslo.concurrency's processutils.execute, run in the guest."""
        from tests.guest import executor
        return executor.execute(self, *cmd, **kwargs)

    def _call(self, request, timeout=None):
        path = os.path.join(self.rd, 'sock')
        request = dict(request, id=1)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
                sock.sendall((json.dumps(request) + '\n').encode())
                with sock.makefile('rb') as replies:
                    line = replies.readline()
        except (OSError, socket.timeout) as exc:
            raise GuestError('guest %s: %s' % (self.name, exc))
        if not line:
            raise GuestError('guest %s: the relay closed the connection'
                             % self.name)
        reply = json.loads(line)
        if 'error' in reply:
            raise GuestError('guest %s: %s' % (self.name, reply['error']))
        return reply
