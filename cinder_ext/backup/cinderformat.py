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

"""Find and parse backups written by Cinder's posix/NFS backup driver.

Cinder (``cinder/backup/chunkeddriver.py``, version 1.0.0) keeps each
backup as ``<prefix>_metadata``, ``<prefix>_sha256file`` and data objects
``<prefix>-00001``... in ``<backup_posix_path>/<container>``; the default
container is ``id[0:2]/id[2:4]/<backup id>``.  Cinder finds a parent through
its database; here a parent is found, in this order, among the backups named
by the caller, in the child's own directory, then in the parent's default
container under the posix root (given, or inferred from a child that sits in
its own default container).  The reader's job is split: this module finds,
parses and validates (O(objects) JSON work, no data read), and plans which
object owns each volume range; ``cinderformat_read`` reads the data.
"""

import glob
import json
import os
import re

from cinder_ext.backup import exception

VERSION = '1.0.0'
METADATA, SHA256FILE = '_metadata', '_sha256file'
# Cinder labels an object with the configured algorithm, lowercased, or
# 'none' when compression did not shrink it (chunkeddriver._get_compressor).
COMPRESSIONS = {'none': 'none', 'off': 'none', 'no': 'none', 'zlib': 'zlib',
                'gzip': 'zlib', 'bz2': 'bz2', 'bzip2': 'bz2', 'zstd': 'zstd'}
_HEX = re.compile(r'^[0-9a-f]*$')


def _load_json(path, error):
    try:
        with open(path, 'rb') as f:
            doc = json.loads(f.read().decode('utf-8'))
    except FileNotFoundError:
        raise error(path=path, reason='it does not exist')
    except (OSError, ValueError) as exc:
        raise error(path=path, reason=exc)
    if not isinstance(doc, dict):
        raise error(path=path, reason='not a JSON object')
    return doc


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool) \
        and value >= 0


class CinderBackup(object):
    """One backup: ``objects`` is a list of (name, offset, length,
    compression, md5 or None) in write order; ``sha256s`` one hex digest
    per ``chunk_size`` block of the whole volume."""

    def __init__(self, directory, prefix):
        self.directory, self.prefix = directory, prefix
        self.metadata_path = os.path.join(directory, prefix + METADATA)
        self.sha256_path = os.path.join(directory, prefix + SHA256FILE)
        meta = _load_json(self.metadata_path,
                          exception.CinderMetadataCorrupt)
        if meta.get('version') != VERSION:
            raise exception.UnsupportedFormat(
                what=self.metadata_path, found=meta.get('version'),
                expected=VERSION)
        self.backup_id = meta.get('backup_id')
        self.volume_id = meta.get('volume_id')
        self.parent_id = meta.get('parent_id')
        self.created_at = meta.get('created_at')
        self.volume_meta = meta.get('volume_meta')
        if not isinstance(self.backup_id, str) or not self.backup_id or \
                not isinstance(self.parent_id, (str, type(None))):
            self._bad('backup_id or parent_id missing or not a string')
        self.objects = [self._object(o) for o in self._list(meta, 'objects')]
        sha = _load_json(self.sha256_path, exception.CinderSha256ListCorrupt)
        self.chunk_size = sha.get('chunk_size')
        self.sha256s = sha.get('sha256s')
        if not _is_int(self.chunk_size) or not self.chunk_size or \
                not isinstance(self.sha256s, list) or not all(
                    isinstance(s, str) and len(s) == 64 and _HEX.match(s)
                    for s in self.sha256s):
            raise exception.CinderSha256ListCorrupt(
                path=self.sha256_path, reason='chunk_size or sha256s missing '
                'or not a list of hex SHA-256 digests')
        if sha.get('backup_id') != self.backup_id:
            raise exception.CinderSha256ListCorrupt(
                path=self.sha256_path, reason='it names backup %r, not %r' % (
                    sha.get('backup_id'), self.backup_id))

    def _bad(self, reason):
        raise exception.CinderMetadataCorrupt(path=self.metadata_path,
                                              reason=reason)

    def _list(self, meta, key):
        if not isinstance(meta.get(key), list):
            self._bad('%r is not a list' % key)
        return meta[key]

    def _object(self, entry):
        if not isinstance(entry, dict) or len(entry) != 1:
            self._bad('an object entry is not {name: {...}}: %r' % (entry,))
        (name, obj), = entry.items()
        if not isinstance(obj, dict) or '/' in name or \
                not name.startswith(self.prefix + '-'):
            self._bad('bad object entry %r' % name)
        offset, length = obj.get('offset'), obj.get('length')
        label = obj.get('compression')
        md5 = obj.get('md5')
        if not _is_int(offset) or not _is_int(length):
            self._bad('object %s: offset/length not integers' % name)
        if label is None or str(label).lower() not in COMPRESSIONS:
            raise exception.UnsupportedFormat(
                what='object %s' % name, found=label,
                expected=sorted(set(COMPRESSIONS.values())))
        if md5 is not None and (not isinstance(md5, str) or len(md5) != 32
                                or not _HEX.match(md5)):
            self._bad('object %s: md5 is not 32 hex digits' % name)
        return name, offset, length, COMPRESSIONS[label.lower()], md5

    def object_path(self, name):
        return os.path.join(self.directory, name)


def default_container(backup_id):
    return os.path.join(backup_id[0:2], backup_id[2:4], backup_id)


def _by_id(directory, backup_id):
    """Prefixes in ``directory`` of backup ``backup_id``.  O(entries)."""
    pattern = os.path.join(glob.escape(directory),
                           'volume_*_backup_%s%s' % (glob.escape(backup_id),
                                                     METADATA))
    return [os.path.basename(p)[:-len(METADATA)] for p in glob.glob(pattern)]


