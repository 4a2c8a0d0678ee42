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

"""Both ways between our repository and Cinder's posix/NFS format, checked
by Cinder's own PosixBackupDriver (in a child process: it owns the global
oslo.config; a sqlite database, tests/cinder_posix.py).

Export: a chain of ours becomes one full Cinder backup; Cinder imports its
record (Backup.decode_record, the import's DB steps), restores it onto a
volume file full of garbage, and takes its own incremental on top.
Import: a full + incremental chain made by Cinder's driver comes into our
repository and restores byte-identically.  No root needed.  Seeded:
CINDER_EXT_TEST_SEED=<n> replays.
"""

import base64
import hashlib
import io
import json
import os
import random
import shutil
import sys
import unittest
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
MiB = 1024 * 1024
SIZE = 40 * MiB + 7 * 32768 + 1234  # not a multiple of anything
CHUNK = 256 * 1024
FILE_SIZE = 4 * MiB  # Cinder's backup_file_size in the import chain


# -- the Cinder side (child process) ------------------------------------
def _cinder(spec):
    from tests import cinder_posix
    ctxt, conf = cinder_posix.setup(spec['db'], spec['posix'],
                                    backup_file_size=FILE_SIZE,
                                    backup_compression_algorithm='zstd')
    from cinder.backup.drivers import posix
    from cinder import objects
    out = {'restored': {}, 'keys': {}}
    cinder_posix.create_volume(ctxt, spec['volume_id'], 1)
    for label, record in sorted(spec['records'].items()):
        backup = cinder_posix.import_record(ctxt, record['backup_service'],
                                            record['backup_url'])
        out['keys'][label] = sorted(json.loads(base64.b64decode(
            backup.encode_record())))
        out['restored'][label] = _restore(ctxt, spec, backup.id,
                                          spec['volume_id'])
    # Cinder's own incremental on top of our export (volume changed).
    shutil.copyfile(spec['changed'], spec['volume'])
    inc = cinder_posix.create_backup(ctxt, spec['cinder_inc'],
                                     spec['volume_id'], 1,
                                     spec['records_ids']['zstd'], 'inc')
    with open(spec['volume'], 'rb') as f:
        posix.PosixBackupDriver(ctxt).backup(inc, f)
    inc.refresh()
    out['inc'] = {'container': inc.container, 'prefix': inc.service_metadata,
                  'objects': inc.object_count}
    out['restored']['inc'] = _restore(ctxt, spec, inc.id, spec['volume_id'])
    # A chain of Cinder's own for the import tests.
    cinder_posix.create_volume(ctxt, spec['other_id'], 1)
    out['chain'] = []
    parent = None
    for step, path in enumerate(spec['other_steps']):
        backup_id = spec['other_ids'][step]
        backup = cinder_posix.create_backup(ctxt, backup_id,
                                            spec['other_id'], 1, parent,
                                            'c%d' % step)
        with open(path, 'rb') as f:
            posix.PosixBackupDriver(ctxt).backup(backup, f)
        backup.refresh()
        out['chain'].append({'backup_id': backup_id,
                             'container': backup.container,
                             'prefix': backup.service_metadata})
        parent = backup_id
    objects.Backup.get_by_id(ctxt, parent)  # it is there
    return out


