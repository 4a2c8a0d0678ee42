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

"""Cinder's own posix backup driver in this process, without a running
Cinder: a sqlite database, the driver's options, notifications off.

For the tests of Cinder's format and the backup benchmark's anchor; call
``setup`` once per process (it parses cinder's global configuration).
"""

import logging
import os


def setup(db_path, posix_path, **overrides):
    """(admin context, cinder's CONF) with the database at ``db_path``
    (created on first use) and the driver writing under ``posix_path``."""
    logging.disable(logging.CRITICAL)
    from cinder.backup.drivers import posix  # noqa: F401 (its options)
    from cinder import context
    from cinder.db import migration
    from cinder import objects
    from oslo_config import cfg
    from oslo_messaging.notify import notifier
    objects.register_all()
    conf = cfg.CONF
    # Notifications off: registered with their defaults (no driver).
    conf.register_opts(notifier._notifier_opts,
                       group='oslo_messaging_notifications')
    conf([], project='cinder', default_config_files=[])
    conf.set_override('connection', 'sqlite:///' + db_path, 'database')
    conf.set_override('backup_posix_path', posix_path)
    conf.set_override('backup_enable_progress_timer', False)
    for name, value in overrides.items():
        conf.set_override(name, value)
    new = not os.path.exists(db_path)
    if new:
        migration.db_sync()
    return context.get_admin_context(), conf


def create_volume(ctxt, volume_id, size_gb, type_id='vt'):
    """The volume row a backup needs (and its type, once)."""
    from cinder.db import api as db
    from cinder import exception
    try:
        db.volume_type_get(ctxt, type_id)
    except exception.VolumeTypeNotFound:
        db.volume_type_create(ctxt, {'id': type_id, 'name': type_id})
    db.volume_create(ctxt, {'id': volume_id, 'size': size_gb,
                            'status': 'available', 'user_id': 'u',
                            'volume_type_id': type_id, 'project_id': 'p'})


def create_backup(ctxt, backup_id, volume_id, size_gb, parent_id=None,
                  name='b'):
    """A backup row in 'creating', as the API leaves it; its object."""
    from cinder.db import api as db
    from cinder import objects
    db.backup_create(ctxt, {
        'id': backup_id, 'volume_id': volume_id, 'user_id': 'u',
        'project_id': 'p', 'status': 'creating', 'size': size_gb,
        'display_name': name, 'parent_id': parent_id,
        'availability_zone': 'az', 'host': 'h', 'service': 'posix'})
    return objects.Backup.get_by_id(ctxt, backup_id)


def import_record(ctxt, backup_service, backup_url):
    """``cinder backup-import`` without the API and RPC services: the
    steps of backup.api._get_import_backup and manager.import_record
    (quotas aside), with Cinder's own record decoding.  The Backup."""
    from cinder.backup import api
    from cinder.backup.drivers import posix
    from cinder import exception
    from cinder.objects import fields
    from cinder import objects
    options = objects.Backup.decode_record(backup_url)
    for key in ('id', 'size'):
        if key not in options:
            raise exception.InvalidInput(reason='record lacks %s' % key)
    if not 'cinder.backup.drivers.posix'.startswith(backup_service):
        raise exception.ServiceNotFound(service_id=backup_service)
    backup = objects.BackupImport(
        context=ctxt, id=options['id'], user_id='u', project_id='p',
        volume_id=api.IMPORT_VOLUME_ID, status='creating', deleted=False,
        deleted_at=None, metadata={})
    backup.create()
    options.pop('driver_info', {})
    posix.PosixBackupDriver(ctxt).import_record(backup, {})
    required = {'display_name', 'display_description', 'container', 'size',
                'service_metadata', 'object_count', 'id'}
    missing = required - set(options)
    if missing:
        raise exception.InvalidBackup(reason='missing %s' % sorted(missing))
    options.update(service='cinder.backup.drivers.posix',
                   availability_zone='az', host='h')
    for key in ('name', 'user_id', 'project_id', 'deleted_at', 'deleted',
                'fail_reason', 'status'):
        options.pop(key, None)
    backup.update(options)
    backup.save()
    backup.update({'status': fields.BackupStatus.AVAILABLE})
    backup.save()
    return objects.Backup.get_by_id(ctxt, options['id'])


def restore(ctxt, backup_id, volume_id, path, volume_is_new):
    """Cinder's restore of a backup (its chain) onto the file ``path``."""
    from cinder.backup.drivers import posix
    from cinder import objects
    backup = objects.Backup.get_by_id(ctxt, backup_id)
    backup.status = 'restoring'  # as cinder-backup's manager sets it
    backup.save()
    with open(path, 'r+b') as f:
        posix.PosixBackupDriver(ctxt).restore(backup, volume_id, f,
                                              volume_is_new)
    backup.status = 'available'
    backup.save()
