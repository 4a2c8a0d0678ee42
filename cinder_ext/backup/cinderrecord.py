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

"""Backup records as ``cinder backup-export`` prints them and
``cinder backup-import`` takes them.

A record is ``{"backup_service": <driver module>, "backup_url":
base64(JSON of the Backup object's fields)}``, as
``objects.Backup.encode_record`` makes it; Cinder's import needs the
fields in REQUIRED and a backup_service that prefixes its configured
backup_driver.  O(1) work.
"""

import base64
import binascii
import datetime
import json

from cinder_ext.backup import exception

SERVICES = {'posix': 'cinder.backup.drivers.posix',
            'nfs': 'cinder.backup.drivers.nfs'}
# objects.Backup.fields (minus 'parent') and the persistent-object fields,
# in the order Cinder lists them.
FIELDS = ('id', 'user_id', 'project_id', 'volume_id', 'host',
          'availability_zone', 'container', 'parent_id', 'status',
          'fail_reason', 'size', 'display_name', 'display_description',
          'service_metadata', 'service', 'object_count', 'temp_volume_id',
          'temp_snapshot_id', 'num_dependent_backups', 'snapshot_id',
          'data_timestamp', 'restore_volume_id', 'metadata',
          'encryption_key_id', 'created_at', 'updated_at', 'deleted_at',
          'deleted')
# cinder/backup/api.py _get_import_backup and manager.import_record.
REQUIRED = ('id', 'size', 'display_name', 'display_description',
            'container', 'service_metadata', 'object_count')


def isotime(when):
    """A datetime as oslo.versionedobjects' DateTimeField sends it."""
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


def backup_fields(backup_id, volume_id, size_gb, container, prefix,
                  object_count, created_at, name='', description='',
                  parent_id=None, driver='posix'):
    """The Backup fields of an available backup, every one Cinder
    exports; ``created_at`` a datetime."""
    fields = dict.fromkeys(FIELDS)
    stamp = isotime(created_at)
    fields.update({
        'id': backup_id, 'volume_id': volume_id, 'container': container,
        'parent_id': parent_id, 'status': 'available', 'size': size_gb,
        'display_name': name, 'display_description': description,
        'service_metadata': prefix, 'service': SERVICES[driver],
        'object_count': object_count, 'num_dependent_backups': 0,
        'data_timestamp': stamp, 'metadata': {}, 'created_at': stamp,
        'updated_at': stamp, 'deleted': False})
    return fields


def encode(fields, driver='posix'):
    """The record of ``fields`` for ``driver`` (posix or nfs)."""
    if driver not in SERVICES:
        raise exception.CinderRecordInvalid(
            reason='driver must be one of %s, not %r' % (
                ', '.join(sorted(SERVICES)), driver))
    _check_fields(fields)
    text = json.dumps(fields, sort_keys=True).encode('utf-8')
    return {'backup_service': SERVICES[driver],
            'backup_url': base64.b64encode(text).decode('ascii')}


def decode_url(backup_url):
    """The Backup fields of a backup_url; CinderRecordInvalid says why
    not."""
    if not isinstance(backup_url, (str, bytes)):
        raise exception.CinderRecordInvalid(
            reason='backup_url is a %s, not a string' % (
                type(backup_url).__name__))
    try:
        text = base64.b64decode(backup_url, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise exception.CinderRecordInvalid(
            reason='backup_url is not base64: %s' % exc)
    try:
        fields = json.loads(text.decode('utf-8'))
    except ValueError as exc:
        raise exception.CinderRecordInvalid(
            reason='backup_url does not hold JSON: %s' % exc)
    _check_fields(fields)
    return fields


def decode(record, drivers=tuple(SERVICES)):
    """(driver, fields) of a record (a dict or its JSON text) of one of
    ``drivers``."""
    if isinstance(record, (str, bytes)):
        try:
            record = json.loads(record)
        except ValueError as exc:
            raise exception.CinderRecordInvalid(
                reason='not JSON: %s' % exc)
    if not isinstance(record, dict) or \
            set(record) != {'backup_service', 'backup_url'}:
        raise exception.CinderRecordInvalid(
            reason='a record is {"backup_service": ..., "backup_url": ...}')
    by_service = {SERVICES[d]: d for d in drivers if d in SERVICES}
    driver = by_service.get(record['backup_service'])
    if driver is None:
        raise exception.CinderRecordInvalid(
            reason='backup_service %r is not one of %s' % (
                record['backup_service'], ', '.join(sorted(by_service))))
    fields = decode_url(record['backup_url'])
    if fields.get('service') not in (None, record['backup_service']):
        raise exception.CinderRecordInvalid(
            reason='backup_service %r, but the backup says service %r' % (
                record['backup_service'], fields['service']))
    return driver, fields


def _check_fields(fields):
    if not isinstance(fields, dict):
        raise exception.CinderRecordInvalid(
            reason='the backup fields are not a JSON object')
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise exception.CinderRecordInvalid(
            reason='fields missing: %s' % ', '.join(missing))
    for name in ('id', 'container', 'service_metadata'):
        if not isinstance(fields[name], str) or not fields[name]:
            raise exception.CinderRecordInvalid(
                reason='%s is not a non-empty string' % name)
    for name in ('size', 'object_count'):
        value = fields[name]
        if not isinstance(value, int) or isinstance(value, bool) or \
                value < 0:
            raise exception.CinderRecordInvalid(
                reason='%s is not a non-negative integer' % name)
    if fields.get('parent_id') is not None and \
            not isinstance(fields['parent_id'], str):
        raise exception.CinderRecordInvalid(reason='parent_id not a string')