def _restore(ctxt, spec, backup_id, volume_id):
    from tests import cinder_posix
    target = os.path.join(spec['dir'], 'cinder-restored')
    with open(target, 'wb') as f:  # an old volume: garbage everywhere
        f.write(b'\xa5\x5a' * (SIZE // 2) + b'\xa5' * (SIZE % 2))
    cinder_posix.restore(ctxt, backup_id, volume_id, target, False)
    with open(target, 'rb') as f:
        data = f.read()
    os.unlink(target)
    return hashlib.sha256(data).hexdigest(), len(data)


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    spec = json.loads(sys.argv[1])
    with open(sys.argv[2], 'w') as out:
        json.dump(_cinder(spec), out)
    sys.exit(0)


# -- the tests ----------------------------------------------------------
sys.path.insert(0, ROOT)
from cinder_ext.backup import cinderformat  # noqa: E402
from cinder_ext.backup import cinderformat_import  # noqa: E402
from cinder_ext.backup import cinderformat_read as reader  # noqa: E402
from cinder_ext.backup import cinderformat_write as writer  # noqa: E402
from cinder_ext.backup import cinderrecord  # noqa: E402
from cinder_ext.backup import cli  # noqa: E402
from cinder_ext.backup import engine  # noqa: E402
from cinder_ext.backup import exception  # noqa: E402
from cinder_ext.backup import repository  # noqa: E402
from tests.functional.backup import fixtures  # noqa: E402
from tests.unit.backup import helpers  # noqa: E402


def make_volume(path, rng):
    """Sparse SIZE file: random runs (some unaligned), a compressible
    run, zeroes written as data, data in the short last block."""
    pieces = [(rng.randrange(SIZE - 600 * 1024), rng.randrange(1, 600 * 1024))
              for _ in range(12)]
    helpers.make_sparse(path, SIZE, pieces + [(SIZE - 1000, 1000)], rng)
    with open(path, 'r+b') as f:
        f.seek(SIZE // 2 + 777)
        f.write(b'cinder-ext ' * 40000)
        f.seek(3 * MiB)
        f.write(bytes(MiB))


def change(path, rng):
    with open(path, 'r+b') as f:
        for _ in range(5):
            f.seek(rng.randrange(SIZE - 200 * 1024))
            n = rng.randrange(1, 200 * 1024)
            f.write(bytes(n) if rng.random() < 0.3 else
                    helpers.random_bytes(rng, n))


def cli_run(argv):
    stream = io.StringIO()
    saved, sys.stdout = sys.stdout, stream
    try:
        code = cli.main(argv + ['--json', '--no-progress'])
    finally:
        sys.stdout = saved
    return code, [json.loads(x) for x in stream.getvalue().splitlines()]


class CinderExportTest(fixtures.CinderPosixClassMixin, unittest.TestCase):
    """build_pristine makes everything once: our chain and its exports,
    then Cinder's side in one child."""

    tmp_prefix = 'cinder-ext-cinderexport-'

    @classmethod
    def build_pristine(cls):
        rng = random.Random(cls.seed)
        d = cls.pristine
        cls.posix = os.path.join(d, 'posix')
        cls.volume_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        cls.volume = os.path.join(d, 'volume')
        make_volume(cls.volume, rng)
        repository.Repository.init(os.path.join(d, 'repo'), CHUNK)
        cls.eng = engine.BackupEngine.open(os.path.join(d, 'repo'))
        cls.eng.backup(cls.volume, cls.volume_id, 'ours-1', name='n1')
        change(cls.volume, rng)
        cls.eng.backup(cls.volume, cls.volume_id, 'ours-2',
                       incremental=True, name='nightly',
                       description='desc "quoted"')
        cls.exported_sha = helpers.sha256_file(cls.volume)
        cls.exports, records, ids = {}, {}, {}
        for method in writer.COMPRESSIONS:
            cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            result = writer.export(cls.eng.repo, 'ours-2', cls.posix,
                                   compression=method, cinder_backup_id=cid)
            cls.exports[method] = result
            records[method], ids[method] = result['record'], cid
        changed = os.path.join(d, 'changed')
        shutil.copyfile(cls.volume, changed)
        change(changed, rng)
        cls.changed_sha = helpers.sha256_file(changed)
        # Cinder's own chain for the import: a full and an incremental.
        cls.other_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        steps = [os.path.join(d, 'other-0'), os.path.join(d, 'other-1')]
        make_volume(steps[0], rng)
        shutil.copyfile(steps[0], steps[1])
        change(steps[1], rng)
        cls.other_sha = [helpers.sha256_file(p) for p in steps]
        spec = {'db': os.path.join(d, 'cinder.sqlite'), 'posix': cls.posix,
                'dir': d, 'volume_id': cls.volume_id, 'records': records,
                'records_ids': ids, 'volume': os.path.join(d, 'cinder-vol'),
                'changed': changed, 'other_id': cls.other_id,
                'other_steps': steps,
                'cinder_inc': str(uuid.UUID(int=rng.getrandbits(128),
                                            version=4)),
                'other_ids': [str(uuid.UUID(int=rng.getrandbits(128),
                                            version=4)) for _ in steps]}
        cls.spec = spec
        cls.cinder = cls.run_cinder_child(
            __file__, spec, os.path.join(d, 'cinder.json'))

    def metadata(self, result):
        return os.path.join(result['directory'],
                            result['prefix'] + cinderformat.METADATA)

    # -- export -----------------------------------------------------------
    def test_cinder_restores_export_over_garbage(self):
        for method in writer.COMPRESSIONS:
            with self.subTest(method=method):
                self.assertEqual([self.exported_sha, SIZE],
                                 self.cinder['restored'][method])

    def test_record_fields_match_cinder(self):
        ours = sorted(cinderrecord.FIELDS)
        for method in writer.COMPRESSIONS:
            self.assertEqual(ours, self.cinder['keys'][method])
        driver, fields = cinderrecord.decode(json.dumps(
            self.exports['zstd']['record']))
        self.assertEqual('posix', driver)
        self.assertEqual(('nightly', 'desc "quoted"', 1, 'available'), (
            fields['display_name'], fields['display_description'],
            fields['size'], fields['status']))
        self.assertEqual(self.exports['zstd']['object_count'],
                         fields['object_count'])

    def test_layout_and_our_reader(self):
        result = self.exports['zstd']
        backup = cinderformat.locate(self.metadata(result))
        self.assertIsNone(backup.parent_id)
        self.assertEqual(-(-SIZE // 32768), len(backup.sha256s))
        names = sorted(os.listdir(result['directory']))
        self.assertEqual(len(backup.objects) + 2, len(names))
        self.assertEqual(['%s-%05d' % (result['prefix'], i + 1)
                          for i in range(len(backup.objects))],
                         [o[0] for o in backup.objects])
        with open(self.metadata(result), 'rb') as f:
            text = f.read()
        self.assertEqual(json.dumps(json.loads(text), sort_keys=True,
                                    indent=2).encode(), text)
        target = os.path.join(self.dir, 'ours')
        for method, res in self.exports.items():
            reader.restore([self.metadata(res)], target)
            self.assertEqual(self.exported_sha, helpers.sha256_file(target))
            self.assertEqual(0, reader.verify([self.metadata(res)])[
                'problems'])
        code, lines = cli_run(['cinder-verify', '--posix-path', self.posix,
                               result['cinder_backup_id'], '--image',
                               target])
        self.assertEqual((0, 0), (code, lines[-1]['problems']), lines)

    def test_cinder_incremental_on_export(self):
        self.assertEqual([self.changed_sha, SIZE],
                         self.cinder['restored']['inc'])
        self.assertGreater(self.cinder['inc']['objects'], 0)
        target = os.path.join(self.dir, 'inc')
        result = reader.restore([os.path.join(
            self.posix, self.cinder['inc']['container'],
            self.cinder['inc']['prefix'] + cinderformat.METADATA)], target)
        self.assertEqual(self.changed_sha, helpers.sha256_file(target))
        self.assertEqual(self.exports['zstd']['cinder_backup_id'],
                         result['chain'][0])

    def test_cli_export_record_file(self):
        record = os.path.join(self.dir, 'record.json')
        posix = os.path.join(self.dir, 'posix')
        code, lines = cli_run(['cinder-export', 'ours-1', '--repo',
                               self.eng.repo.path, '--posix-path', posix,
                               '--container', 'c/one', '--driver', 'nfs',
                               '--compression', 'zlib', '--record', record])
        self.assertEqual(0, code, lines)
        with open(record) as f:
            driver, fields = cinderrecord.decode(f.read())
        self.assertEqual(('nfs', 'c/one', 'ours-1'), (
            driver, fields['container'], fields['id']))
        with open(record) as f:
            self.assertEqual('cinder.backup.drivers.nfs',
                             json.load(f)['backup_service'])
        target = os.path.join(self.dir, 't')
        reader.restore([os.path.join(posix, 'c/one', fields[
            'service_metadata'] + '_metadata')], target)
        self.eng.restore('ours-1', os.path.join(self.dir, 'want'))
        self.assertEqual(helpers.sha256_file(os.path.join(self.dir, 'want')),
                         helpers.sha256_file(target))
        # Exporting again over it is refused, and changes nothing.
        before = sorted(os.listdir(os.path.join(posix, 'c/one')))
        code, lines = cli_run(['cinder-export', 'ours-1', '--repo',
                               self.eng.repo.path, '--posix-path', posix,
                               '--container', 'c/one'])
        self.assertEqual((1, 'CinderExportExists'),
                         (code, lines[-1]['error']))
        self.assertEqual(before, sorted(os.listdir(os.path.join(posix,
                                                                'c/one'))))

    def test_failed_export_leaves_nothing(self):
        repo_copy = os.path.join(self.dir, 'repo')
        shutil.copytree(self.eng.repo.path, repo_copy)
        repo = repository.Repository.open(repo_copy)
        manifest = repo.read_manifest('ours-2')
        chunk_id = self.rng.choice([c for _i, c in manifest['chunks'] if c])
        path = os.path.join(repo_copy, 'chunks', chunk_id[:2], chunk_id)
        with open(path, 'r+b') as f:
            f.seek(-1, os.SEEK_END)
            byte = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([byte[0] ^ 1]))
        posix = os.path.join(self.dir, 'posix')
        os.mkdir(posix)
        with self.assertRaises(exception.ChunkCorrupt):
            writer.export(repo, 'ours-2', posix)
        self.assertEqual([], os.listdir(posix))  # dirs made are gone too
        os.makedirs(os.path.join(posix, 'shared'))
        with self.assertRaises(exception.ChunkCorrupt):
            writer.export(repo, 'ours-2', posix, container='shared')
        self.assertEqual([], os.listdir(os.path.join(posix, 'shared')))
        for bad in ({'compression': 'bz2'}, {'driver': 'swift'},
                    {'cinder_backup_id': 'a/b'}):
            with self.assertRaises(exception.InvalidArgument):
                writer.export(repo, 'ours-1', posix, **bad)
        with self.assertRaises(exception.BackupNotFound):
            writer.export(repo, 'nope', posix)
        self.assertEqual(['shared'], os.listdir(posix))

    def test_bad_records(self):
        good = self.exports['zstd']['record']
        fields = cinderrecord.decode_url(good['backup_url'])

        def url(doc):
            return base64.b64encode(json.dumps(doc).encode()).decode()
        bad = [
            ('not base64', dict(good, backup_url='%%%not base64')),
            ('not hold JSON', dict(good, backup_url=base64.b64encode(
                b'{"id": ').decode())),
            ('missing: size', dict(good, backup_url=url(
                {k: v for k, v in fields.items() if k != 'size'}))),
            ('not one of', dict(good, backup_service=(
                'cinder.backup.drivers.swift'))),
            ('non-negative', dict(good, backup_url=url(dict(
                fields, object_count=-1)))),
            ('a record is', {'backup_url': good['backup_url']}),
            ('not JSON', '{"backup_service"'),
            ('not a JSON object', dict(good, backup_url=url([1]))),
        ]
        for reason, record in bad:
            with self.subTest(reason=reason):
                with self.assertRaisesRegex(exception.CinderRecordInvalid,
                                            reason):
                    cinderrecord.decode(record)
        with self.assertRaisesRegex(exception.CinderRecordInvalid, 'one of'):
            cinderrecord.decode(good, drivers=('nfs',))

    # -- import -----------------------------------------------------------
    def chain_metadata(self, step):
        s = self.cinder['chain'][step]
        return os.path.join(self.posix, s['container'],
                            s['prefix'] + cinderformat.METADATA)

    def new_repo(self):
        path = os.path.join(self.dir, 'repo-%d' % self.rng.getrandbits(32))
        repository.Repository.init(path, CHUNK)
        return engine.BackupEngine.open(path)

    def test_import_cinder_chain(self):
        eng = self.new_repo()
        full = cinderformat_import.import_chain(
            eng.repo, [self.chain_metadata(0)])
        ids = self.spec['other_ids']
        self.assertEqual((ids[0], self.other_id, 'c0'), (
            full['backup_id'], full['volume_id'], full['name']))
        # Sparse: the all-zero chunks are not stored.
        self.assertGreater(full['stats']['chunks_zero'], 0)
        self.assertLess(len(full['chunks']), -(-SIZE // CHUNK))
        code, lines = cli_run(['cinder-import', '--repo', eng.repo.path,
                               '--posix-path', self.posix, ids[1],
                               '--parent', ids[0], '--backup-id', 'inc'])
        self.assertEqual(0, code, lines)
        collapsed = cinderformat_import.import_chain(
            eng.repo, [self.chain_metadata(1)], backup_id='collapsed')
        self.assertIsNone(collapsed['parent_id'])
        self.assertEqual('inc', eng.show('inc')['backup_id'])
        self.assertEqual(ids[0], eng.show('inc')['parent_id'])
        for backup_id, want in ((ids[0], 0), ('inc', 1), ('collapsed', 1)):
            target = os.path.join(self.dir, backup_id)
            eng.restore(backup_id, target)
            self.assertEqual(self.other_sha[want],
                             helpers.sha256_file(target), backup_id)
        self.assertEqual([], eng.verify(deep=True))

    def test_import_corrupt_object_or_list(self):
        posix = os.path.join(self.dir, 'posix')
        shutil.copytree(self.posix, posix)
        meta = self.chain_metadata(1).replace(self.posix, posix)
        backup = cinderformat.locate(meta)
        name = backup.objects[self.rng.randrange(len(backup.objects))][0]
        path = backup.object_path(name)
        with open(path, 'r+b') as f:
            size = os.path.getsize(path)
            at = self.rng.randrange(size // 4, size * 3 // 4)
            f.seek(at)
            byte = f.read(1)
            f.seek(at)
            f.write(bytes([byte[0] ^ 0x10]))
        eng = self.new_repo()
        with self.assertRaises((exception.CinderObjectCorrupt,
                                exception.CinderBlockMismatch)) as ctx:
            cinderformat_import.import_chain(eng.repo, [meta])
        self.assertEqual(name, ctx.exception.kwargs['object'])
        self.assertEqual([], eng.repo.backup_ids())
        # A wrong digest in the list: named by its offset.
        shutil.rmtree(posix)
        shutil.copytree(self.posix, posix)
        sha_path = meta[:-len(cinderformat.METADATA)] + \
            cinderformat.SHA256FILE
        with open(sha_path) as f:
            doc = json.load(f)
        index = self.rng.randrange(len(doc['sha256s']))
        doc['sha256s'][index] = hashlib.sha256(b'wrong').hexdigest()
        with open(sha_path, 'w') as f:
            json.dump(doc, f)
        code, lines = cli_run(['cinder-import', '--repo', eng.repo.path,
                               meta])
        self.assertEqual((3, 'CinderBlockMismatch'),
                         (code, lines[-1]['error']), lines)
        self.assertIn('offset %d' % (index * 32768), lines[-1]['message'])
        self.assertEqual([], eng.repo.backup_ids())
