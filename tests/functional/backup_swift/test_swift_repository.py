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

"""The repository on a real Swift: the CLI end to end, faults found by
verify, prune and gc with the grace period."""

import json
import os
import time

from swiftclient import client as swift_client

from cinder_ext.backup import repository
from cinder_ext.backup import retention
from tests.functional.backup_swift import fixtures
from tests.unit.backup import helpers

MiB = helpers.MiB


class SwiftTestBase(helpers.TempDirTest):

    lock_kind = 'file'

    def setUp(self):
        super().setUp()
        self.env = fixtures.swift_env(self)
        self.container = fixtures.new_container(self, self.env)
        self.url = 'swift://%s/repo/one' % self.container
        self.locks = fixtures.LockService(self.lock_kind).start()
        self.addCleanup(self.locks.stop)
        self.cli_env = dict(os.environ, **self.env)
        self.cli_env['CINDER_EXT_BACKUP_LOCK_URL'] = self.locks.url
        for name, value in self.env.items():
            self.patch_env(name, value)
        self.conn = fixtures.connection(self.env)

    def patch_env(self, name, value):
        old = os.environ.get(name)
        os.environ[name] = value

        def restore():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        self.addCleanup(restore)

    def cli(self, *args, check=False):
        result = fixtures.cli(*args, '--repo', self.url, '--lock-url',
                              self.locks.url)
        if check and result.returncode:
            self.fail('%s: exit %d\n%s' % (args, result.returncode,
                                           result.stderr))
        return result

    def open(self):
        return repository.Repository.open(self.url, lock_url=self.locks.url)

    def chunk_objects(self):
        _h, listing = self.conn.get_container(
            self.container, prefix='repo/one/chunks/', full_listing=True)
        return [item['name'] for item in listing]


