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

"""A Cinder backup driver on the cinder-ext backup engine.

``backup_driver = cinder_ext.backup.cinder_driver.CinderExtBackupDriver``

cinder-backup attaches the volume (or the temporary snapshot or clone it
takes of an in-use volume) and hands over the open device or file.  The
driver passes its path to the engine, which reads only the allocated data
(a file on a share) or skips zero chunks (a block device); for a file on
a reflink filesystem it keeps a reflinked base next to the volume, so an
incremental reads only the extents that changed since.  Each operation
runs in a child process (``backup.worker``): real threads, bounded
memory, and cinder-backup's eventlet hub stays free.

The backup's record (``backup-export``) carries the engine's manifest, so
``backup-import`` works against the same repository (or a copy of it)
after Cinder's database is lost.
"""

import json
import logging
import os
import stat
import sys

from cinder.backup import driver
from cinder import exception
from cinder import interface
from oslo_concurrency import processutils
from oslo_config import cfg

from cinder_ext.backup import repository
from cinder_ext import opts

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts(opts.backup_opts)

BASE_PREFIX = '.cinder_ext-backup-base-'
# exit codes of the worker (as the command line's): corrupt or missing
# data, repository busy
_EXIT_CORRUPT, _EXIT_BUSY = 3, 4


class BackupFailed(exception.BackupDriverException):
    """The engine refused or failed; ``reason`` names what and why."""


