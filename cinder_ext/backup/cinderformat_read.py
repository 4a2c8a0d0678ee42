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

"""Restore and verify backups written by Cinder's posix/NFS driver.

An incremental chain is collapsed in one pass: each object needed is
decompressed once, as a stream (O(piece) memory, not O(object) as in
Cinder), and only the ranges it owns (newest backup wins) are written.
Every owned block is hashed and checked against the newest backup's
sha256 list BEFORE its piece is written, so no block that fails the check
reaches the target; each object's length is checked at its end (and its
md5, when the sha256 check is off).
Verify decodes every object of the chain and checks every block against
its own backup's list, and owned blocks against the newest; or hashes a
restored image against the newest list.  Cost: O(stored data of the chain)
reads and decompression, O(size) hashing.
"""

import bz2
import hashlib
import zlib

import zstandard

from cinder_ext.backup import cinderformat
from cinder_ext.backup import exception
from cinder_ext.backup import restore as restore_mod

PIECE = 4 << 20  # decoded bytes handled at once; a multiple of the block


class _ZlibReader(object):
    """read(n) over a zlib stream (Python 3.11 has no zlib file object)."""

    def __init__(self, f):
        self.f, self.d, self.tail = f, zlib.decompressobj(), b''

    def read(self, n):
        out = []
        while n > 0 and not self.d.eof:
            if not self.tail:
                self.tail = self.f.read(1 << 20)
                if not self.tail:
                    raise EOFError('compressed stream ends early')
            data = self.d.decompress(self.tail, n)
            self.tail = self.d.unconsumed_tail
            out.append(data)
            n -= len(data)
        if self.d.eof and (self.d.unused_data or self.tail):
            raise ValueError('data after the end of the zlib stream')
        return b''.join(out)


def _reader(f, compression):
    if compression == 'zlib':
        return _ZlibReader(f)
    if compression == 'bz2':
        return bz2.BZ2File(f)
    if compression == 'zstd':
        # Cinder writes one frame with the `zstd` package; this reads it.
        return zstandard.ZstdDecompressor().stream_reader(
            f, read_across_frames=True)
    return f


def _read_full(reader, n):
    """n bytes, fewer only at the end (stream readers may return less)."""
    parts = []
    while n > 0:
        data = reader.read(n)
        if not data:
            break
        parts.append(data)
        n -= len(data)
    return b''.join(parts)


def _pieces(backup, obj, piece, check_md5):
    """(volume offset, decoded bytes) of an object, then checks its length
    (and md5).  Decoding errors name the volume offset reached."""
    name, offset, length, compression, md5 = obj
    md5 = md5 if check_md5 else None
    digest, done = hashlib.md5(usedforsecurity=False), 0
    try:
        f = open(backup.object_path(name), 'rb')
    except FileNotFoundError:
        raise exception.CinderObjectMissing(
            backup_id=backup.backup_id, object=name, offset=offset,
            path=backup.object_path(name))
    with f:
        reader = _reader(f, compression)
        while True:
            try:
                data = _read_full(reader, min(piece, length - done)
                                  if done < length else 1)
            except (OSError, EOFError, ValueError, zlib.error,
                    zstandard.ZstdError) as exc:
                raise exception.CinderObjectCorrupt(
                    backup_id=backup.backup_id, object=name,
                    offset=offset + done, reason='%s decoding failed: %s' % (
                        compression, exc))
            if done == length or not data:
                break
            if md5 is not None:
                digest.update(data)  # ~650 MB/s: only where asked
            yield offset + done, data
            done += len(data)
    if done != length or data:
        raise exception.CinderObjectCorrupt(
            backup_id=backup.backup_id, object=name, offset=offset + done,
            reason='%s %d bytes, _metadata says %d' % (
                'decodes to more than' if data else 'decodes to', done,
                length))
    if md5 is not None and digest.hexdigest() != md5:
        raise exception.CinderObjectCorrupt(
            backup_id=backup.backup_id, object=name, offset=offset,
            reason='md5 %s, _metadata says %s' % (digest.hexdigest(), md5))


def _digests(data, cs, zero_digest):
    """Hex sha256 of each cs-byte block; all-zero blocks cost a memcmp."""
    zero = bytes(cs)
    for pos in range(0, len(data), cs):
        block = data[pos:pos + cs]  # a bytes copy: == is a memcmp
        yield zero_digest if block == zero else \
            hashlib.sha256(block).hexdigest()


