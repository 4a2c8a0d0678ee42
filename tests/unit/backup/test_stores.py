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

"""Store selection, Swift URLs and credentials, and the tooz
reader/writer lock (real tooz file driver, real processes; the Swift
store itself runs against a real Swift in tests/functional/backup_swift)."""

import os
import subprocess
import sys
import textwrap
import time

from cinder_ext.backup import exception
from cinder_ext.backup import repository
from cinder_ext.backup import retention
from cinder_ext.backup import stores
from cinder_ext.backup.stores import posix
from cinder_ext.backup.stores import swift
from cinder_ext.backup.stores import swift_auth
from tests.unit.backup import helpers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class StoreSelectionTest(helpers.TempDirTest):

    def test_paths_and_urls(self):
        self.assertIsInstance(stores.open_store(self.dir), posix.PosixStore)
        store = stores.open_store('swift://backups/site-a/vols')
        self.assertIsInstance(store, swift.SwiftStore)
        self.assertEqual(('backups', 'site-a/vols/'),
                         (store.container, store.prefix))
        self.assertEqual(('c', ''), swift.parse_url('swift://c'))
        self.assertEqual(('c', ''), swift.parse_url('swift://c/'))
        for bad in ('swift://', 'swift:///p', 'swift://c//p',
                    'swift://c/p?x=1'):
            self.assertRaises(exception.InvalidArgument, swift.parse_url,
                              bad)
        self.assertRaises(exception.InvalidArgument, stores.open_store,
                          's3://bucket')

    def test_swift_needs_a_lock_url(self):
        store = stores.open_store('swift://c')
        self.assertRaisesRegex(exception.InvalidArgument, '--lock-url',
                               store.lock, None)

    def test_credentials_from_the_environment(self):
        v1 = swift_auth.connection_kwargs({
            'ST_AUTH': 'http://h/auth/v1.0', 'ST_USER': 'a:u',
            'ST_KEY': 'k'})
        self.assertEqual(('http://h/auth/v1.0', 'a:u', 'k', '1.0'), (
            v1['authurl'], v1['user'], v1['key'], v1['auth_version']))
        v3 = swift_auth.connection_kwargs({
            'OS_AUTH_URL': 'http://ks/v3', 'OS_USERNAME': 'u',
            'OS_PASSWORD': 'p', 'OS_PROJECT_NAME': 'proj',
            'OS_USER_DOMAIN_NAME': 'Default', 'OS_INTERFACE': 'internal',
            'ST_AUTH': 'ignored'})
        self.assertEqual('3', v3['auth_version'])
        self.assertEqual({'project_name': 'proj',
                          'user_domain_name': 'Default',
                          'endpoint_type': 'internalURL'},
                         v3['os_options'])
        token = swift_auth.connection_kwargs({
            'OS_STORAGE_URL': 'http://s/v1/AUTH_x', 'OS_AUTH_TOKEN': 't'})
        self.assertEqual('t', token['preauthtoken'])
        self.assertRaises(exception.InvalidArgument,
                          swift_auth.connection_kwargs, {})

    def test_gc_through_store_entries(self):
        repo = repository.Repository.init(self.path('r'), 1 << 16)
        chunk_id = repo.chunk_id(b'x')
        repo.write_chunk(chunk_id, b'h', b'x')
        repo.sync()
        entries = list(repo.iter_chunks())
        self.assertEqual([(chunk_id, repo.chunk_key(chunk_id), 2)],
                         [(e.name, e.key, e.size) for e in entries])
        old = time.time() - 7200
        os.utime(self.path('r', repo.chunk_key(chunk_id)), (old, old))
        self.assertEqual(1, retention.gc(repo, grace=3600,
                                         dry_run=True)['chunks_removed'])
        self.assertTrue(repo.touch_chunk(chunk_id))  # a backup reuses it
        self.assertEqual(1, retention.gc(repo, grace=3600)['young_spared'])
        self.assertTrue(repo.has_chunk(chunk_id))


_HOLDER = textwrap.dedent('''
    import sys
    from cinder_ext.backup import repository
    repo = repository.Repository.open(sys.argv[1], lock_url=sys.argv[2])
    with getattr(repo, sys.argv[3])():
        print('held', flush=True)
        sys.stdin.read()
''')


class ToozLockTest(helpers.TempDirTest):
    """A POSIX repository locked through tooz (file://): the same
    reader/writer scheme a Swift repository uses."""

    def setUp(self):
        super().setUp()
        self.repo = self.path('r')
        repository.Repository.init(self.repo)
        self.url = 'file://' + self.path('locks')

    def hold(self, mode):
        proc = subprocess.Popen(
            [sys.executable, '-c', _HOLDER, self.repo, self.url, mode],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual('held', proc.stdout.readline().strip(),
                         proc.stderr)
        return proc

    def open(self):
        return repository.Repository.open(self.repo, lock_url=self.url)

    def test_readers_share_writers_exclude(self):
        reader = self.hold('shared')
        repo = self.open()
        with repo.shared(timeout=5):
            pass
        self.assertRaises(exception.RepositoryBusy,
                          repo.exclusive(timeout=0.5).__enter__)
        reader.stdin.close()
        reader.wait(10)
        with repo.exclusive(timeout=5):
            pass
        writer = self.hold('exclusive')
        self.assertRaises(exception.RepositoryBusy,
                          repo.shared(timeout=0.5).__enter__)
        self.assertRaises(exception.RepositoryBusy,
                          repo.exclusive(timeout=0.5).__enter__)
        writer.stdin.close()
        writer.wait(10)
        with repo.shared(timeout=5):
            pass

    def test_a_killed_reader_does_not_block_the_writer(self):
        reader = self.hold('shared')
        reader.kill()
        reader.wait(10)
        started = time.monotonic()
        with self.open().exclusive(timeout=10):
            pass
        self.assertLess(time.monotonic() - started, 5)

    def test_a_waiting_writer_holds_new_readers_off(self):
        reader = self.hold('shared')
        writer = subprocess.Popen(
            [sys.executable, '-c', _HOLDER, self.repo, self.url,
             'exclusive'], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(writer.wait)
        self.addCleanup(writer.kill)
        # Until the writer's process has started and taken the gate, new
        # readers still get in (and leave); from then on they must not,
        # while it waits for the first reader.  A deadline, not a sleep:
        # a loaded machine starts a process in seconds.
        deadline = time.monotonic() + 60
        while True:
            try:
                with self.open().shared(timeout=0.5):
                    pass
            except exception.RepositoryBusy:
                break
            self.assertLess(time.monotonic(), deadline,
                            'new readers were never held off')
            time.sleep(0.2)
        self.assertIsNone(writer.poll())
        reader.stdin.close()
        self.assertEqual('held', writer.stdout.readline().strip())
        writer.stdin.close()
        writer.wait(10)
        with self.open().shared(timeout=5):
            pass
