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

"""Where a file's data lies, and copying only that data.

FIEMAP (with physical addresses, for the backup engine's incrementals),
the written data ranges of a file (FIEMAP, else SEEK_DATA/SEEK_HOLE), and
a range copy.  Used by the confined file operations (``fileio``) and the
backup engine's sources; nothing here knows names or shares.
"""

import array
import errno
import fcntl
import os
import struct

_CHUNK = 4 * 1024 * 1024
_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_FLAG_SYNC = 0x1
_FIEMAP_HEAD, _FIEMAP_EXTENT = 32, 56
_FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_UNWRITTEN = 0x800
FIEMAP_EXTENT_SHARED = 0x2000


def fiemap(fd, start=0):
    """(logical, physical, length, flags) of a file's extents by FIEMAP,
    after a sync; None where the filesystem has no FIEMAP (NFS).
    O(extents)."""
    result = []
    while True:
        buf = array.array('B', bytes(_FIEMAP_HEAD + _FIEMAP_EXTENT * 512))
        struct.pack_into('=QQIIII', buf, 0, start, 2 ** 64 - 1 - start,
                         _FIEMAP_FLAG_SYNC, 0, 512, 0)
        try:
            fcntl.ioctl(fd, _FS_IOC_FIEMAP, buf)
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
                return None
            raise
        mapped, = struct.unpack_from('=I', buf, 20)
        if not mapped:
            return result
        for i in range(mapped):
            offset, physical, length, _r1, _r2, flags = struct.unpack_from(
                '=QQQQQI', buf, _FIEMAP_HEAD + _FIEMAP_EXTENT * i)
            result.append((offset, physical, length, flags))
        if flags & _FIEMAP_EXTENT_LAST:
            return result
        start = offset + length


def extents(fd, start=0):
    """(offset, length, flags) of a file's extents (``fiemap`` without
    the physical addresses), or None."""
    mapped = fiemap(fd, start)
    if mapped is None:
        return None
    return [(offset, length, flags)
            for offset, _physical, length, flags in mapped]


def data_ranges(fd, size):
    """(offset, length) of the data to copy: O(extents), O(allocated).

    FIEMAP first: it tells preallocated (unwritten) extents, which read as
    zeroes, from written ones, where SEEK_DATA on ext4 calls them data as
    soon as their pages are cached.  SEEK_DATA/SEEK_HOLE where there is no
    FIEMAP (NFS 4.2 answers it on the server).
    """
    mapped = extents(fd)
    if mapped is not None:
        ranges = []
        for offset, length, flags in mapped:
            if flags & FIEMAP_EXTENT_UNWRITTEN or offset >= size:
                continue
            length = min(length, size - offset)
            if ranges and ranges[-1][0] + ranges[-1][1] == offset:
                ranges[-1] = (ranges[-1][0], ranges[-1][1] + length)
            else:
                ranges.append((offset, length))
        return ranges
    return list(_seek_data_ranges(fd, size))


def _seek_data_ranges(fd, size):
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return
            if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                yield offset, size - offset
                return
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end - start
        offset = end


def copy_range(src, dst, offset, length):
    """Copy a byte range at the same offset: copy_file_range (server-side
    on NFS 4.2), else read and write.  O(length)."""
    while length > 0:
        try:
            done = os.copy_file_range(src, dst, min(length, 1 << 30),
                                      offset, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP,
                                 errno.EINVAL):
                raise
            done = 0
        if done == 0:
            data = os.pread(src, min(length, _CHUNK), offset)
            if not data:
                return
            done = os.pwrite(dst, data, offset)
        offset += done
        length -= done
