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

"""Read backups made by Cinder's own PosixBackupDriver (driven directly,
as bench/bench_backup.py's anchor does: real oslo.config, a sqlite
database with real Volume and Backup objects) with cinderformat_read.

The driver runs in a child process (it owns the global oslo.config); it
makes a chain of backups of a sparse 64 MiB volume file, changing it
between backups, and reports the volume's sha256 at each backup.  No root
needed.  Seeded: CINDER_EXT_TEST_SEED=<n> replays.
"""

import hashlib
import io
import json
import os
import random
import shutil
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
MiB = 1024 * 1024
SIZE = 64 * MiB
FILE_SIZE = 8 * MiB  # backup_file_size: 8 objects in a full backup


# -- the Cinder side (child process) ------------------------------------
def _cinder_chain(spec):
    from tests import cinder_posix
    ctxt, conf = cinder_posix.setup(spec['db'], spec['posix'],
                                    backup_file_size=FILE_SIZE)
    rng = random.Random(spec['seed'])
    chains = {}
    for label, compressions in sorted(spec['chains'].items()):
        volume_id = '%08x-0000-4000-8000-%012x' % (len(chains),
                                                   rng.getrandbits(48))
        volume = os.path.join(spec['dir'], 'volume-' + label)
        make_volume(volume, rng)
        cinder_posix.create_volume(ctxt, volume_id, 1)
        chains[label] = _chain(ctxt, conf, volume_id, volume, compressions,
                               rng)
    return chains


def _chain(ctxt, conf, volume_id, volume, compressions, rng):
    from cinder.backup.drivers import posix

    from tests import cinder_posix
    from tests.unit.backup import helpers
    result, parent = [], None
    for step, compression in enumerate(compressions):
        if step:
            _change(volume, rng)
        conf.set_override('backup_compression_algorithm', compression)
        backup_id = '%08x-0000-4000-8000-%012x' % (step, rng.getrandbits(48))
        backup = cinder_posix.create_backup(ctxt, backup_id, volume_id, 1,
                                            parent, 'b%d' % step)
        with open(volume, 'rb') as f:
            posix.PosixBackupDriver(ctxt).backup(backup, f)
        backup.refresh()
        result.append({'backup_id': backup_id, 'container': backup.container,
                       'prefix': backup.service_metadata,
                       'sha256': helpers.sha256_file(volume)})
        parent = backup_id
    return result


def _change(path, rng):
    """Random writes (unaligned, some zeroes over data) to a volume."""
    with open(path, 'r+b') as f:
        for _ in range(6):
            offset = rng.randrange(SIZE - 300 * 1024)
            f.seek(offset)
            n = rng.randrange(1, 300 * 1024)
            f.write(bytes(n) if rng.random() < 0.3 else rng.randbytes(n))


