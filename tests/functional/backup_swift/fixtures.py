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

"""A real Swift and real tooz backends for the Swift repository tests.

Swift: ``$CINDER_EXT_TEST_SWIFT_URL`` (a tempauth v1 auth URL; user and
key from ``$ST_USER``/``$ST_KEY``, default test:tester/testing), else the
one tools/swift/up starts (root needed; it stays up for the next run:
tools/swift/down stops it).  Every test works in a container of its own
and removes it.  Lock services (redis-server, etcd) are started per test
class on free 127.0.0.1 ports and stopped after it.
"""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from swiftclient import client as swift_client

from tests.functional.backup import fixtures as backup_fixtures

ROOT = backup_fixtures.ROOT
SWIFT_UP = os.path.join(ROOT, 'tools', 'swift', 'up')
cli = backup_fixtures.cli
cli_popen = backup_fixtures.cli_popen


def swift_env(test):
    """Environment variables (ST_AUTH, ST_USER, ST_KEY) of a running
    Swift; starts the test Swift when none is given."""
    auth = os.environ.get('CINDER_EXT_TEST_SWIFT_URL')
    if not auth:
        if os.geteuid() != 0:
            test.skipTest('needs root to start Swift (or set '
                          'CINDER_EXT_TEST_SWIFT_URL)')
        # test processes run in parallel: one starts Swift, the others wait
        with open('/tmp/cinder-ext-swift-up.lock', 'w') as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            auth = subprocess.run([SWIFT_UP], check=True, text=True,
                                  capture_output=True).stdout.split()[-1]
    return {'ST_AUTH': auth,
            'ST_USER': os.environ.get('ST_USER', 'test:tester'),
            'ST_KEY': os.environ.get('ST_KEY', 'testing')}


def connection(env):
    return swift_client.Connection(authurl=env['ST_AUTH'],
                                   user=env['ST_USER'], key=env['ST_KEY'])


def new_container(test, env):
    """A fresh container name, removed with its objects after the test."""
    name = 'cinder-ext-test-%s' % uuid.uuid4().hex[:12]

    def remove():
        conn = connection(env)
        try:
            _h, listing = conn.get_container(name, full_listing=True)
        except swift_client.ClientException:
            return
        for item in listing:
            conn.delete_object(name, item['name'])
        conn.delete_container(name)
    test.addCleanup(remove)
    return name


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class LockService(object):
    """A tooz backend in a process of its own: redis, etcd or file."""

    def __init__(self, kind, lease=3):
        self.kind = kind
        self.lease = lease
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix='cinder-ext-swift-lock-')

    def start(self):
        if self.kind == 'file':
            self.url = 'file://%s' % self.dir
            return self
        port = free_port()
        log = open(os.path.join(self.dir, 'log'), 'wb')
        if self.kind == 'redis':
            if not shutil.which('redis-server'):
                raise RuntimeError('redis-server missing (tools/coordination '
                                   'installs it)')
            argv = ['redis-server', '--bind', '127.0.0.1', '--port',
                    str(port), '--save', '', '--appendonly', 'no']
            self.url = 'redis://127.0.0.1:%d?timeout=%d' % (port, self.lease)
        else:
            if not shutil.which('etcd'):
                raise RuntimeError('etcd missing (tools/coordination '
                                   'installs it)')
            peer = free_port()
            argv = ['etcd', '--name', 'swifttest', '--data-dir',
                    os.path.join(self.dir, 'etcd'),
                    '--listen-client-urls', 'http://127.0.0.1:%d' % port,
                    '--advertise-client-urls', 'http://127.0.0.1:%d' % port,
                    '--listen-peer-urls', 'http://127.0.0.1:%d' % peer,
                    '--initial-advertise-peer-urls',
                    'http://127.0.0.1:%d' % peer,
                    '--initial-cluster',
                    'swifttest=http://127.0.0.1:%d' % peer,
                    '--listen-metrics-urls', '']
            self.url = 'etcd3+http://127.0.0.1:%d?timeout=%d' % (
                port, self.lease)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while not self._answers(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('%s did not start; see %s' % (
                    self.kind, self.dir))
            time.sleep(0.1)
        return self

    def _answers(self, port):
        if self.kind == 'redis':
            try:
                with socket.create_connection(('127.0.0.1', port), 1) as s:
                    s.sendall(b'PING\r\n')
                    return s.recv(16).startswith(b'+PONG')
            except OSError:
                return False
        try:
            urllib.request.urlopen(urllib.request.Request(
                'http://127.0.0.1:%d/v3/maintenance/status' % port,
                data=b'{}'), timeout=1).read()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Holder(object):
    """A process holding a repository's lock until told or killed."""

    def __init__(self, repo, lock_url, mode, env):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'tests.functional.backup_swift.holder',
             repo, lock_url, mode], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != 'held':
            self.proc.kill()
            raise RuntimeError('holder failed: %r %s' % (
                line, self.proc.stderr.read()))

    def release(self):
        self.proc.stdin.close()
        self.proc.wait(30)

    def kill(self):
        self.proc.kill()
        self.proc.wait(30)
