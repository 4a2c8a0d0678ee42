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

"""What a backup reads: a regular file or a block device.

A source has a ``size``, ``data_ranges()`` (where data may be) and
``read_chunk()``, which fills a zeroed buffer from the data ranges inside
one chunk only: holes inside a chunk cost nothing but a calloc.
"""

import os
import stat

from cinder_ext.backup import exception
from cinder_ext.backup import fiemap
from cinder_ext.storage import extents as storage_extents


class Source(object):
    """An open source; ``fd`` is owned unless passed in."""

    kind = None

    def __init__(self, fd, name, size, owned):
        self.fd = fd
        self.name = name
        self.size = size
        self._owned = owned

    def close(self):
        if self._owned and self.fd is not None:
            os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def extents(self):
        return None

    def read_into(self, buf, chunk_offset, pieces):
        """Read ``pieces`` [(offset in chunk, length)] into ``buf``."""
        view = memoryview(buf)
        for offset, length in pieces:
            done = 0
            while done < length:
                n = os.preadv(self.fd, [view[offset + done:offset + length]],
                              chunk_offset + offset + done)
                if n == 0:
                    raise exception.SourceError(
                        source=self.name, reason='shrank while being read')
                done += n


class FileSource(Source):
    kind = 'file'

    def data_ranges(self):
        """Allocated, written data: FIEMAP skips unwritten (preallocated)
        extents, which read as zeroes; SEEK_DATA where FIEMAP is missing
        (NFS).  O(extents), holes are never read."""
        return storage_extents.data_ranges(self.fd, self.size)

    def extents(self):
        return fiemap.extents(self.fd)


class DeviceSource(Source):
    """A block device: everything may be data; the engine drops chunks
    that read as all zeroes (O(size) reads, the only way on a thick LV)."""

    kind = 'device'

    def data_ranges(self):
        return [(0, self.size)] if self.size else []


class MappedDeviceSource(DeviceSource):
    """A block device whose data ranges are known (a thin LV's mappings
    in its pool): only they are read, holes never."""

    kind = 'thin'

    def __init__(self, fd, name, size, owned, mapped):
        super().__init__(fd, name, size, owned)
        self.mapped = list(mapped)

    def data_ranges(self):
        return list(self.mapped)


def open_source(path_or_file, name=None, mapped=None):
    """A Source for a path, an fd or a file object (cinder's volume_file);
    ``mapped``: the data ranges of a block device, when known."""
    owned = False
    if isinstance(path_or_file, (str, bytes, os.PathLike)):
        name = name or os.fsdecode(path_or_file)
        try:
            fd = os.open(path_or_file, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise exception.SourceError(source=name, reason=exc.strerror)
        owned = True
    elif isinstance(path_or_file, int):
        fd = path_or_file
    else:
        fd = path_or_file.fileno()
    name = name or getattr(path_or_file, 'name', None) or 'fd %d' % fd
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            return FileSource(fd, name, st.st_size, owned)
        if stat.S_ISBLK(st.st_mode):
            size = os.lseek(fd, 0, os.SEEK_END)
            if mapped is not None:
                return MappedDeviceSource(fd, name, size, owned, mapped)
            return DeviceSource(fd, name, size, owned)
        raise exception.SourceError(
            source=name, reason='not a regular file or block device')
    except BaseException:
        if owned:
            os.close(fd)
        raise