def make_volume(path, rng):
    """Sparse SIZE file: 24 runs of random data at scattered offsets, one
    compressible (text-like) run, and an all-zero run written as data."""
    with open(path, 'wb') as f:
        f.truncate(SIZE)
        for _ in range(24):
            f.seek(rng.randrange(SIZE - 256 * 1024))
            f.write(rng.randbytes(rng.randrange(1, 256 * 1024)))
        f.seek(SIZE // 2 + 12345)
        f.write(b'cinder-ext ' * 50000)
        f.seek(SIZE - 3 * MiB)
        f.write(bytes(MiB))


if __name__ == '__main__':
    sys.path.insert(0, ROOT)   # run as a script: the repository's tests
    spec = json.loads(sys.argv[1])
    with open(sys.argv[2], 'w') as out:
        json.dump(_cinder_chain(spec), out)
    sys.exit(0)


# -- the tests ----------------------------------------------------------
sys.path.insert(0, ROOT)
from cinder_ext.backup import cinderformat  # noqa: E402
from cinder_ext.backup import cinderformat_read as reader  # noqa: E402
from cinder_ext.backup import cli  # noqa: E402
from cinder_ext.backup import exception  # noqa: E402
from tests.functional.backup import fixtures  # noqa: E402
from tests.unit.backup import helpers  # noqa: E402


CHAINS = {'zlib': ['zlib'] * 3, 'bz2': ['bz2'] * 3, 'zstd': ['zstd'] * 3,
          'none': ['none'] * 3, 'mixed': ['bz2', 'zstd', 'zlib', 'none']}


class CinderFormatTest(fixtures.CinderPosixClassMixin, unittest.TestCase):
    """One child process makes all CHAINS once; each test works on its
    own copy of Cinder's posix tree (the tests corrupt it)."""

    tmp_prefix = 'cinder-ext-cinderformat-'

    @classmethod
    def build_pristine(cls):
        spec = {'db': os.path.join(cls.pristine, 'cinder.sqlite'),
                'posix': os.path.join(cls.pristine, 'posix'),
                'dir': cls.pristine, 'seed': cls.seed, 'chains': CHAINS}
        cls.chains = cls.run_cinder_child(
            __file__, spec, os.path.join(cls.pristine, 'chains.json'))

    def setUp(self):
        super().setUp()
        self.posix = os.path.join(self.dir, 'posix')
        shutil.copytree(os.path.join(self.pristine, 'posix'), self.posix)

    def chain(self, label):
        """[{backup_id, container, prefix, sha256, metadata}] of a chain
        in this test's copy; sha256 is the volume's at that backup."""
        steps = [dict(step) for step in self.chains[label]]
        for step in steps:
            step['metadata'] = os.path.join(
                self.posix, step['container'],
                step['prefix'] + cinderformat.METADATA)
        return steps

    def restore_all(self, steps):
        for i, step in enumerate(steps):
            target = os.path.join(self.dir, 'restored-%d' % i)
            result = reader.restore([step['metadata']], target)
            self.assertEqual(step['sha256'], helpers.sha256_file(target),
                             step)
            self.assertEqual([s['backup_id'] for s in steps[:i + 1]],
                             result['chain'])
            self.assertEqual(SIZE, os.path.getsize(target))
            # Sparse: the volume holds < 8 MiB of data.
            self.assertLess(os.stat(target).st_blocks * 512, 16 * MiB)
            reader.verify([step['metadata']])
            reader.verify([step['metadata']], image=target)

    def labels(self, step):
        backup = cinderformat.locate(step['metadata'])
        return {o[3] for o in backup.objects}

    def test_chain_each_compression(self):
        for algorithm in ('zlib', 'bz2', 'zstd', 'none'):
            with self.subTest(algorithm=algorithm):
                steps = self.chain(algorithm)
                self.assertIn(algorithm, self.labels(steps[0]))
                self.assertEqual(8, len(cinderformat.locate(
                    steps[0]['metadata']).objects))
                self.restore_all(steps)

    def test_mixed_chain_cli_and_existing_target(self):
        steps = self.chain('mixed')
        last = steps[-1]
        # An existing file full of junk: holes must be zeroed, not kept.
        target = os.path.join(self.dir, 'junk')
        with open(target, 'wb') as f:
            f.write(b'\xa5' * SIZE)
        with open(target, 'r+b') as f:
            reader.restore([last['metadata']], f)
        self.assertEqual(last['sha256'], helpers.sha256_file(target))
        # The CLI, by prefix with --posix-path and --container, --json.
        target = os.path.join(self.dir, 'cli')
        code, lines = self.cli(['cinder-restore', '--posix-path', self.posix,
                                '--container', last['container'],
                                last['prefix'], target])
        self.assertEqual(0, code, lines)
        self.assertEqual(last['sha256'], helpers.sha256_file(target))
        self.assertEqual(SIZE, lines[-1]['bytes_restored'])
        # ... and by bare backup id in its default container.
        code, lines = self.cli(['cinder-verify', '--posix-path', self.posix,
                                last['backup_id'], '--image', target])
        self.assertEqual((0, 0), (code, lines[-1]['problems']), lines)

    def cli(self, argv):
        stream = io.StringIO()
        saved, sys.stdout = sys.stdout, stream
        try:
            code = cli.main(argv + ['--json', '--no-progress'])
        finally:
            sys.stdout = saved
        return code, [json.loads(x) for x in stream.getvalue().splitlines()]

    def object_of(self, step, index):
        backup = cinderformat.locate(step['metadata'])
        name, offset, length = backup.objects[index][:3]
        return backup.object_path(name), name, offset, length

    def test_flipped_byte_raw_object(self):
        steps = self.chain('none')
        path, name, offset, length = self.object_of(steps[0], 3)
        bad = offset + self.rng.randrange(length)
        with open(path, 'r+b') as f:
            f.seek(bad - offset)
            byte = f.read(1)
            f.seek(bad - offset)
            f.write(bytes([byte[0] ^ 0x40]))
        target = os.path.join(self.dir, 'restored')
        with self.assertRaises(exception.CinderBlockMismatch) as ctx:
            reader.restore([steps[0]['metadata']], target)
        block = bad // 32768 * 32768
        self.assertEqual((steps[0]['backup_id'], name, block), (
            ctx.exception.kwargs['backup_id'], ctx.exception.kwargs['object'],
            ctx.exception.kwargs['offset']))
        self.assertIn(name, str(ctx.exception))
        # Everything before the bad object is restored; nothing from the
        # bad block's piece on is written (a fresh target: still zeroes).
        piece = block // reader.PIECE * reader.PIECE
        with open(target, 'rb') as f:
            restored = f.read()
        sha256s = cinderformat.locate(steps[0]['metadata']).sha256s
        self.assertEqual(sha256s[:offset // 32768], [
            hashlib.sha256(restored[i:i + 32768]).hexdigest()
            for i in range(0, offset, 32768)])
        self.assertEqual(bytes(SIZE - piece), restored[piece:])
        # Without the sha256 check, the md5 finds it (after writing).
        with self.assertRaisesRegex(exception.CinderObjectCorrupt, 'md5'):
            reader.restore([steps[0]['metadata']], target,
                           check_sha256=False)
        code, lines = self.cli(['cinder-verify', steps[0]['metadata']])
        self.assertEqual(3, code)
        self.assertEqual('CinderBlockMismatch', lines[-1]['error'])
        self.assertIn('offset %d' % block, lines[-1]['message'])

    def test_flipped_byte_compressed_object(self):
        for algorithm in ('zlib', 'bz2', 'zstd'):
            with self.subTest(algorithm=algorithm):
                steps = self.chain(algorithm)
                # The object holding the compressible run (mid-volume).
                path, name, offset, length = self.object_of(steps[0], 4)
                stored = os.path.getsize(path)
                with open(path, 'r+b') as f:
                    at = self.rng.randrange(stored // 4, stored * 3 // 4)
                    f.seek(at)
                    byte = f.read(1)
                    f.seek(at)
                    f.write(bytes([byte[0] ^ 0x01]))
                target = os.path.join(self.dir, 'restored')
                with self.assertRaises((exception.CinderObjectCorrupt,
                                        exception.CinderBlockMismatch)) as c:
                    reader.restore([steps[0]['metadata']], target)
                self.assertEqual((steps[0]['backup_id'], name), (
                    c.exception.kwargs['backup_id'],
                    c.exception.kwargs['object']))
                self.assertTrue(offset <= c.exception.kwargs['offset'] <=
                                offset + length, c.exception)
                self.assertEqual(3, c.exception.exit_code)

    def test_corrupt_sha256_file(self):
        steps = self.chain('zstd')
        target = os.path.join(self.dir, 'restored')
        reader.restore([steps[1]['metadata']], target)
        sha_path = steps[1]['metadata'][:-len('_metadata')] + '_sha256file'
        with open(sha_path) as f:
            doc = json.load(f)
        index = self.rng.randrange(len(doc['sha256s']))
        doc['sha256s'][index] = hashlib.sha256(b'wrong').hexdigest()
        with open(sha_path, 'w') as f:
            json.dump(doc, f)
        with self.assertRaises(exception.CinderImageMismatch) as ctx:
            reader.verify([steps[1]['metadata']], image=target)
        self.assertEqual(index * 32768, ctx.exception.kwargs['offset'])
        self.assertIsNotNone(ctx.exception.kwargs['object'])
        for check in (reader.verify, lambda specs: reader.restore(
                specs, os.path.join(self.dir, 'other'))):
            with self.assertRaises(exception.CinderBlockMismatch) as ctx:
                check([steps[1]['metadata']])
            self.assertEqual(index * 32768, ctx.exception.kwargs['offset'])
        # The list of the full is intact: the full still restores.
        reader.restore([steps[0]['metadata']], target)
        self.assertEqual(steps[0]['sha256'], helpers.sha256_file(target))
        # A short list, and one that is not JSON.
        del doc['sha256s'][-1]
        with open(sha_path, 'w') as f:
            json.dump(doc, f)
        with self.assertRaisesRegex(exception.CinderSha256ListCorrupt,
                                    'needs 2048'):
            reader.verify([steps[1]['metadata']])
        with open(sha_path, 'w') as f:
            f.write('{"sha256s": [')
        code, lines = self.cli(['cinder-restore', steps[1]['metadata'],
                                target])
        self.assertEqual((3, 'CinderSha256ListCorrupt'),
                         (code, lines[-1]['error']))

    def test_missing_parent_and_object(self):
        steps = self.chain('zlib')
        moved = os.path.join(self.dir, 'elsewhere')
        shutil.move(os.path.join(self.posix, steps[0]['container']), moved)
        target = os.path.join(self.dir, 'restored')
        with self.assertRaises(exception.CinderParentMissing) as ctx:
            reader.restore([steps[2]['metadata']], target)
        self.assertEqual(steps[0]['backup_id'],
                         ctx.exception.kwargs['parent_id'])
        self.assertEqual(steps[1]['backup_id'],
                         ctx.exception.kwargs['backup_id'])
        # Named explicitly, the moved full is used.
        full = os.path.join(moved, os.path.basename(steps[0]['metadata']))
        reader.restore([full, steps[2]['metadata']], target)
        self.assertEqual(steps[2]['sha256'], helpers.sha256_file(target))
        # An object gone (the newest's: always needed): named, with its
        # volume offset.
        path, name, offset, _length = self.object_of(steps[2], 0)
        os.remove(path)
        with self.assertRaises(exception.CinderObjectMissing) as ctx:
            reader.restore([full, steps[2]['metadata']], target)
        self.assertEqual((name, offset), (ctx.exception.kwargs['object'],
                                          ctx.exception.kwargs['offset']))
