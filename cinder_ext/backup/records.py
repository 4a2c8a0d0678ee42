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

"""A file of Cinder backup export records, saved and imported in bulk.

``cinder backup-export`` gives the record (driver name and base64 JSON)
that ``cinder backup-import`` turns back into a restorable backup once
Cinder's database is lost.  ``save`` keeps the records of every available
backup of a project or of the whole cloud in one file; ``import_records``
brings them back, parents before their incrementals (Cinder links an
incremental to its parent by id, so both must be imported).  The file is
JSON::

    {"format": "cinder-ext-backup-records", "version": 1,
     "saved_at": ..., "scope": ..., "records": [{"id", "project_id",
     "volume_id", "parent_id", "name", "size", "created_at",
     "backup_service", "backup_url"}, ...], "skipped": [...]}

The API side is ``cloud.py``; this module only orders, checks and files.
"""

import datetime
import json

from cinder_ext.backup import atomic
from cinder_ext.backup import cinderrecord
from cinder_ext.backup import exception

FORMAT = 'cinder-ext-backup-records'
VERSION = 1
_FIELDS = ('id', 'project_id', 'volume_id', 'parent_id', 'name', 'size',
           'created_at', 'backup_service', 'backup_url')


def record_fields(record):
    """The Backup fields inside an export record; RecordInvalid unless it
    is base64 of a JSON object with an id."""
    url = record.get('backup_url') if isinstance(record, dict) else None
    if not isinstance(url, str) or not isinstance(
            record.get('backup_service'), str):
        raise exception.RecordInvalid(
            reason='a record has a backup_service and a backup_url string')
    try:
        fields = cinderrecord.decode_url(url)
    except exception.CinderRecordInvalid as exc:
        raise exception.RecordInvalid(reason=exc.kwargs['reason'])
    if not isinstance(fields, dict) or not isinstance(fields.get('id'), str):
        raise exception.RecordInvalid(reason='backup_url names no backup id')
    return fields


def _entry(backup, record):
    """One file entry: the API's view of the backup and its record (whose
    decoded fields are the authority for id and parent)."""
    fields = record_fields(record)
    if fields['id'] != backup['id']:
        raise exception.RecordInvalid(
            reason='the record of backup %s names backup %s'
            % (backup['id'], fields['id']))
    return {
        'id': backup['id'],
        'project_id': backup.get('os-backup-project-attr:project_id'),
        'volume_id': backup.get('volume_id'),
        'parent_id': fields.get('parent_id'),
        'name': backup.get('name'), 'size': backup.get('size'),
        'created_at': backup.get('created_at'),
        'backup_service': record['backup_service'],
        'backup_url': record['backup_url']}


def save(cloud, path, all_projects=False, project_id=None):
    """Write the records of every available backup in scope to ``path``
    (atomically: the old file stays whole until the new one is).  Backups
    that are not available, or whose export fails, are listed under
    ``skipped`` with the reason.  O(backups) API calls."""
    records, skipped = [], []
    for backup in cloud.backups(all_projects, project_id):
        if backup.get('status') != 'available':
            skipped.append({'id': backup['id'], 'reason': 'status %s'
                            % backup.get('status')})
            continue
        try:
            records.append(_entry(backup, cloud.export_record(backup['id'])))
        except exception.BackupError as exc:
            skipped.append({'id': backup['id'], 'reason': str(exc)})
    doc = {'format': FORMAT, 'version': VERSION,
           'saved_at': datetime.datetime.now(
               datetime.timezone.utc).isoformat(),
           'scope': ('all projects' if all_projects else
                     'project %s' % (project_id or cloud.project_id)),
           'records': parent_first(records), 'skipped': skipped}
    atomic.write_file(path, [json.dumps(doc, indent=1).encode()])
    return doc


