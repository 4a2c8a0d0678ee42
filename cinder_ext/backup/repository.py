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

"""The repository on a local or NFS path: config, chunks, manifests, lock.

Layout (doc/backup-format.rst)::

    config                      JSON: format, version, id, defaults, crypto
    lock                        fasteners reader/writer lock file
    chunks/<id[:2]>/<id>        chunk files (chunkfile.py), by content id
    manifests/<backup id>.json  one per backup, written last

Backups, restores and verifies hold the lock shared; prune and gc hold it
exclusive.  Chunk files a backup writes or reuses get a fresh mtime, and gc
spares anything younger than its grace period, so even without working
locks (some NFS setups) gc never removes what a running backup wrote.
"""

import contextlib
import errno
import hashlib
import hmac
import json
import os
import re
import threading
import uuid

from cinder_ext.backup import atomic
from cinder_ext.backup import chunkfile
from cinder_ext.backup import crypto
from cinder_ext.backup import exception
from cinder_ext.backup import locking

FORMAT = 'cinder-ext-backup'
VERSION = 1
MANIFEST_FORMAT = 'cinder-ext-backup-manifest'
DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
_CHUNK_ID = re.compile('^[0-9a-f]{64}$')
_BACKUP_ID = re.compile('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')


def check_backup_id(backup_id):
    if not isinstance(backup_id, str) or not _BACKUP_ID.match(backup_id):
        raise exception.InvalidArgument(
            reason='invalid backup id %r (letters, digits, . _ -)' % (
                backup_id,))
    return backup_id


def _full(path, name):
    return exception.RepositoryFull(path=path, name=name)


