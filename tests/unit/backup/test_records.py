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

"""Records files: ordering, checking, and the save/import logic over an
in-memory stand-in for the Cinder API (the real API is exercised by the
disaster test on the local stack, tools/stack/disaster)."""

import base64
import json
import os

from cinder_ext.backup import exception
from cinder_ext.backup import records
from tests.unit.backup import helpers


def _record(backup_id, parent_id=None, service='cinder.backup.drivers.nfs'):
    fields = {'id': backup_id, 'parent_id': parent_id, 'size': 1,
              'display_name': backup_id, 'display_description': '',
              'container': 'c', 'service_metadata': 'p',
              'object_count': 1}
    return {'backup_service': service,
            'backup_url': base64.b64encode(json.dumps(fields).encode())
            .decode()}


class FakeCloud(object):
    """What records needs of cloud.Cloud, in memory."""
    project_id = 'p1'

    def __init__(self, backups=(), fail_import=()):
        self.listed = [dict(b) for b in backups]
        self.known = {}
        self.fail_import = set(fail_import)
        self.imported = []

    def backups(self, all_projects=False, project_id=None):
        return iter(self.listed)

    def export_record(self, backup_id):
        b = next(b for b in self.listed if b['id'] == backup_id)
        if b.get('export_fails'):
            raise exception.CloudRequestFailed(what='export', reason='boom')
        return _record(backup_id, b.get('parent'))

    def backup_exists(self, backup_id):
        return backup_id in self.known

    def import_record(self, record):
        backup_id = records.record_fields(record)['id']
        if backup_id in self.fail_import:
            raise exception.CloudRequestFailed(what='import', reason='no')
        self.imported.append(backup_id)
        self.known[backup_id] = 'available'

    def wait_available(self, backup_id, timeout):
        return {'status': self.known[backup_id]}


def _backup(backup_id, created, parent=None, status='available', **kw):
    return dict(id=backup_id, created_at=created, parent=parent,
                status=status, volume_id='v', name=backup_id, size=1, **kw)


class RecordsTest(helpers.TempDirTest):

    def test_parent_first_whatever_the_listing_order(self):
        chain = [_backup('full', '2026-01-01'),
                 _backup('inc1', '2026-01-02', 'full'),
                 _backup('inc2', '2026-01-03', 'inc1'),
                 _backup('other', '2026-01-02')]
        self.rng.shuffle(chain)
        # Clock skew: an incremental stamped before its parent.
        for b in chain:
            if b['id'] == 'inc2':
                b['created_at'] = '2025-12-31'
        path = self.path('records.json')
        records.save(FakeCloud(chain), path, all_projects=True)
        order = [r['id'] for r in records.load(path)['records']]
        self.assertEqual(4, len(order))
        self.assertLess(order.index('full'), order.index('inc1'))
        self.assertLess(order.index('inc1'), order.index('inc2'))

    def test_save_lists_what_it_could_not_keep(self):
        path = self.path('records.json')
        doc = records.save(FakeCloud([
            _backup('a', '1'), _backup('b', '2', status='creating'),
            _backup('c', '3', export_fails=True)]), path)
        self.assertEqual(['a'], [r['id'] for r in doc['records']])
        self.assertEqual({'b': 'status creating'},
                         {s['id']: s['reason'] for s in doc['skipped']
                          if s['id'] == 'b'})
        self.assertIn('boom', [s for s in doc['skipped']
                               if s['id'] == 'c'][0]['reason'])
        self.assertEqual(doc['records'], records.load(path)['records'])

    def test_import_skips_present_and_children_of_failures(self):
        path = self.path('records.json')
        records.save(FakeCloud([
            _backup('full', '1'), _backup('inc', '2', 'full'),
            _backup('solo', '3'), _backup('have', '4')]), path)
        cloud = FakeCloud(fail_import=['full'])
        cloud.known['have'] = 'available'
        results = {r['id']: r for r in records.import_records(
            cloud, records.load(path))}
        self.assertEqual('failed', results['full']['status'])
        self.assertEqual('failed', results['inc']['status'])
        self.assertIn('parent full', results['inc']['reason'])
        self.assertEqual('imported', results['solo']['status'])
        self.assertEqual('present', results['have']['status'])
        self.assertEqual(['solo'], cloud.imported)

    def _bad_file(self, text):
        path = self.path('bad.json')
        with open(path, 'w') as f:
            f.write(text)
        with self.assertRaises(exception.RecordsFileInvalid) as ctx:
            records.load(path)
        return str(ctx.exception)

    def test_bad_files_are_refused_with_the_reason(self):
        self.assertIn('Expecting', self._bad_file('{not json'))
        self.assertIn('not a', self._bad_file('{"format": "x"}'))
        good = records.save(FakeCloud([_backup('a', '1')]),
                            self.path('good.json'))
        entry = good['records'][0]
        for broken, reason in (
                (dict(entry, backup_url='%%%'), 'base64'),
                (dict(entry, backup_url=base64.b64encode(b'[1]').decode()),
                 'not a JSON object'),
                (dict(entry, id='b'), 'names a'),
                ({k: v for k, v in entry.items() if k != 'backup_url'},
                 'lacks backup_url')):
            text = json.dumps(dict(good, records=[broken]))
            self.assertIn(reason, self._bad_file(text))

    def test_a_failed_save_keeps_the_old_file(self):
        path = self.path('records.json')
        records.save(FakeCloud([_backup('a', '1')]), path)
        before = open(path, 'rb').read()

        class Broken(FakeCloud):
            def backups(self, *a):
                raise exception.CloudRequestFailed(what='list', reason='x')
        self.assertRaises(exception.CloudRequestFailed, records.save,
                          Broken(), path)
        self.assertEqual(before, open(path, 'rb').read())
        self.assertEqual(['records.json'], os.listdir(self.path('')))

    def test_one_export_record_is_a_file_of_one(self):
        path = self.path('record.json')
        with open(path, 'w') as f:
            json.dump(_record('a', parent_id='p'), f)
        doc = records.load(path)
        self.assertEqual(['a'], [r['id'] for r in doc['records']])
        self.assertEqual('p', doc['records'][0]['parent_id'])
        results = records.import_records(FakeCloud([]), doc)
        self.assertEqual(['imported'], [r['status'] for r in results])
        self.assertIn('base64', self._bad_file(json.dumps(
            {'backup_service': 'x', 'backup_url': '%%%'})))
