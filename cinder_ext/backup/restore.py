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

"""Restore a backup (its whole chain, collapsed) to a file or a device.

Each volume offset is written once, from the newest backup naming it.
Every chunk is decoded and re-hashed BEFORE it is written: corruption stops
the restore with the backup, chunk and offset, and nothing corrupt reaches
the target.  Zeroes are not written: a fresh file keeps holes; an existing
file gets holes punched; a device gets BLKZEROOUT.  Cost: O(stored data)
reads and writes, O(chunks) bookkeeping; holes cost an ioctl per run.
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import stat
import struct

from cinder_ext.backup import chain
from cinder_ext.backup import chunker
from cinder_ext.backup import chunkfile
from cinder_ext.backup import exception
from cinder_ext.backup import pool
from cinder_ext.backup import thin

_BLKZEROOUT = 0x127f
_BLKDISCARD = 0x1277
_PUNCH_HOLE = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
_BLOCK = 64 * 1024  # zero-run granularity inside a chunk
_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64]
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64,
                                  ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2


def load_chunk(repo, chunk_id, backup_id, offset):
    """Plaintext of a chunk, verified against its id."""
    try:
        blob = repo.read_chunk(chunk_id)
    except FileNotFoundError:
        raise exception.ChunkMissing(backup_id=backup_id, chunk_id=chunk_id,
                                     offset=offset)
    try:
        data = chunkfile.decode(blob, chunk_id, repo.keys)
    except ValueError as exc:
        raise exception.ChunkCorrupt(backup_id=backup_id, chunk_id=chunk_id,
                                     offset=offset, reason=exc)
    if repo.chunk_id(data) != chunk_id:
        raise exception.ChunkCorrupt(backup_id=backup_id, chunk_id=chunk_id,
                                     offset=offset,
                                     reason='content hash mismatch')
    return data


class Target(object):
    """Where a restore writes; ``fresh`` targets are all holes already.
    ``unmap`` (bytes) on a thin LV: its unmapped blocks read as zeroes,
    so whole pool blocks are discarded, not zeroed (which would fill the
    pool)."""

    def __init__(self, fd, name, device, fresh, unmap=None):
        self.fd, self.name, self.device, self.fresh = fd, name, device, fresh
        self.unmap = unmap

    def zero(self, offset, length):
        if self.fresh or length <= 0:
            return
        if self.device and self.unmap:
            start = -(-offset // self.unmap) * self.unmap
            end = (offset + length) // self.unmap * self.unmap
            if end > start and self._ioctl(_BLKDISCARD, start, end - start):
                self._zero(offset, start - offset)
                self._zero(end, offset + length - end)
                return
        self._zero(offset, length)

    def _ioctl(self, request, offset, length):
        try:
            fcntl.ioctl(self.fd, request, struct.pack('QQ', offset, length))
            return True
        except OSError:
            return False

    def _zero(self, offset, length):
        if length <= 0:
            return
        if self.device:
            if self._ioctl(_BLKZEROOUT, offset, length):
                return
        elif _libc.fallocate(self.fd, _PUNCH_HOLE, offset, length) == 0:
            return
        zeros = bytes(min(length, 4 << 20))
        end = offset + length
        while offset < end:  # O(length): only where no ioctl works
            offset += os.pwrite(self.fd, zeros[:end - offset], offset)

    def write(self, data, offset):
        """Write the non-zero 64 KiB runs of ``data``; zero the others."""
        zero_block = bytes(_BLOCK)
        length = len(data)
        runs = []  # [is_zero, start, end], adjacent kinds merged
        for pos in range(0, length, _BLOCK):
            end = min(pos + _BLOCK, length)
            is_zero = data[pos:end] == zero_block[:end - pos]  # memcmp
            if runs and runs[-1][0] == is_zero:
                runs[-1][2] = end
            else:
                runs.append([is_zero, pos, end])
        view = memoryview(data)
        for is_zero, start, end in runs:
            if is_zero:
                self.zero(offset + start, end - start)
            else:
                self._pwrite(view[start:end], offset + start)

    def _pwrite(self, view, offset):
        start, length = offset, len(view)
        while len(view):
            n = os.pwrite(self.fd, view, offset)
            view, offset = view[n:], offset + n
        # Start writeback now, so the disk writes while the next chunks
        # are read; the final fsync then waits for little.
        _libc.sync_file_range(self.fd, start, length, _SYNC_FILE_RANGE_WRITE)


def _thin_unmap(path, fd):
    """The discard granularity (the pool's block size) of a thin LV
    target named by its path, else None."""
    if not isinstance(path, str) or thin.lookup(path) is None:
        return None
    rdev = os.fstat(fd).st_rdev
    try:
        with open('/sys/dev/block/%d:%d/queue/discard_granularity' % (
                os.major(rdev), os.minor(rdev))) as f:
            return int(f.read()) or None
    except (OSError, ValueError):
        return None


def open_target(target, size, backup_id, create):
    """(Target, owned) for a path, fd or file object; refuses one too
    small.  A path to a regular file is recreated sparse (fresh)."""
    if isinstance(target, str):
        flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        try:
            fd = os.open(target, flags, 0o600)
        except OSError as exc:
            raise exception.InvalidArgument(
                reason='cannot open restore target %s: %s' % (
                    target, exc.strerror))
        owned, name = True, target
    else:
        fd = target if isinstance(target, int) else target.fileno()
        owned, name = False, getattr(target, 'name', 'fd %d' % fd)
    try:
        st = os.fstat(fd)
        if stat.S_ISBLK(st.st_mode):
            have = os.lseek(fd, 0, os.SEEK_END)
            if have < size:
                raise exception.TargetTooSmall(
                    target=name, target_size=have, size=size,
                    backup_id=backup_id)
            return Target(fd, name, True, False,
                          _thin_unmap(target, fd)), owned
        if not stat.S_ISREG(st.st_mode):
            raise exception.InvalidArgument(
                reason='%s is not a regular file or block device' % name)
        if owned:
            os.ftruncate(fd, 0)  # O(allocated) to free, then all holes
            os.ftruncate(fd, size)
            return Target(fd, name, False, True), owned
        if st.st_size < size:
            raise exception.TargetTooSmall(
                target=name, target_size=st.st_size, size=size,
                backup_id=backup_id)
        return Target(fd, name, False, False), owned
    except BaseException:
        if owned:
            os.close(fd)
        raise


@contextlib.contextmanager
def writing(target, size, backup_id, create):
    """The Target, synced on success, closed when it is ours; a full
    target becomes a clear error."""
    out, owned = open_target(target, size, backup_id, create)
    try:
        yield out
        os.fsync(out.fd)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise exception.InvalidArgument(
                reason='no space left on restore target %s' % out.name)
        raise
    finally:
        if owned:
            os.close(out.fd)


def restore(repo, backup_id, target, workers=None, progress=None,
            create=True):
    """Returns a dict of figures.  O(stored data of the chain)."""
    manifests = chain.chain(repo, backup_id)
    size, cs = manifests[0]['size'], manifests[0]['chunk_size']
    state = chain.collapse(manifests)
    written = 0
    zero_from = 0  # start of a run of chunks that are holes

    def jobs():
        for index in sorted(i for i, (c, _b) in state.items()
                            if c is not None):
            yield index

    def fetch(index):
        chunk_id, owner = state[index]
        data = load_chunk(repo, chunk_id, owner, index * cs)
        if len(data) != chunker.chunk_length(index, size, cs):
            raise exception.ChunkCorrupt(
                backup_id=owner, chunk_id=chunk_id, offset=index * cs,
                reason='length %d does not fit the volume' % len(data))
        return index, data

    with writing(target, size, backup_id, create) as out:
        for index, data in pool.ordered_map(fetch, jobs(), workers):
            out.zero(zero_from, index * cs - zero_from)
            out.write(data, index * cs)
            written += len(data)
            zero_from = index * cs + len(data)
            if progress:
                progress(zero_from, size)
        out.zero(zero_from, size - zero_from)
    return {'backup_id': backup_id, 'size': size, 'bytes_restored': written,
            'chain': [m['backup_id'] for m in manifests]}
