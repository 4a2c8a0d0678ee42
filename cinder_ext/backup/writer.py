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

"""Taking one backup: choose what to read, chunk, hash, compress, store.

Costs: a full backup is O(allocated) reads; an incremental over a reflink
base is O(extents) FIEMAP plus O(changed) reads; without a base it is
O(allocated) reads and hashes.  Holes are never read.
"""

import datetime
import logging
import time
import uuid

from cinder_ext.backup import chain
from cinder_ext.backup import chunker
from cinder_ext.backup import chunkfile
from cinder_ext.backup import exception
from cinder_ext.backup import fiemap
from cinder_ext.backup import pool

LOG = logging.getLogger(__name__)
# New chunks are made durable in batches of this many bytes: one syncfs
# per batch instead of an fsync (a journal flush) per chunk.
FLUSH_BYTES = 256 * 1024 * 1024


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def fiemap_changes(snapshot_extents, base_extents, size, parent_size,
                   chunk_size):
    """Chunk indices that may differ from the parent, from FIEMAP."""
    indices = set()
    for offset, length in fiemap.changed_ranges(snapshot_extents,
                                                base_extents, size):
        first, last = offset // chunk_size, (offset + length - 1) // chunk_size
        indices.update(range(first, last + 1))
    if size != parent_size:
        # The parent's last (short) chunk and everything past it.
        start = min(size, parent_size) // chunk_size
        indices.update(range(start, -(-size // chunk_size)))
    return indices


class BackupRun(object):
    """One backup of one source into ``repo``; the caller holds the
    repository's shared lock."""

    def __init__(self, repo, source, progress=None, workers=None):
        self.repo = repo
        self.source = source
        self.progress = progress
        self.workers = workers
        self.stats = {'bytes_read': 0, 'bytes_stored': 0, 'chunks_new': 0,
                      'chunks_reused': 0, 'chunks_zero': 0,
                      'chunks_unchanged': 0}

    def _read(self, index, pieces):
        length = chunker.chunk_length(index, self.source.size,
                                      self.repo.chunk_size)
        buf = bytearray(length)  # calloc: holes cost no reads
        self.source.read_into(buf, index * self.repo.chunk_size, pieces)
        return buf

    def _store(self, item):
        """Worker thread: read, hash, and compress + write if new."""
        index, pieces = item
        buf = self._read(index, pieces)
        read = sum(n for _o, n in pieces)
        if buf == bytes(len(buf)):  # memcmp speed
            return index, None, 0, 'zero', read
        chunk_id = self.repo.chunk_id(buf)
        if self.parent_state.get(index, (None,))[0] == chunk_id:
            return index, chunk_id, 0, 'unchanged', read
        if self.repo.touch_chunk(chunk_id):
            return index, chunk_id, 0, 'reused', read
        header, payload = chunkfile.encode(buf, chunk_id,
                                           self.repo.compression,
                                           self.repo.keys)
        stored = self.repo.write_chunk(chunk_id, header, payload)
        return index, chunk_id, stored, 'new', read

    def run(self, volume_id, backup_id=None, parent=None, only=None,
            name='', description='', metadata=None, change_detection=None):
        """Back up and write the manifest; returns the manifest.

        ``parent``: the parent's manifest (incremental) or None (full).
        ``only``: chunk indices to look at (from FIEMAP), None for all.
        """
        started = time.monotonic()
        repo, cs, size = self.repo, self.repo.chunk_size, self.source.size
        backup_id = backup_id or str(uuid.uuid4())
        if backup_id in repo.backup_ids():
            raise exception.BackupExists(backup_id=backup_id, path=repo.path)
        self.parent_state = {}
        if parent is not None:
            if parent['chunk_size'] != cs:
                raise exception.ParentNotFound(
                    volume_id=volume_id,
                    reason='parent %s has another chunk size' % (
                        parent['backup_id'],))
            self.parent_state = chain.collapse(chain.chain(
                repo, parent['backup_id']))
        count = -(-size // cs)
        if only is not None:
            only = {i for i in only if i < count}
        plan = chunker.plan(self.source.data_ranges(), size, cs, only)
        entries = []
        seen = set()
        for index, chunk_id, stored, kind, read in pool.ordered_map(
                self._store, plan, self.workers):
            seen.add(index)
            self.stats['bytes_read'] += read
            if repo.pending_bytes >= FLUSH_BYTES:
                repo.flush()
            self.stats['bytes_stored'] += stored
            self.stats['chunks_' + kind] += 1
            if self.progress:
                self.progress(min((index + 1) * cs, size), size)
            if kind == 'unchanged':
                continue
            if chunk_id is None and (parent is None or
                                     self.parent_state.get(
                                         index, (None,))[0] is None):
                continue  # a hole then and now
            entries.append([index, chunk_id])
        if parent is not None:
            # Parent data where the source now has none (a punched hole,
            # no FIEMAP extent): record the zeroes.
            for index, (chunk_id, _b) in self.parent_state.items():
                if chunk_id is not None and index not in seen and (
                        only is None or index in only):
                    entries.append([index, None])
        entries.sort()
        repo.sync()  # every chunk durable before the manifest names it
        manifest = {
            'backup_id': backup_id, 'volume_id': volume_id,
            'parent_id': parent['backup_id'] if parent else None,
            'name': name, 'description': description,
            'created_at': _now(), 'size': size, 'chunk_size': cs,
            'compression': repo.compression, 'source': self.source.name,
            'source_kind': self.source.kind,
            'change_detection': change_detection or (
                'hash' if parent else 'full'),
            'metadata': metadata or {}, 'base': None,
            'stats': dict(self.stats,
                          seconds=round(time.monotonic() - started, 3)),
            'chunks': entries}
        return manifest