class SwiftRepositoryTest(SwiftTestBase):

    def test_init_backup_restore_verify_and_faults(self):
        init = self.cli('init', '--chunk-size', '1M', '--json', check=True)
        self.assertEqual(self.url, json.loads(
            init.stdout.splitlines()[-1])['repository'])
        self.assertNotEqual(0, self.cli('init').returncode)
        src = self.path('vol')
        helpers.make_sparse(src, 64 * MiB, [(0, 6 * MiB), (40 * MiB, MiB)],
                            self.rng)
        self.cli('backup', src, '--volume-id', 'v', '--backup-id', 'full',
                 check=True)
        first = helpers.sha256_file(src)
        with open(src, 'r+b') as f:
            f.seek(20 * MiB)
            f.write(helpers.random_bytes(self.rng, 2 * MiB))
        self.cli('backup', src, '--volume-id', 'v', '--backup-id', 'incr',
                 '--incremental', check=True)
        manifest = self.open().read_manifest('incr')
        self.assertEqual('full', manifest['parent_id'])
        self.assertEqual(2, manifest['stats']['chunks_new'])
        for backup_id, digest in (('full', first),
                                  ('incr', helpers.sha256_file(src))):
            out = self.path('out-' + backup_id)
            self.cli('restore', backup_id, out, check=True)
            self.assertEqual(digest, helpers.sha256_file(out))
        self.assertEqual(0, self.cli('verify').returncode)
        self.assertEqual(0, self.cli('verify', '--deep').returncode)

        # a chunk object deleted: verify finds it (exit 3)
        names = sorted(self.chunk_objects())
        self.assertEqual(9, len(names))
        self.conn.delete_object(self.container, names[0])
        missing = self.cli('verify', '--json')
        self.assertEqual(3, missing.returncode, missing.stderr)
        self.assertIn(names[0].rsplit('/', 1)[-1], missing.stdout)
        self.assertIn('missing', missing.stdout)
        # a chunk object replaced by damaged bytes (a whole, valid PUT):
        # only the deep verify reads it
        _h, body = self.conn.get_object(self.container, names[1])
        damaged = bytearray(body)
        damaged[len(damaged) // 2] ^= 0xff
        self.conn.put_object(self.container, names[1], bytes(damaged))
        deep = self.cli('verify', '--deep', '--json')
        self.assertEqual(3, deep.returncode, deep.stderr)
        self.assertIn('corrupt', deep.stdout)
        self.assertIn(names[1].rsplit('/', 1)[-1], deep.stdout)
        restore = self.cli('restore', 'incr', self.path('bad'))
        self.assertEqual(3, restore.returncode, restore.stderr)

    def test_an_encrypted_repository(self):
        key = self.path('key')
        with open(key, 'wb') as f:
            f.write(self.rng.randbytes(32))
        self.cli('init', '--encryption', 'hkdf', '--key-file', key,
                 check=True)
        src = self.path('vol')
        helpers.make_sparse(src, 8 * MiB, [(MiB, 3 * MiB)], self.rng)
        self.cli('backup', src, '--key-file', key, '--backup-id', 'e',
                 check=True)
        # the objects hold no plaintext: ids are HMACs, payloads sealed
        with open(src, 'rb') as f:
            f.seek(MiB)
            plain = f.read(4096)
        for name in self.chunk_objects():
            _h, body = self.conn.get_object(self.container, name)
            self.assertNotIn(plain, body)
        self.assertNotEqual(0, self.cli('restore', 'e',
                                        self.path('x')).returncode)
        out = self.path('out')
        self.cli('restore', 'e', out, '--key-file', key, check=True)
        self.assertEqual(helpers.sha256_file(src), helpers.sha256_file(out))

    def test_a_repository_needs_a_config(self):
        self.conn.put_container(self.container)
        self.conn.put_object(self.container, 'repo/one/other', b'x')
        result = self.cli('verify')
        self.assertEqual(1, result.returncode)
        self.assertIn('not a cinder-ext backup repository', result.stderr)
        init = self.cli('init')
        self.assertNotEqual(0, init.returncode)
        self.assertIn('already holds', init.stderr)

    def test_a_manifest_is_never_replaced(self):
        self.cli('init', '--chunk-size', '1M', check=True)
        src = self.path('vol')
        helpers.make_sparse(src, 4 * MiB, [(0, MiB)], self.rng)
        self.cli('backup', src, '--backup-id', 'b', check=True)
        again = self.cli('backup', src, '--backup-id', 'b')
        self.assertNotEqual(0, again.returncode)
        self.assertIn('already exists', again.stderr)
        repo = self.open()
        self.assertRaises(Exception, repo.write_manifest,
                          dict(repo.read_manifest('b'), name='other'))
        self.assertEqual('', repo.read_manifest('b')['name'])

    def test_prune_then_gc_with_grace(self):
        self.cli('init', '--chunk-size', '1M', check=True)
        src = self.path('vol')
        helpers.make_sparse(src, 16 * MiB, [(0, 4 * MiB)], self.rng)
        self.cli('backup', src, '--volume-id', 'v', '--backup-id', 'a',
                 check=True)
        with open(src, 'r+b') as f:
            f.write(helpers.random_bytes(self.rng, 4 * MiB))  # all new
        self.cli('backup', src, '--volume-id', 'v', '--backup-id', 'b',
                 check=True)
        self.assertEqual(8, len(self.chunk_objects()))
        pruned = self.cli('prune', '--keep-last', '1', '--json', check=True)
        self.assertEqual(['a'], json.loads(
            pruned.stdout.splitlines()[-1])['removed'])
        young = json.loads(self.cli('gc', '--json', check=True)
                           .stdout.splitlines()[-1])
        self.assertEqual((0, 4, 4), (young['chunks_removed'],
                                     young['young_spared'],
                                     young['chunks_kept']))
        time.sleep(1.5)
        done = json.loads(self.cli('gc', '--grace', '1', '--json',
                                   check=True).stdout.splitlines()[-1])
        self.assertEqual((4, 4), (done['chunks_removed'],
                                  done['chunks_kept']))
        self.assertEqual(4, len(self.chunk_objects()))
        self.assertEqual(0, self.cli('verify', '--deep').returncode)
        out = self.path('out')
        self.cli('restore', 'b', out, check=True)
        self.assertEqual(helpers.sha256_file(src), helpers.sha256_file(out))

    def test_a_reused_chunk_starts_its_grace_again(self):
        """What a running backup reuses (a POST to the object) is as young
        as what it writes, though no manifest names it yet."""
        self.cli('init', '--chunk-size', '1M', check=True)
        src = self.path('vol')
        helpers.make_sparse(src, 8 * MiB, [(0, 6 * MiB)], self.rng)
        self.cli('backup', src, '--backup-id', 'gone', check=True)
        self.cli('delete', 'gone', check=True)  # 6 chunks, unreferenced
        time.sleep(3)
        repo = self.open()
        ids = sorted(name.rsplit('/', 1)[-1]
                     for name in self.chunk_objects())
        for chunk_id in ids[:3]:
            self.assertTrue(repo.touch_chunk(chunk_id))
        self.assertFalse(repo.touch_chunk('0' * 64))
        with repo.exclusive(30):
            stats = retention.gc(repo, grace=2)
        self.assertEqual((3, 3), (stats['chunks_removed'],
                                  stats['young_spared']))
        left = sorted(name.rsplit('/', 1)[-1]
                      for name in self.chunk_objects())
        self.assertEqual(ids[:3], left)

    def test_a_failed_put_is_refused_by_its_etag(self):
        self.cli('init', check=True)
        repo = self.open()
        store = repo.store
        self.assertRaises(swift_client.ClientException,
                          store._conn.put_object, store.container,
                          store._name('chunks/x'), b'data',
                          etag='0' * 32)
        self.assertFalse(store.exists('chunks/x'))