def load(path):
    """The records file at ``path``, checked: format, fields and each
    record's base64 JSON, without any API call."""
    try:
        with open(path, 'rb') as f:
            doc = json.loads(f.read().decode('utf-8'))
    except (OSError, ValueError) as exc:
        raise exception.RecordsFileInvalid(path=path, reason=exc)
    if isinstance(doc, dict) and set(doc) == {'backup_service',
                                              'backup_url'}:
        doc = _single(path, doc)
    if not isinstance(doc, dict) or doc.get('format') != FORMAT:
        raise exception.RecordsFileInvalid(
            path=path, reason='not a %s file' % FORMAT)
    if doc.get('version') != VERSION:
        raise exception.UnsupportedFormat(what=path, found=doc.get('version'),
                                          expected=VERSION)
    records = doc.get('records')
    if not isinstance(records, list):
        raise exception.RecordsFileInvalid(path=path, reason='no records')
    for n, entry in enumerate(records):
        if not isinstance(entry, dict) or any(k not in entry
                                              for k in _FIELDS):
            raise exception.RecordsFileInvalid(
                path=path, reason='entry %d lacks %s' % (
                    n, ', '.join(k for k in _FIELDS
                                 if not isinstance(entry, dict) or
                                 k not in entry)))
        try:
            fields = record_fields(entry)
        except exception.BackupError as exc:
            raise exception.RecordsFileInvalid(
                path=path, reason='entry %d (%s): %s' % (
                    n, entry.get('id'), exc))
        if fields['id'] != entry['id']:
            raise exception.RecordsFileInvalid(
                path=path, reason='entry %d is %s but its record names %s'
                % (n, entry['id'], fields['id']))
    doc['records'] = parent_first(records)
    return doc


def _single(path, record):
    """A file holding one export record (as ``cinder backup-export``
    prints it, or ``cinder-export --record`` writes it) as a records
    document of one entry."""
    try:
        fields = record_fields(record)
    except exception.BackupError as exc:
        raise exception.RecordsFileInvalid(path=path, reason=exc)
    entry = dict((k, fields.get(k)) for k in (
        'id', 'project_id', 'volume_id', 'parent_id', 'size', 'created_at'))
    entry.update(name=fields.get('display_name'),
                 backup_service=record['backup_service'],
                 backup_url=record['backup_url'])
    return {'format': FORMAT, 'version': VERSION, 'saved_at': None,
            'scope': 'one record', 'records': [entry], 'skipped': []}


def parent_first(records):
    """Records ordered so that a parent comes before its incrementals
    (otherwise oldest first).  O(n log n)."""
    by_id = {r['id']: r for r in records}
    ordered, placed = [], set()

    def place(record, seen):
        if record['id'] in placed:
            return
        if record['id'] in seen:
            raise exception.RecordInvalid(
                reason='backup %s is its own ancestor' % record['id'])
        parent = by_id.get(record.get('parent_id'))
        if parent is not None:
            place(parent, seen | {record['id']})
        placed.add(record['id'])
        ordered.append(record)

    for record in sorted(records, key=lambda r: (r.get('created_at') or '',
                                                 r['id'])):
        place(record, frozenset())
    return ordered


def import_records(cloud, doc, into_original_projects=False, timeout=600,
                   report=None):
    """Import every record of ``doc`` (from ``load``) that Cinder does
    not have, waiting for each to become available.  A backup whose
    parent failed is not tried.  Returns one result per record: status
    ``imported``, ``present`` (Cinder already has it) or ``failed`` with
    a reason.  O(records) API calls."""
    results, failed = [], set()
    for entry in doc['records']:
        result = {'id': entry['id'], 'name': entry.get('name')}
        target = cloud
        if into_original_projects and entry.get('project_id'):
            target = cloud.as_project(entry['project_id'])
        try:
            if entry.get('parent_id') in failed:
                raise exception.RecordInvalid(
                    reason='its parent %s was not imported'
                    % entry['parent_id'])
            if target.backup_exists(entry['id']):
                result['status'] = 'present'
            else:
                target.import_record({'backup_service':
                                      entry['backup_service'],
                                      'backup_url': entry['backup_url']})
                target.wait_available(entry['id'], timeout)
                result['status'] = 'imported'
        except exception.BackupError as exc:
            failed.add(entry['id'])
            result.update(status='failed', reason=str(exc))
        results.append(result)
        if report is not None:
            report(result)
    return results
