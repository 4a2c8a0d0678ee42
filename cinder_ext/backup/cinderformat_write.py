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

"""Export a backup of our repository as a full backup in Cinder's
posix/NFS layout (cinder/backup/chunkeddriver.py, version 1.0.0).

Cinder restores a full backup by writing every object at its offset, onto
a volume that may hold old data, so the objects cover the whole volume.
Object lengths are free (Cinder never checks them), so a run of our data
chunks becomes one object of at most DATA_OBJECT bytes, and a run of holes
becomes ZERO_OBJECT-sized objects plus a binary split of the rest in whole
chunks: all-zero objects come in a handful of lengths, each compressed and
md5-hashed once and then only written again (sparse with 'none').
Cost: O(allocated) chunk reads, hashing and compression, O(size / object
size) small writes, O(size / 32 KiB) list entries for the sha256 list.

Atomic: objects, the sha256 list and the metadata are written under
temporary names, made durable with one syncfs, then linked to their names
(link refuses an existing name), the _metadata last.  On failure every
name made is removed: nothing that looks like a backup is left.
"""

import ctypes
import datetime
import glob
import hashlib
import itertools
import json
import math
import os
import threading
import uuid
import zlib

import zstandard

from cinder_ext.backup import atomic
from cinder_ext.backup import chain
from cinder_ext.backup import chunker
from cinder_ext.backup import cinderformat
from cinder_ext.backup import cinderrecord
from cinder_ext.backup import exception
from cinder_ext.backup import pool
from cinder_ext.backup import restore as restore_mod

SHA_BLOCK = 32768  # backup_sha_block_size_bytes (Cinder's default)
DATA_OBJECT = 8 << 20  # bounds our memory: (workers + 2) objects in flight
ZERO_OBJECT = 64 << 20  # Cinder reads and decompresses an object whole
MIN_ZERO_RUN = 256 << 10  # zeroes inside data chunks: own object from here
ZSTD_LEVEL, ZLIB_LEVEL = 3, 6  # Cinder's: zstd.compress(), zlib.compress()
COMPRESSIONS = ('zstd', 'zlib', 'none')
FILE_MODE, DIR_MODE = 0o660, 0o770  # as Cinder's posix driver makes them
_ZERO_PIECE = bytes(4 << 20)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64,
                                  ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2
ZERO_SHA256 = hashlib.sha256(bytes(SHA_BLOCK)).hexdigest()


def _compress(data, method):
    if method == 'zstd':  # compress() records the content size
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    return zlib.compress(data, ZLIB_LEVEL)


class _Zeros(object):
    """(payload or None for sparse, label, md5) of an all-zero object per
    length, made once, streamed in 4 MiB pieces (O(1) memory).  Lengths
    come from _zero_split: a handful per volume."""

    def __init__(self, method):
        self.method, self.cache = method, {}
        self.lock = threading.Lock()

    def get(self, length):
        with self.lock:
            if length not in self.cache:
                self.cache[length] = self._make(length)
            return self.cache[length]

    def _make(self, length):
        md5 = hashlib.md5(usedforsecurity=False)
        if self.method == 'zstd':
            comp = zstandard.ZstdCompressor(
                level=ZSTD_LEVEL).compressobj(size=length)
        elif self.method == 'zlib':
            comp = zlib.compressobj(ZLIB_LEVEL)
        parts, done = [], 0
        while done < length:
            piece = _ZERO_PIECE[:length - done]
            md5.update(piece)
            if self.method != 'none':
                parts.append(comp.compress(piece))
            done += len(piece)
        if self.method != 'none':
            parts.append(comp.flush())
            payload = b''.join(parts)
            if len(payload) < length:
                return payload, self.method, md5.hexdigest()
        return None, 'none', md5.hexdigest()