def _check_piece(backups, backup, name, offset, data, owned, own_list):
    """Raises at the first block of ``data`` (at ``offset``) that does not
    match: owned blocks against the newest list; with ``own_list``, every
    block against its own backup's list."""
    newest = backups[-1]
    cs = newest.chunk_size
    zero_digest = hashlib.sha256(bytes(cs)).hexdigest()
    for k, digest in enumerate(_digests(data, cs, zero_digest)):
        pos = offset + k * cs
        lists = [backup] if own_list else []
        if any(s <= pos < e for s, e in owned):
            lists.append(newest)
        for b in lists:
            if b.sha256s[pos // cs] != digest:
                raise exception.CinderBlockMismatch(
                    backup_id=backup.backup_id, object=name, offset=pos,
                    list_backup_id=b.backup_id)


def _clip(owned, start, end):
    return [(max(s, start), min(e, end)) for s, e in owned
            if s < end and e > start]


def _run(backups, out, check_sha256, verify_all, progress):
    """Decode the plan's objects, check them, write owned ranges to
    ``out`` (a restore.Target or None).  Returns bytes written/owned."""
    size = cinderformat.volume_size(backups)
    piece = max(1, PIECE // backups[-1].chunk_size) * backups[-1].chunk_size
    done = 0
    for backup, obj, owned in cinderformat.plan(backups):
        if not owned and not verify_all:
            continue  # wholly superseded: not even read
        # With every written block checked by sha256, md5 adds nothing to
        # a restore; verify and an unchecked restore use it.
        check_md5 = verify_all or not check_sha256
        for offset, data in _pieces(backup, obj, piece, check_md5):
            mine = _clip(owned, offset, offset + len(data))
            if check_sha256:
                _check_piece(backups, backup, obj[0], offset, data, mine,
                             verify_all)
            for s, e in mine:
                if out is not None:
                    out.write(data if e - s == len(data) else
                              data[s - offset:e - offset], s)
                done += e - s
            if progress and mine:
                progress(done, size)
    return done


def restore(specs, target, posix_path=None, container=None,
            check_sha256=True, create=True, progress=None):
    """Restore the last backup named (its chain collapsed) to ``target``
    (path, fd or file object).  Returns a dict of figures."""
    backups = cinderformat.chain(specs, posix_path, container)
    size = cinderformat.volume_size(backups)
    backup_id = backups[-1].backup_id
    with restore_mod.writing(target, size, backup_id, create) as out:
        written = _run(backups, out, check_sha256, False, progress)
        if written != size:  # _check makes the full cover the volume
            raise exception.CinderMetadataCorrupt(
                path=backups[0].metadata_path,
                reason='objects cover %d of %d bytes' % (written, size))
    return {'backup_id': backup_id, 'size': size, 'bytes_restored': written,
            'chain': [b.backup_id for b in backups], 'target': out.name,
            'sha256_checked': check_sha256}


def verify(specs, posix_path=None, container=None, image=None,
           progress=None):
    """Without ``image``: decode every object of the chain, check lengths,
    md5s and every block against the sha256 lists.  With ``image`` (a
    restored file or device): hash its blocks against the newest list.
    Raises at the first problem; returns a dict of figures."""
    backups = cinderformat.chain(specs, posix_path, container)
    size = cinderformat.volume_size(backups)
    result = {'backup_id': backups[-1].backup_id, 'size': size,
              'chain': [b.backup_id for b in backups],
              'blocks': len(backups[-1].sha256s), 'problems': 0}
    if image is None:
        _run(backups, None, True, True, progress)
        return dict(result, objects=sum(len(b.objects) for b in backups))
    _verify_image(backups, image, size, progress)
    return dict(result, image=image)


def _verify_image(backups, image, size, progress):
    newest = backups[-1]
    cs = newest.chunk_size
    zero_digest = hashlib.sha256(bytes(cs)).hexdigest()
    piece = max(1, PIECE // cs) * cs
    try:
        f = open(image, 'rb')
    except OSError as exc:
        raise exception.InvalidArgument(reason='cannot open %s: %s' % (
            image, exc.strerror))
    with f:
        for offset in range(0, size, piece):
            data = f.read(min(piece, size - offset))
            if len(data) < min(piece, size - offset):
                raise exception.InvalidArgument(
                    reason='%s holds fewer than %d bytes' % (image, size))
            for k, digest in enumerate(_digests(data, cs, zero_digest)):
                pos = offset + k * cs
                if newest.sha256s[pos // cs] != digest:
                    backup, name = _owner(backups, pos)
                    raise exception.CinderImageMismatch(
                        image=image, offset=pos, backup_id=backup,
                        object=name, list_backup_id=newest.backup_id)
            if progress:
                progress(offset + len(data), size)


def _owner(backups, pos):
    for backup, obj, owned in cinderformat.plan(backups):
        if any(s <= pos < e for s, e in owned):
            return backup.backup_id, obj[0]
    return None, None
