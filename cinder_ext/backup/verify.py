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

"""Verify backups: quick (chunks present), deep (re-hash everything),
compare (the collapsed backup against a source, reading only its data).

Returns a list of problems, each a dict naming backup, chunk and offset;
an empty list means all is well.  Quick: O(distinct chunks) stats; deep:
O(stored data) reads and hashes; compare: O(allocated source data).
"""

from cinder_ext.backup import chain
from cinder_ext.backup import chunker
from cinder_ext.backup import exception
from cinder_ext.backup import pool
from cinder_ext.backup import restore
from cinder_ext.backup import sources


def _problem(backup_id, chunk_id, offset, kind, detail):
    return {'backup_id': backup_id, 'chunk_id': chunk_id, 'offset': offset,
            'problem': kind, 'detail': detail}


def _check(repo, deep, item):
    chunk_id, backup_id, offset = item
    if not deep:
        if repo.has_chunk(chunk_id):
            return chunk_id, None
        return chunk_id, ('missing', 'chunk file is missing')
    try:
        restore.load_chunk(repo, chunk_id, backup_id, offset)
    except exception.ChunkMissing:
        return chunk_id, ('missing', 'chunk file is missing')
    except exception.ChunkCorrupt as exc:
        return chunk_id, ('corrupt', exc.kwargs['reason'])
    return chunk_id, None


def verify(repo, backup_ids=None, deep=False, compare=None, workers=None):
    backup_ids = backup_ids or repo.backup_ids()
    problems = []
    checked = {}  # chunk id -> problem or None, each chunk checked once
    for backup_id in backup_ids:
        try:
            manifest = repo.read_manifest(backup_id)
        except exception.ManifestCorrupt as exc:
            problems.append(_problem(backup_id, None, None, 'manifest',
                                     exc.msg))
            continue
        cs = manifest['chunk_size']
        todo = []
        for index, chunk_id in manifest['chunks']:
            if chunk_id is not None and chunk_id not in checked:
                checked[chunk_id] = None
                todo.append((chunk_id, backup_id, index * cs))
        for chunk_id, result in pool.ordered_map(
                lambda item: _check(repo, deep, item), todo, workers):
            checked[chunk_id] = result
        for index, chunk_id in manifest['chunks']:
            if chunk_id is not None and checked[chunk_id]:
                kind, detail = checked[chunk_id]
                problems.append(_problem(backup_id, chunk_id, index * cs,
                                         kind, detail))
        if manifest.get('parent_id'):
            try:
                repo.read_manifest(manifest['parent_id'])
            except exception.BackupNotFound:
                problems.append(_problem(backup_id, None, None, 'parent',
                                         'parent %s is missing' %
                                         manifest['parent_id']))
    if compare is not None:
        # The source is compared with one state: the newest backup given.
        newest = max((repo.read_manifest(b) for b in backup_ids),
                     key=lambda m: m['created_at'])
        problems.extend(compare_source(repo, newest['backup_id'], compare,
                                       workers))
    return problems


def compare_source(repo, backup_id, source, workers=None):
    """Problems where ``source`` differs from the backup's state."""
    manifests = chain.chain(repo, backup_id)
    size, cs = manifests[0]['size'], manifests[0]['chunk_size']
    state = chain.collapse(manifests)
    problems = []
    with sources.open_source(source) as src:
        if src.size != size:
            return [_problem(backup_id, None, None, 'size',
                             'source has %d bytes, backup %d' % (src.size,
                                                                 size))]

        def read(plan):
            for index, pieces in plan:
                buf = bytearray(chunker.chunk_length(index, size, cs))
                src.read_into(buf, index * cs, pieces)
                yield index, buf

        def digest(item):
            index, buf = item
            if buf == bytes(len(buf)):
                return index, None
            return index, repo.chunk_id(buf)

        seen = set()
        for index, chunk_id in pool.ordered_map(
                digest, read(chunker.plan(src.data_ranges(), size, cs)),
                workers):
            seen.add(index)
            expected, owner = state.get(index, (None, backup_id))
            if chunk_id != expected:
                problems.append(_problem(owner, expected, index * cs,
                                         'differs', 'source differs'))
        for index, (expected, owner) in sorted(state.items()):
            if expected is not None and index not in seen:
                problems.append(_problem(owner, expected, index * cs,
                                         'differs', 'source has a hole'))
    return problems
