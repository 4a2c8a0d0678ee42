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

"""A repository: config, chunks, manifests, lock - over a store.

Layout (doc/backup-format.rst), as keys of a store (stores/)::

    config                      JSON: format, version, id, defaults, crypto
    chunks/<id[:2]>/<id>        chunk objects (chunkfile.py), by content id
    manifests/<backup id>.json  one per backup, written last

The store is a directory (local or NFS; plus a ``lock`` file there) or a
Swift container (``swift://<container>[/<prefix>]``).  Backups, restores
and verifies hold the lock shared; prune and gc hold it exclusive
(locking.py: fasteners on the directory, or tooz with ``lock_url``).
Chunks a backup writes or reuses get a fresh last-use time, and gc spares
anything younger than its grace period, so even without working locks
(some NFS setups, a reader cut off from the lock service) gc never
removes what a running backup wrote.
"""

import contextlib
import hashlib
import hmac
import json
import os
import re
import threading
import uuid

from cinder_ext.backup import chunkfile
from cinder_ext.backup import crypto
from cinder_ext.backup import exception
from cinder_ext.backup import stores

LOCK_URL_ENV = 'CINDER_EXT_BACKUP_LOCK_URL'
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


class Repository(object):
    """An opened repository.  Every method is O(1) unless it says so."""

    def __init__(self, store, config, keys, lock_url=None):
        self.store = store
        self.path = store.location
        self.config = config
        self.keys = keys
        self.chunk_size = config['chunk_size']
        self.compression = config['compression']
        self._pending = []  # store handles not yet durable
        self._pending_ids = set()
        self._pending_lock = threading.Lock()
        self.pending_bytes = 0
        if lock_url is None:
            lock_url = os.environ.get(LOCK_URL_ENV) or None
        self._lock_url = lock_url
        self._lock = None

    # -- creation and opening ------------------------------------------
    @classmethod
    def init(cls, location, chunk_size=DEFAULT_CHUNK_SIZE,
             compression='zstd', kdf=None, secret=None, lock_url=None):
        """``location``: a directory or a ``swift://`` URL."""
        chunkfile.check_compression(compression)
        if chunk_size < 65536 or chunk_size & (chunk_size - 1):
            raise exception.InvalidArgument(
                reason='chunk size must be a power of two >= 64 KiB')
        if (kdf is None) != (secret is None):
            raise exception.InvalidArgument(
                reason='encryption needs both a kdf and a key')
        store = stores.open_store(location)
        store.create(('chunks', 'manifests'))
        config = {'format': FORMAT, 'version': VERSION,
                  'id': str(uuid.uuid4()), 'chunk_size': chunk_size,
                  'compression': compression, 'encryption': None}
        keys = None
        if kdf is not None:
            params = crypto.new_params(kdf)
            keys = crypto.Keys(crypto.master_key(params, secret))
            params['check'] = keys.check_value(config['id'])
            config['encryption'] = params
        # The config goes last: a half-made repository is not one.
        store.write('config', json.dumps(config, indent=2).encode())
        return cls(store, config, keys, lock_url)

    @classmethod
    def exists(cls, location):
        """True when ``location`` holds a repository's config (a stat or
        a HEAD)."""
        return stores.open_store(location).exists('config')

    @classmethod
    def open(cls, location, secret=None, lock_url=None):
        store = stores.open_store(location)
        path = store.location
        try:
            config = json.loads(store.read('config', 65536))
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
        return cls(store, config, keys, lock_url)

    # -- locking ---------------------------------------------------------
    @property
    def lock(self):
        """The process's lock object for this repository (made on first
        use: a Swift repository refuses to work without a lock URL)."""
        if self._lock is None:
            self._lock = self.store.lock(self._lock_url)
        return self._lock

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
        return self._locked(self.lock.acquire_read,
                            self.lock.release_read,
                            'prune or gc running', timeout)

    def exclusive(self, timeout=None):
        return self._locked(self.lock.acquire_write,
                            self.lock.release_write,
                            'backups or restores running', timeout)

    # -- chunks -----------------------------------------------------------
    def chunk_id(self, data):
        """sha256 of the plaintext, or HMAC-SHA256 when encrypted."""
        if self.keys is not None:
            return self.keys.chunk_id(data)
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def chunk_key(chunk_id):
        return 'chunks/%s/%s' % (chunk_id[:2], chunk_id)

    def touch_chunk(self, chunk_id):
        """True when the chunk exists (or waits in this run's batch);
        refreshes its last-use time for gc's grace period, so a chunk
        reused by a running backup is not collected."""
        with self._pending_lock:
            if chunk_id in self._pending_ids:
                return True
        return self.store.touch(self.chunk_key(chunk_id))

    def has_chunk(self, chunk_id):
        return self.store.exists(self.chunk_key(chunk_id))

    def write_chunk(self, chunk_id, header, payload):
        """Store a new chunk.  A directory store writes it under a
        temporary name that flush() makes durable (one syncfs per batch)
        and only then renames; a Swift store PUTs it atomically under its
        name at once.  Either way a chunk with its final name is whole."""
        with self._pending_lock:
            if chunk_id in self._pending_ids:
                return 0
            self._pending_ids.add(chunk_id)
        try:
            handle = self.store.stage(self.chunk_key(chunk_id),
                                      [header, payload])
        except BaseException:
            with self._pending_lock:
                self._pending_ids.discard(chunk_id)
            raise
        size = len(header) + len(payload)
        with self._pending_lock:
            if handle is not None:
                self._pending.append(handle)
                self.pending_bytes += size
        return size

    def flush(self):
        """Make the batch of new chunks durable, then name them.
        O(batch)."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
            self._pending_ids = set()
            self.pending_bytes = 0
        self.store.commit(pending)

    def discard_pending(self):
        """Remove the temporary files of a failed backup."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
            self._pending_ids = set()
            self.pending_bytes = 0
        self.store.abort(pending)

    def read_chunk(self, chunk_id):
        """FileNotFoundError when missing."""
        return self.store.read(self.chunk_key(chunk_id))

    def sync(self):
        """Flush the batch, then make the names durable.
        O(directories)."""
        self.flush()
        self.store.sync()

    def iter_chunks(self):
        """stores.Entry of stored chunks and stray temp files.
        O(chunks)."""
        return self.store.entries('chunks')

    # -- manifests ----------------------------------------------------------
    @staticmethod
    def _manifest_key(backup_id):
        return 'manifests/%s.json' % check_backup_id(backup_id)

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
        key = self._manifest_key(manifest['backup_id'])
        try:
            self.store.write(key, json.dumps(manifest).encode(),
                             replace=replace)
        except FileExistsError:
            raise exception.BackupExists(backup_id=manifest['backup_id'],
                                         path=self.path)

    def read_manifest(self, backup_id):
        """O(chunks of the backup)."""
        try:
            manifest = json.loads(self.store.read(
                self._manifest_key(backup_id)))
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
        return sorted(n[:-5] for n in self.store.names('manifests')
                      if n.endswith('.json') and not n.startswith('.'))

    def manifests(self):
        """Every manifest; O(total chunk entries)."""
        return [self.read_manifest(b) for b in self.backup_ids()]

    def delete_manifest(self, backup_id):
        try:
            self.store.delete(self._manifest_key(backup_id))
        except FileNotFoundError:
            raise exception.BackupNotFound(backup_id=backup_id,
                                           path=self.path)

    def delete_object(self, key):
        """Remove an object by its store key; absent is fine."""
        self.store.delete_quietly(key)
