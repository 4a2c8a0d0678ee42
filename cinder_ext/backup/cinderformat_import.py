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

"""Import a backup written by Cinder's posix/NFS driver (its chain
collapsed) into our repository as one backup.

The chain is read as a source of the ordinary backup run (writer.py):
each volume range comes from the newest object holding it, decoded as a
stream (O(piece) memory, no full-size temporary copy), and every 32 KiB
block is checked against the newest backup's sha256 list before the
engine sees it.  All-zero chunks are not stored.  Cost: O(stored data of
the chain) reads and decompression (Cinder stores zeroes too),
O(size) hashing, O(allocated) compression and writes.
"""

import json
import threading

from cinder_ext.backup import cinderformat
from cinder_ext.backup import cinderformat_read
from cinder_ext.backup import exception
from cinder_ext.backup import repository
from cinder_ext.backup import sources
from cinder_ext.backup import writer


class _Stream(object):
    """The chain's bytes in volume order.  Each object is decoded once,
    front to back; the parts it does not own are decoded and dropped."""

    def __init__(self, backups):
        self.backups = backups
        self.pos = 0
        self.segments = []  # (start, end, backup, obj, owned)
        self.last = {}  # object name -> index of its last segment
        for backup, obj, owned in cinderformat.plan(backups):
            for start, end in owned:
                self.segments.append((start, end, backup, obj, owned))
        self.segments.sort(key=lambda s: s[0])
        for i, seg in enumerate(self.segments):
            self.last[seg[3][0]] = i
        self.index = 0
        self.open = {}  # object name -> [pieces generator, offset, data]

    def read(self, length):
        """The next ``length`` bytes of the volume."""
        out = []
        while length > 0:
            start, end, backup, obj, owned = self.segments[self.index]
            if start > self.pos:
                backup._bad('no object holds volume offset %d' % self.pos)
            n = min(end, self.pos + length) - self.pos
            out.append(self._take(backup, obj, owned, n))
            self.pos += n
            length -= n
            if self.pos == end:
                if self.last[obj[0]] == self.index:
                    self._finish(obj[0])
                self.index += 1
        return b''.join(out)

    def _take(self, backup, obj, owned, n):
        state = self.open.get(obj[0])
        if state is None:
            state = self.open[obj[0]] = [cinderformat_read._pieces(
                backup, obj, cinderformat_read.PIECE, False), obj[1], b'']
        gen, offset, data = state
        parts = []
        pos = self.pos
        while n > 0:
            while offset + len(data) <= pos:
                try:
                    offset, data = next(gen)
                except StopIteration:
                    raise exception.CinderObjectCorrupt(
                        backup_id=backup.backup_id, object=obj[0],
                        offset=pos, reason='it ends before this offset')
                mine = cinderformat_read._clip(owned, offset,
                                               offset + len(data))
                if mine:  # superseded pieces are only decoded
                    cinderformat_read._check_piece(
                        self.backups, backup, obj[0], offset, data, mine,
                        False)
            take = min(n, offset + len(data) - pos)
            parts.append(data[pos - offset:pos - offset + take])
            pos, n = pos + take, n - take
        state[1:] = [offset, data]
        return b''.join(parts)

    def _finish(self, name):
        """Decode the rest of an object: its length is checked at its
        end."""
        gen = self.open.pop(name)[0]
        for _piece in gen:
            pass


class CinderChainSource(sources.Source):
    """A Source over a Cinder chain for writer.BackupRun.  Its workers
    ask for chunks in order, from several threads: each waits for its
    turn (the pool starts work in order, so the one whose turn it is has
    started); the first error is raised to every later reader."""

    kind = 'cinder-posix'

    def __init__(self, backups):
        newest = backups[-1]
        super().__init__(None, newest.metadata_path,
                         cinderformat.volume_size(backups), False)
        self.stream = _Stream(backups)
        self.turn = threading.Condition()
        self.error = None

    def data_ranges(self):
        return [(0, self.size)] if self.size else []

    def read_into(self, buf, chunk_offset, pieces):
        with self.turn:
            self.turn.wait_for(lambda: self.error is not None or
                               self.stream.pos == chunk_offset +
                               pieces[0][0])
            if self.error is not None:
                raise self.error
            try:
                for offset, length in pieces:
                    if self.stream.pos != chunk_offset + offset:
                        raise exception.InvalidArgument(
                            reason='out of order read at %d' % (
                                chunk_offset + offset))
                    buf[offset:offset + length] = self.stream.read(length)
            except BaseException as exc:
                self.error = exc
                raise
            finally:
                self.turn.notify_all()


def _names(backup):
    with open(backup.metadata_path, 'rb') as f:
        meta = json.loads(f.read().decode('utf-8'))
    return meta.get('backup_name') or '', meta.get('backup_description') or ''


def import_chain(repo, specs, posix_path=None, container=None,
                 backup_id=None, parent_id=None, workers=None,
                 progress=None, lock_timeout=None):
    """Import the last Cinder backup named (chain collapsed) into
    ``repo``; with ``parent_id`` as an incremental on top of that backup
    of ours.  Returns the manifest."""
    backups = cinderformat.chain(specs, posix_path, container)
    newest = backups[-1]
    backup_id = repository.check_backup_id(backup_id or newest.backup_id)
    name, description = _names(newest)
    metadata = {'cinder_backup_id': newest.backup_id,
                'cinder_chain': ','.join(b.backup_id for b in backups)}
    with repo.shared(lock_timeout):
        parent = repo.read_manifest(parent_id) if parent_id else None
        if parent is not None and parent['volume_id'] != newest.volume_id:
            raise exception.InvalidArgument(
                reason='parent %s is of volume %s, this backup of %s' % (
                    parent_id, parent['volume_id'], newest.volume_id))
        try:
            src = CinderChainSource(backups)
            manifest = writer.BackupRun(repo, src, progress, workers).run(
                newest.volume_id, backup_id, parent, None, name,
                description, metadata,
                'cinder-posix' if parent is None else 'hash')
            repo.write_manifest(manifest)
        except BaseException:
            repo.discard_pending()
            raise
    return manifest