def layout(state, size, cs, data_max=DATA_OBJECT, zero_max=ZERO_OBJECT):
    """[(offset, length, [chunk indices] or None for zeroes)]: windows
    covering the volume, from the collapsed chain ``state``: runs of data
    chunks (at most data_max bytes) and pieces of hole runs (_zero_split).
    O(size / cs)."""
    data_max, zero_max = max(data_max, cs), max(zero_max, cs)
    out, count = [], -(-size // cs)
    index = 0
    while index < count:
        is_data = state.get(index, (None,))[0] is not None
        end = index
        while end < count and (state.get(end, (None,))[0] is not None) \
                == is_data and (not is_data or
                                (end - index + 1) * cs <= data_max):
            end += 1
        start, stop = index * cs, min(end * cs, size)
        if is_data:
            out.append((start, stop - start, list(range(index, end))))
        else:
            out.extend((o, n, None) for o, n in _zero_split(
                start, stop - start, cs, zero_max))
        index = end
    return out


def _zero_split(offset, length, unit, zero_max):
    """zero_max pieces, then the rest in power-of-two multiples of
    ``unit`` (largest first); a short tail (the volume's end) rides on
    the last piece: few distinct lengths, so few zero objects to make."""
    pieces = []
    while length >= zero_max + unit or length == zero_max:
        pieces.append((offset, zero_max))
        offset, length = offset + zero_max, length - zero_max
    units, tail = divmod(length, unit)
    for bit in reversed(range(units.bit_length())):
        if units >> bit & 1:
            pieces.append((offset, unit << bit))
            offset += unit << bit
    if tail:
        if pieces:
            last = pieces.pop()
            pieces.append((last[0], last[1] + tail))
        else:
            pieces.append((offset, tail))
    return pieces


def _blocks(data):
    """(sha256 list, zero flags) per SHA_BLOCK block; all-zero blocks
    cost a memcmp.  A short last block is hashed, and zero if it is."""
    zero = bytes(SHA_BLOCK)
    sha, flags = [], []
    for pos in range(0, len(data), SHA_BLOCK):
        block = data[pos:pos + SHA_BLOCK]  # a copy: == is a memcmp
        is_zero = block == zero[:len(block)]
        flags.append(is_zero)
        sha.append(ZERO_SHA256 if is_zero and len(block) == SHA_BLOCK
                   else hashlib.sha256(block).hexdigest())
    return sha, flags


def _runs(flags, length):
    """[[start, end, is_zero]] in bytes: zero runs of at least
    MIN_ZERO_RUN stand alone, shorter ones stay in the data around them."""
    runs = []
    i = 0
    while i < len(flags):
        j = i
        while j < len(flags) and flags[j] == flags[i]:
            j += 1
        start, end = i * SHA_BLOCK, min(j * SHA_BLOCK, length)
        alone = flags[i] and end - start >= MIN_ZERO_RUN
        if runs and not alone and not runs[-1][2]:
            runs[-1][1] = end
        else:
            runs.append([start, end, alone])
        i = j
    return runs


class _Export(object):

    def __init__(self, repo, manifests, method, zeros, files):
        self.repo, self.method, self.zeros = repo, method, zeros
        self.files = files
        self.size = manifests[0]['size']
        self.cs = manifests[0]['chunk_size']
        self.state = chain.collapse(manifests)

    def _part(self, offset, length, payload, label, md5):
        """Written under a temporary name, here in the worker thread."""
        return (offset, length) + self.files.write_temp(payload, length) + (
            label, md5)

    def _zero_parts(self, offset, length, unit):
        return [self._part(o, n, *self.zeros.get(n))
                for o, n in _zero_split(offset, length, unit, ZERO_OBJECT)]

    def encode(self, item):
        """Worker thread: (item, [(offset, length, temporary path, bytes
        stored, label, md5)], sha256s) of one window."""
        offset, length, indices = item
        if indices is None:
            sha = [ZERO_SHA256] * (length // SHA_BLOCK)
            if length % SHA_BLOCK:
                sha.append(hashlib.sha256(
                    bytes(length % SHA_BLOCK)).hexdigest())
            return item, self._zero_parts(offset, length, self.cs), sha
        data = self._load(indices)
        sha, flags = _blocks(data)
        parts = []
        view = memoryview(data)
        for start, end, is_zero in _runs(flags, len(data)):
            if is_zero:
                parts += self._zero_parts(offset + start, end - start,
                                          SHA_BLOCK)
                continue
            piece = view[start:end]
            md5 = hashlib.md5(piece, usedforsecurity=False).hexdigest()
            payload, label = piece, 'none'
            if self.method != 'none':
                packed = _compress(piece, self.method)
                if len(packed) < len(piece):
                    payload, label = packed, self.method
            parts.append(self._part(offset + start, end - start, payload,
                                    label, md5))
        return item, parts, sha

    def _load(self, indices):
        data = []
        for index in indices:
            chunk_id, owner = self.state[index]
            chunk = restore_mod.load_chunk(self.repo, chunk_id, owner,
                                           index * self.cs)
            if len(chunk) != chunker.chunk_length(index, self.size,
                                                  self.cs):
                raise exception.ChunkCorrupt(
                    backup_id=owner, chunk_id=chunk_id,
                    offset=index * self.cs, reason='length %d does not '
                    'fit the volume' % len(chunk))
            data.append(chunk)
        return data[0] if len(data) == 1 else b''.join(data)


def prefix_of(volume_id, backup_id, when):
    return 'volume_%s_%s_backup_%s' % (
        volume_id, when.astimezone(datetime.timezone.utc).strftime(
            '%Y%m%d%H%M%S'), backup_id)


def _created(manifest):
    try:
        when = datetime.datetime.fromisoformat(manifest['created_at'])
    except (TypeError, ValueError):
        when = datetime.datetime.now(datetime.timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).replace(microsecond=0)


def _check_name(what, value):
    if not isinstance(value, str) or not value or '/' in value or \
            value in ('.', '..') or '\0' in value:
        raise exception.InvalidArgument(
            reason='%s %r cannot name Cinder backup files' % (what, value))


def export(repo, backup_id, posix_path, container=None, driver='posix',
           compression='zstd', cinder_backup_id=None, workers=None,
           progress=None, lock_timeout=None):
    """Write backup ``backup_id`` (its chain collapsed) as one full Cinder
    backup under ``posix_path``; returns a dict of figures with the
    ``record`` for ``cinder backup-import``."""
    if compression not in COMPRESSIONS:
        raise exception.InvalidArgument(
            reason='compression must be one of %s, not %r' % (
                ', '.join(COMPRESSIONS), compression))
    if driver not in cinderrecord.SERVICES:
        raise exception.InvalidArgument(
            reason='driver must be posix or nfs, not %r' % driver)
    cid = cinder_backup_id or backup_id
    _check_name('backup id', cid)
    with repo.shared(lock_timeout):
        manifests = chain.chain(repo, backup_id)
        newest = manifests[0]
        _check_name('volume id', newest['volume_id'])
        if newest['size'] <= 0:
            raise exception.InvalidArgument(
                reason='backup %s holds an empty volume' % backup_id)
        if newest['chunk_size'] % SHA_BLOCK:
            raise exception.InvalidArgument(
                reason='chunk size %d is not a multiple of %d' % (
                    newest['chunk_size'], SHA_BLOCK))
        container = container or cinderformat.default_container(cid)
        created = _created(newest)
        prefix = prefix_of(newest['volume_id'], cid, created)
        directory = os.path.abspath(os.path.join(posix_path, container))
        with _Files(directory, cid) as files:
            job = _Export(repo, manifests, compression,
                          _Zeros(compression), files)
            objects, sha256s, stored = [], [], 0
            results = pool.ordered_map(job.encode, layout(
                job.state, job.size, job.cs), workers)
            try:
                for item, parts, sha in results:
                    for offset, length, tmp, n, label, md5 in parts:
                        name = '%s-%05d' % (prefix, len(objects) + 1)
                        files.assign(tmp, name)
                        stored += n
                        objects.append({name: {
                            'offset': offset, 'length': length,
                            'compression': label, 'md5': md5}})
                    sha256s.extend(sha)
                    if progress:
                        progress(item[0] + item[1], job.size)
            finally:
                results.close()  # no worker writes after a failure
            ident = {'version': cinderformat.VERSION, 'backup_id': cid,
                     'volume_id': newest['volume_id'],
                     'backup_name': newest.get('name') or '',
                     'backup_description': newest.get('description') or '',
                     'created_at': str(created)}
            files.add(prefix + cinderformat.SHA256FILE, _json(dict(
                ident, chunk_size=SHA_BLOCK, sha256s=sha256s)))
            files.add(prefix + cinderformat.METADATA, _json(dict(
                ident, objects=objects, parent_id=None, volume_meta=None)))
            files.commit()
    fields = cinderrecord.backup_fields(
        cid, newest['volume_id'], max(1, math.ceil(job.size / (1 << 30))),
        container, prefix, len(objects), created, ident['backup_name'],
        ident['backup_description'], None, driver)
    return {'backup_id': backup_id, 'cinder_backup_id': cid,
            'size': job.size, 'container': container, 'prefix': prefix,
            'directory': directory, 'object_count': len(objects),
            'bytes_stored': stored, 'compression': compression,
            'record': cinderrecord.encode(fields, driver)}


def _json(doc):
    return json.dumps(doc, sort_keys=True, indent=2).encode('utf-8')


class _Files(object):
    """Files written under temporary names in ``directory`` and named only
    by commit(); everything is removed on error."""

    def __init__(self, directory, backup_id):
        self.directory, self.backup_id = directory, backup_id
        self.temps, self.named, self.made_dirs = [], [], []
        # One random token (uuid4 reads /dev/urandom: slow in some VMs).
        self.token = atomic.TEMP_PREFIX + uuid.uuid4().hex + '-'
        self.count = itertools.count()
        self.written = set()
        self.lock = threading.Lock()

    def __enter__(self):
        missing, path = [], self.directory
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for path in reversed(missing):
            os.mkdir(path, DIR_MODE)
            os.chmod(path, DIR_MODE)  # as Cinder: not narrowed by umask
            self.made_dirs.append(path)
        self._refuse_existing()
        return self

    def _refuse_existing(self):
        pattern = os.path.join(glob.escape(self.directory), 'volume_*_backup_'
                               + glob.escape(self.backup_id) + '[-_]*')
        if glob.glob(pattern):
            raise exception.CinderExportExists(path=self.directory,
                                               backup_id=self.backup_id)

    def write_temp(self, payload, length=None):
        """(temporary path, bytes written) of ``payload`` (None: ``length``
        zero bytes, sparse).  Thread-safe."""
        tmp = os.path.join(self.directory,
                           self.token + str(next(self.count)))
        with self.lock:
            self.written.add(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                     FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            if payload is None:
                os.ftruncate(fd, length)
                return tmp, 0
            view = memoryview(payload)
            while len(view):
                view = view[os.write(fd, view):]
            # Writeback starts now: commit's syncfs then waits for little.
            _libc.sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)
            return tmp, len(payload)
        finally:
            os.close(fd)

    def assign(self, tmp, name):
        """``tmp`` becomes ``name`` at commit, in the order assigned."""
        self.temps.append((tmp, name))

    def add(self, name, payload):
        self.assign(self.write_temp(payload)[0], name)

    def commit(self):
        atomic.syncfs(self.directory)  # every file durable, one flush
        self._refuse_existing()
        last = len(self.temps) - 1
        for i, (tmp, name) in enumerate(self.temps):
            final = os.path.join(self.directory, name)
            if i == last:  # the _metadata: the backup appears now
                atomic.fsync_dir(self.directory)
            os.link(tmp, final)  # refuses an existing name
            self.named.append(final)
            os.unlink(tmp)
        atomic.fsync_dir(self.directory)
        self.temps = []

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return
        for path in reversed(self.named):  # the _metadata first
            _unlink(path)
        for tmp in self.written:
            _unlink(tmp)
        for path in reversed(self.made_dirs):
            try:
                os.rmdir(path)
            except OSError:
                break


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