def locate(spec, posix_path=None, container=None):
    """A CinderBackup from a ``_metadata`` path, an object prefix (with
    --posix-path, and --container unless it is the default one) or a bare
    backup id (in its default container)."""
    if spec.endswith(METADATA) and os.path.isfile(spec):
        path = os.path.abspath(spec)
        return CinderBackup(os.path.dirname(path),
                            os.path.basename(path)[:-len(METADATA)])
    if posix_path is None:
        raise exception.CinderBackupNotFound(
            spec=spec, reason='not a _metadata file; give --posix-path to '
            'look it up as an object prefix or backup id')
    match = re.match(r'^volume_.+_backup_(.+)$', spec)
    backup_id = match.group(1) if match else spec
    if '/' in backup_id or backup_id in ('', '.', '..'):
        raise exception.CinderBackupNotFound(spec=spec,
                                             reason='not a backup id')
    directory = os.path.join(posix_path, container or
                             default_container(backup_id))
    prefixes = [p for p in ([spec] if match else
                            _by_id(directory, backup_id))
                if os.path.isfile(os.path.join(directory, p + METADATA))]
    if len(prefixes) != 1:
        raise exception.CinderBackupNotFound(
            spec=spec, reason='%s holds %d _metadata files of it' % (
                directory, len(prefixes)))
    return CinderBackup(directory, prefixes[0])


def _posix_root(backup):
    """The posix root above a backup in its default container, else None."""
    parts = backup.directory.rstrip('/').split('/')
    if len(parts) > 3 and parts[-3:] == default_container(
            backup.backup_id).split('/'):
        return '/'.join(parts[:-3]) or '/'
    return None


def _find_parent(child, named, posix_path):
    if child.parent_id in named:
        return named[child.parent_id]
    places = [child.directory]
    for root in (posix_path, _posix_root(child)):
        if root is not None:
            places.append(os.path.join(root, default_container(
                child.parent_id)))
    for directory in dict.fromkeys(places):
        prefixes = _by_id(directory, child.parent_id)
        if len(prefixes) > 1:
            raise exception.CinderMetadataCorrupt(
                path=directory, reason='%d _metadata files of backup %s' % (
                    len(prefixes), child.parent_id))
        if prefixes:
            return CinderBackup(directory, prefixes[0])
    raise exception.CinderParentMissing(
        backup_id=child.backup_id, parent_id=child.parent_id,
        searched=', '.join(dict.fromkeys(places)))


def chain(specs, posix_path=None, container=None):
    """The chain of the LAST backup named, oldest (the full) first.  The
    other specs name parents Cinder's layout would not find.  Checks that
    the chain is one volume, one block size and one size, and that each
    backup's objects fit it.  O(objects of the chain)."""
    backups = [locate(s, posix_path, container) for s in specs]
    named = {b.backup_id: b for b in backups}
    out, seen = [backups[-1]], {backups[-1].backup_id}
    while out[-1].parent_id:
        if out[-1].parent_id in seen:
            out[-1]._bad('parent chain loops at %s' % out[-1].parent_id)
        seen.add(out[-1].parent_id)
        parent = _find_parent(out[-1], named, posix_path)
        if parent.backup_id != out[-1].parent_id:
            parent._bad('names backup %s, expected %s' % (
                parent.backup_id, out[-1].parent_id))
        out.append(parent)
    out.reverse()
    _check(out)
    return out


def _check(backups):
    full = backups[0]
    pos = 0
    for name, offset, length, _c, _m in full.objects:
        if offset != pos:
            full._bad('full backup object %s starts at %d, expected %d' % (
                name, offset, pos))
        pos += length
    size, cs = pos, full.chunk_size
    for b in backups:
        if b.volume_id != full.volume_id:
            b._bad('volume %s, but the chain is of volume %s' % (
                b.volume_id, full.volume_id))
        if b.chunk_size != cs or len(b.sha256s) != -(-size // cs):
            raise exception.CinderSha256ListCorrupt(
                path=b.sha256_path, reason='%d digests of %d bytes; the '
                'volume (%d bytes) needs %d of %d' % (
                    len(b.sha256s), b.chunk_size, size, -(-size // cs), cs))
        end = 0
        for name, offset, length, _c, _m in b.objects:
            if offset < end or offset % cs or offset + length > size or \
                    ((offset + length) % cs and offset + length != size):
                b._bad('object %s [%d, +%d) overlaps, is not aligned to %d '
                       'or leaves the %d-byte volume' % (
                           name, offset, length, cs, size))
            end = offset + length
    return size


def volume_size(backups):
    return sum(o[2] for o in backups[0].objects)


def plan(backups):
    """[(backup, object, owned ranges)] sorted by first owned offset: each
    volume byte is owned by the newest object holding it.  Objects owning
    nothing come last, with [].  O(objects x backups) list work."""
    covered, out = [], []  # covered: sorted disjoint [start, end)
    for backup in reversed(backups):
        i, spans = 0, []
        for obj in backup.objects:
            start, end = obj[1], obj[1] + obj[2]
            while i < len(covered) and covered[i][1] <= start:
                i += 1
            j, pos, owned = i, start, []
            while j < len(covered) and covered[j][0] < end:
                if covered[j][0] > pos:
                    owned.append((pos, covered[j][0]))
                pos, j = max(pos, covered[j][1]), j + 1
            if pos < end:
                owned.append((pos, end))
            out.append((backup, obj, owned))
            spans.append((start, end))
        covered = _merge(covered, spans)
    out.sort(key=lambda p: p[2][0][0] if p[2] else float('inf'))
    return out


def _merge(a, b):
    merged = []
    for start, end in sorted(a + b):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
