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

"""FileStore: volumes and snapshots as flat raw files on one share.

The store knows storage, not Cinder: it takes file names, sizes in bytes
and lock keys, and raises ``cinder_ext.exception`` errors.  Every file
operation goes through ``ops`` (``cinder_ext.privileged.fileops`` as root,
or ``cinder_ext.storage.fileio`` in-process), so one seam decides
privilege.
"""

import contextlib
import os
import struct

from oslo_log import log as logging

from cinder_ext import exception
from cinder_ext.storage import fileio

LOG = logging.getLogger(__name__)

# Image formats recognised by their first bytes.  A raw volume's content is
# never interpreted: this only decides what manage refuses and what the
# manageable listing marks unsafe.
_MAGIC = [
    (0, b'QFI\xfb', 'qcow2'),
    (0, b'QED\x00', 'qed'),
    (0, b'KDMV', 'vmdk'),
    (0, b'# Disk DescriptorFile', 'vmdk'),
    (0, b'vhdxfile', 'vhdx'),
    (0, b'conectix', 'vpc'),
    (0x40, b'\x7f\x10\xda\xbe', 'vdi'),
]


def detect_format(header):
    """('raw', None) or (format, detail) from a file's first 512 bytes."""
    for offset, magic, fmt in _MAGIC:
        if header[offset:offset + len(magic)] == magic:
            break
    else:
        return 'raw', None
    if fmt == 'qcow2' and len(header) >= 104:
        backing_offset, = struct.unpack('>Q', header[8:16])
        version, = struct.unpack('>I', header[4:8])
        incompatible, = struct.unpack('>Q', header[72:80])
        if backing_offset:
            return fmt, 'qcow2 image with a backing file'
        if version >= 3 and incompatible & 0x4:
            return fmt, 'qcow2 image with an external data file'
    return fmt, '%s image' % fmt


class FileStore:
    """Files on one mounted share."""

    def __init__(self, share, root, ops, copy_method='auto'):
        self.share = share
        self.root = root
        self._ops = ops
        self._copy_method = copy_method
        self._reflink = None

    def __repr__(self):
        return 'FileStore(%r at %r)' % (self.share, self.root)

    def path(self, name):
        fileio.check_name(name)
        return os.path.join(self.root, name)

    def check_writable(self):
        try:
            self._ops.write_probe(self.root)
        except OSError as exc:
            raise exception.ShareUnavailable(share=self.share,
                                             reason=exc.strerror)

    @property
    def reflink(self):
        """Whether this share clones by reference; probed once."""
        if self._reflink is None:
            self._reflink = (self._copy_method != 'copy' and self._call(
                'reflink probe', self.share, self._ops.supports_reflink,
                self.root))
            if self._copy_method == 'reflink' and not self._reflink:
                raise exception.ReflinkUnsupported(
                    location=self.share,
                    reason='cinder_ext_copy_method is reflink')
        return self._reflink

    def create(self, name, size, allocate, key):
        """O(1); thick: fallocate, or O(size) zero-fill where refused."""
        return self._call('create', name, self._ops.create, self.root, name,
                          size, allocate, key)

    def copy(self, src, dst, size, allocate, key, replace=False, tag=None):
        """O(extents) by reflink, else O(allocated) sparse copy."""
        return self._call('copy', dst, self._ops.clone, self.root, src, dst,
                          size, allocate, key, reflink=self.reflink,
                          replace=replace, tag=tag)

    def pin(self, name, key):
        """A temporary hard link to ``name``; O(1)."""
        return self._call('pin', name, self._ops.pin, self.root, name, key)

    def extend(self, name, size, allocate):
        """O(1) sparse; thick allocates only the new range."""
        return self._call('extend', name, self._ops.extend, self.root, name,
                          size, allocate)

    def remove(self, name):
        """O(1); False when the file was already gone."""
        return self._call('remove', name, self._ops.remove, self.root, name)

    def rename(self, src, dst):
        """O(1); never replaces ``dst``."""
        return self._call('rename', src, self._ops.rename, self.root, src,
                          dst)

    def lookup(self, path):
        return self._call('lookup', path, self._ops.lookup, self.root, path)

    def inspect(self, path):
        """(format, detail, open for writing elsewhere or None) of a file
        from its header: O(1), never follows links."""
        found = self._call('inspect', path, self._ops.inspect, self.root,
                           path)
        fmt, detail = detect_format(found['header'])
        return fmt, detail, found['writers']

    @contextlib.contextmanager
    def opened(self, name, writable):
        """An fd of the regular file ``name`` for this process, opened
        without following links; closed on exit."""
        fd = self._call('open', name, self._ops.open_regular, self.root,
                        name, writable)
        try:
            yield fd
        finally:
            os.close(fd)

    def entries(self):
        """Every file on the share with sizes: O(files), no data read."""
        return self._call('scan', self.share, self._ops.scan, self.root)

    def capacity(self):
        return self._call('statvfs', self.share, self._ops.capacity,
                          self.root)

    def usage(self):
        """Capacity plus the apparent size of the files on the share."""
        usage = self.capacity()
        files = [e for e in self.entries()
                 if e['regular'] and not e['name'].startswith('.')]
        usage['provisioned'] = sum(e['size'] for e in files)
        return usage

    def temp_files(self):
        """(name, lock key) of the half-made files left on the share.

        Only regular files whose names have the one temporary form; what
        else carries the prefix was not made by us and is left alone.
        """
        found = []
        for entry in self.entries():
            name = entry['name']
            if not name.startswith(fileio.TEMP_PREFIX):
                continue
            key = fileio.temp_key(name)
            if key is None or not entry['regular']:
                LOG.warning('Ignoring %(name)r on %(share)s: named like a '
                            'half-made file, but not one of ours',
                            {'name': name, 'share': self.share})
                continue
            found.append((name, key))
        return found

    def _call(self, operation, name, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except exception.CinderExtException:
            raise
        except OSError as exc:
            if exc.errno in fileio.FULL_ERRNOS:
                raise exception.NoSpace(name=name, location=self.share)
            raise exception.StorageError(operation=operation, name=name,
                                         location=self.share,
                                         reason=exc.strerror or str(exc))