@interface.backupdriver
class CinderExtBackupDriver(driver.BackupDriver):
    """Sparse, incremental, deduplicated backups in a cinder-ext
    repository."""

    VERSION = '1.0.0'

    def __init__(self, context):
        super().__init__(context)
        self.repo_path = CONF.cinder_ext_backup_repository

    @staticmethod
    def get_driver_options():
        return opts.backup_opts

    # -- setup -----------------------------------------------------------
    def check_for_setup_error(self):
        """Create the repository when the directory is missing or empty;
        otherwise open it (format, key) so a misconfiguration shows at
        start, not at the first backup."""
        path = self.repo_path
        try:
            empty = not os.path.exists(path) or not os.listdir(path)
            secret = self._secret()
            if empty:
                repository.Repository.init(
                    path, CONF.cinder_ext_backup_chunk_size,
                    CONF.cinder_ext_backup_compression,
                    'hkdf' if secret else None, secret)
                LOG.info('Created backup repository %s', path)
            else:
                repository.Repository.open(path, secret)
        except Exception as exc:
            raise exception.InvalidConfigurationValue(
                option='cinder_ext_backup_repository', value='%s (%s)' % (
                    path, exc))

    @staticmethod
    def _secret():
        path = CONF.cinder_ext_backup_key_file
        if not path:
            return None
        with open(path, 'rb') as f:
            return f.read()

    # -- the child process -----------------------------------------------
    def _run(self, op, **args):
        request = dict(args, op=op, repo=self.repo_path,
                       key_file=CONF.cinder_ext_backup_key_file,
                       workers=CONF.cinder_ext_backup_workers,
                       lock_timeout=CONF.cinder_ext_backup_lock_timeout)
        LOG.debug('backup engine: %s %s', op,
                  args.get('backup_id') or args.get('manifest', {}).get(
                      'backup_id'))
        try:
            out, _err = processutils.execute(
                sys.executable, '-m', 'cinder_ext.backup.worker',
                process_input=json.dumps(request))
        except processutils.ProcessExecutionError as exc:
            reply = self._reply(exc.stdout)
            if reply is None:
                raise BackupFailed(reason='%s failed (exit %s): %s' % (
                    op, exc.exit_code, (exc.stderr or '').strip()[-500:]))
            raise self._translate(op, exc.exit_code, reply)
        reply = self._reply(out)
        if reply is None:
            raise BackupFailed(reason='%s: no reply from the engine' % op)
        return reply['result']

    @staticmethod
    def _reply(out):
        for line in reversed((out or '').splitlines()):
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if isinstance(reply, dict) and 'ok' in reply:
                return reply
        return None

    @staticmethod
    def _translate(op, exit_code, reply):
        reason = '%s: %s' % (reply.get('error'), reply.get('message'))
        if exit_code == _EXIT_CORRUPT:
            return exception.InvalidBackup(reason=reason)
        if exit_code == _EXIT_BUSY:
            return BackupFailed(reason='repository busy (a prune or gc '
                                'holds it): %s' % reason)
        return BackupFailed(reason='%s failed: %s' % (op, reason))

    @staticmethod
    def _path_of(volume_file):
        path = getattr(volume_file, 'name', None)
        if not isinstance(path, str) or not os.path.isabs(path):
            raise exception.InvalidBackup(
                reason='the cinder-ext backup driver reads volumes attached '
                       'as a file or block device; got %r' % (volume_file,))
        return path

    # -- the driver interface --------------------------------------------
    def backup(self, backup, volume_file, backup_metadata=True):
        """O(allocated data) for a full backup of a file, O(changed
        extents) for an incremental with a reflink base, O(size) reads of
        a block device (zero chunks are not stored)."""
        source = self._path_of(volume_file)
        metadata = {}
        if backup_metadata:
            volume_meta = self.get_metadata(backup.volume_id)
            if volume_meta:
                metadata['cinder_volume_metadata'] = volume_meta
        base_name = None
        if (CONF.cinder_ext_backup_snapshot_base and
                stat.S_ISREG(os.stat(source).st_mode)):
            base_name = BASE_PREFIX + backup.volume_id
        manifest = self._run(
            'backup', source=source, volume_id=backup.volume_id,
            backup_id=backup.id, parent_id=backup.parent_id,
            base_name=base_name, name=backup.display_name or '',
            description=backup.display_description or '',
            metadata=metadata or None)
        stats = manifest.get('stats', {})
        LOG.info('Backup %(id)s of volume %(vol)s: %(method)s, %(read)s '
                 'bytes read, %(stored)s stored',
                 {'id': backup.id, 'vol': backup.volume_id,
                  'method': manifest.get('change_detection'),
                  'read': stats.get('bytes_read'),
                  'stored': stats.get('bytes_stored')})
        return {'container': self.repo_path,
                'service_metadata': json.dumps(
                    {'engine': 'cinder-ext', 'format': manifest.get('version'),
                     'change_detection': manifest.get('change_detection')})}

    def restore(self, backup, volume_id, volume_file, volume_is_new):
        """O(stored data of the chain): each chunk checked before it is
        written; zero ranges become holes (files) or BLKZEROOUT
        (devices)."""
        target = self._path_of(volume_file)
        volume = self.db.volume_get(self.context, volume_id)
        self._run('restore', backup_id=backup.id, target=target,
                  min_size=volume['size'] * 1024 ** 3)
        manifest = self._run('show', backup_id=backup.id)
        volume_meta = (manifest.get('metadata') or {}).get(
            'cinder_volume_metadata')
        if volume_meta:
            self.put_metadata(volume_id, volume_meta)

    def delete_backup(self, backup):
        """A backup already gone from the repository is deleted."""
        try:
            self._run('delete', backup_id=backup.id)
        except BackupFailed as exc:
            if 'BackupNotFound' not in str(exc):
                raise
            LOG.warning('Backup %s was not in repository %s', backup.id,
                        self.repo_path)

    def export_record(self, backup):
        return {'cinder_ext_manifest': self._run('show',
                                                 backup_id=backup.id)}

    def import_record(self, backup, driver_info):
        """The manifest goes back into the repository (as a copy under the
        new id when the record was imported under another one); every
        chunk it names must be there (a quick verify), else the import
        fails and leaves nothing behind."""
        manifest = (driver_info or {}).get('cinder_ext_manifest')
        if not isinstance(manifest, dict) or 'backup_id' not in manifest:
            raise exception.InvalidBackup(
                reason='the record holds no cinder-ext manifest')
        self._run('import', manifest=manifest, backup_id=backup.id)