class Repository(object):
    """An opened repository.  Every method is O(1) unless it says so."""

    def __init__(self, path, config, keys):
        self.path = path
        self.config = config
        self.keys = keys
        self.chunk_size = config['chunk_size']
        self.compression = config['compression']
        self._dirty = set()
        self._pending = []  # (temp path, final path) not yet durable
        self._pending_ids = set()
        self._pending_lock = threading.Lock()
        self.pending_bytes = 0
        self._lock = locking.for_repository(path)

    # -- creation and opening ------------------------------------------
    @classmethod
    def init(cls, path, chunk_size=DEFAULT_CHUNK_SIZE, compression='zstd',
             kdf=None, secret=None):
        chunkfile.check_compression(compression)
        if chunk_size < 65536 or chunk_size & (chunk_size - 1):
            raise exception.InvalidArgument(
                reason='chunk size must be a power of two >= 64 KiB')
        if (kdf is None) != (secret is None):
            raise exception.InvalidArgument(
                reason='encryption needs both a kdf and a key')
        os.makedirs(path, exist_ok=True)
        if os.listdir(path):
            raise exception.RepositoryExists(path=path)
        config = {'format': FORMAT, 'version': VERSION,
                  'id': str(uuid.uuid4()), 'chunk_size': chunk_size,
                  'compression': compression, 'encryption': None}
        keys = None
        if kdf is not None:
            params = crypto.new_params(kdf)
            keys = crypto.Keys(crypto.master_key(params, secret))
            params['check'] = keys.check_value(config['id'])
            config['encryption'] = params
        for sub in ('chunks', 'manifests'):
            os.mkdir(os.path.join(path, sub))
        # The config goes last: a half-made repository is not one.
        atomic.write_file(os.path.join(path, 'config'),
                          [json.dumps(config, indent=2).encode()])
        return cls(path, config, keys)

    @classmethod
    def open(cls, path, secret=None):
        config_path = os.path.join(path, 'config')
        try:
            with open(config_path, 'rb') as f:
                config = json.loads(f.read(65536))
        except FileNotFoundError:
            raise exception.NotARepository(path=path, reason='no config file')
        except (OSError, ValueError) as exc:
            raise exception.NotARepository(path=path, reason=exc)
        if not isinstance(config, dict) or config.get('format') != FORMAT:
            raise exception.NotARepository(path=path,
                                           reason='config has another format')
        if config.get('version') != VERSION:
            raise exception.UnsupportedFormat(
                what='repository %s' % path, found=config.get('version'),
                expected=VERSION)
        keys = None
        params = config.get('encryption')
        if params:
            if secret is None:
                raise exception.KeyRequired(path=path)
            keys = crypto.Keys(crypto.master_key(params, secret))
            if not hmac.compare_digest(keys.check_value(config['id']),
                                       params['check']):
                raise exception.WrongKey(path=path)
        return cls(path, config, keys)

    # -- locking ---------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, acquire, release, holder, timeout):
        if not acquire(timeout=timeout):
            raise exception.RepositoryBusy(path=self.path, holder=holder,
                                           timeout=timeout)
        try:
            yield self
        finally:
            release()

    def shared(self, timeout=None):
        return self._locked(self._lock.acquire_read,
                            self._lock.release_read,
                            'prune or gc running', timeout)

    def exclusive(self, timeout=None):
        return self._locked(self._lock.acquire_write,
                            self._lock.release_write,
                            'backups or restores running', timeout)

    # -- chunks -----------------------------------------------------------
    def chunk_id(self, data):
        """sha256 of the plaintext, or HMAC-SHA256 when encrypted."""
        if self.keys is not None:
            return self.keys.chunk_id(data)
        return hashlib.sha256(data).hexdigest()

    def _chunk_path(self, chunk_id):
        return os.path.join(self.path, 'chunks', chunk_id[:2], chunk_id)

    def touch_chunk(self, chunk_id):
        """True when the chunk exists (or waits in this run's batch);
        refreshes its mtime for gc's grace period, so a chunk reused by a
        running backup is not collected."""
        with self._pending_lock:
            if chunk_id in self._pending_ids:
                return True
        try:
            os.utime(self._chunk_path(chunk_id))
            return True
        except FileNotFoundError:
            return False

    def has_chunk(self, chunk_id):
        return os.path.exists(self._chunk_path(chunk_id))

    def write_chunk(self, chunk_id, header, payload):
        """Write a chunk under a temporary name; flush() makes a batch
        durable (one syncfs) and only then renames it into place, so a
        chunk file with its final name is always complete."""
        directory = os.path.dirname(self._chunk_path(chunk_id))
        with self._pending_lock:
            if chunk_id in self._pending_ids:
                return 0
            self._pending_ids.add(chunk_id)
        try:
            try:
                tmp = atomic.write_temp(directory, [header, payload])
            except FileNotFoundError:
                os.makedirs(directory, exist_ok=True)
                self._dirty.add(os.path.dirname(directory))
                tmp = atomic.write_temp(directory, [header, payload])
        except OSError as exc:
            with self._pending_lock:
                self._pending_ids.discard(chunk_id)
            if exc.errno in atomic.FULL_ERRNOS:
                raise _full(self.path, 'chunk %s' % chunk_id)
            raise
        size = len(header) + len(payload)
        with self._pending_lock:
            self._pending.append((tmp, self._chunk_path(chunk_id)))
            self.pending_bytes += size
        return size

    def flush(self):
        """Make the batch of new chunks durable, then name them.
        O(batch): one syncfs, a rename per chunk."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
            self._pending_ids = set()
            self.pending_bytes = 0
        if not pending:
            return
        try:
            atomic.syncfs(self.path)
        except OSError as exc:
            self._discard(pending)
            if exc.errno in atomic.FULL_ERRNOS:
                raise _full(self.path, 'a batch of chunks')
            raise
        for tmp, final in pending:
            os.rename(tmp, final)
            self._dirty.add(os.path.dirname(final))

    def discard_pending(self):
        """Remove the temporary files of a failed backup."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
            self._pending_ids = set()
            self.pending_bytes = 0
        self._discard(pending)

    @staticmethod
    def _discard(pending):
        for tmp, _final in pending:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def read_chunk(self, chunk_id):
        with open(self._chunk_path(chunk_id), 'rb') as f:
            return f.read()

    def sync(self):
        """Flush the batch, then fsync every directory a chunk was added
        to.  O(directories)."""
        self.flush()
        for directory in sorted(self._dirty, key=len, reverse=True):
            atomic.fsync_dir(directory)
        self._dirty.clear()

    def iter_chunks(self):
        """(chunk id, path, stat) of stored chunks and stray temp files.
        O(chunks)."""
        top = os.path.join(self.path, 'chunks')
        for sub in sorted(os.listdir(top)):
            directory = os.path.join(top, sub)
            for name in os.listdir(directory):
                path = os.path.join(directory, name)
                yield name, path, os.lstat(path)

    # -- manifests ----------------------------------------------------------
    def _manifest_path(self, backup_id):
        return os.path.join(self.path, 'manifests',
                            check_backup_id(backup_id) + '.json')

    def _mac(self, manifest):
        body = dict(manifest)
        body.pop('mac', None)
        text = json.dumps(body, sort_keys=True).encode()
        return hmac.new(self.keys.id_key, b'manifest' + text,
                        hashlib.sha256).hexdigest()

    def write_manifest(self, manifest, replace=False):
        manifest = dict(manifest, format=MANIFEST_FORMAT, version=VERSION)
        if self.keys is not None:
            manifest['mac'] = self._mac(manifest)
        path = self._manifest_path(manifest['backup_id'])
        try:
            atomic.write_file(path, [json.dumps(manifest).encode()],
                              replace=replace)
        except FileExistsError:
            raise exception.BackupExists(backup_id=manifest['backup_id'],
                                         path=self.path)
        except OSError as exc:
            if exc.errno in atomic.FULL_ERRNOS:
                raise _full(self.path, 'manifest %s' % manifest['backup_id'])
            raise

    def read_manifest(self, backup_id):
        """O(chunks of the backup)."""
        try:
            with open(self._manifest_path(backup_id), 'rb') as f:
                manifest = json.loads(f.read())
        except FileNotFoundError:
            raise exception.BackupNotFound(backup_id=backup_id,
                                           path=self.path)
        except ValueError as exc:
            raise exception.ManifestCorrupt(backup_id=backup_id, reason=exc)
        if (not isinstance(manifest, dict) or
                manifest.get('format') != MANIFEST_FORMAT):
            raise exception.ManifestCorrupt(backup_id=backup_id,
                                            reason='not a manifest')
        if manifest.get('version') != VERSION:
            raise exception.UnsupportedFormat(
                what='manifest %s' % backup_id,
                found=manifest.get('version'), expected=VERSION)
        if self.keys is not None and not hmac.compare_digest(
                manifest.get('mac', ''), self._mac(manifest)):
            raise exception.ManifestCorrupt(backup_id=backup_id,
                                            reason='MAC mismatch')
        for entry in manifest.get('chunks', ()):
            if entry[1] is not None and not _CHUNK_ID.match(entry[1]):
                raise exception.ManifestCorrupt(
                    backup_id=backup_id, reason='bad chunk id %r' % entry[1])
        return manifest

    def backup_ids(self):
        """O(backups)."""
        names = os.listdir(os.path.join(self.path, 'manifests'))
        return sorted(n[:-5] for n in names
                      if n.endswith('.json') and
                      not n.startswith(atomic.TEMP_PREFIX))

    def manifests(self):
        """Every manifest; O(total chunk entries)."""
        return [self.read_manifest(b) for b in self.backup_ids()]

    def delete_manifest(self, backup_id):
        path = self._manifest_path(backup_id)
        try:
            os.unlink(path)
        except FileNotFoundError:
            raise exception.BackupNotFound(backup_id=backup_id,
                                           path=self.path)
        atomic.fsync_dir(os.path.dirname(path))

    def delete_file(self, path):
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
