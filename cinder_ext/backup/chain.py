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

"""Chains of incrementals: parents, dependents, and the collapsed map."""

from cinder_ext.backup import exception


def chain(repo, backup_id):
    """Manifests from ``backup_id`` back to its full backup.
    O(chain length x chunk entries)."""
    result, seen = [], set()
    current = backup_id
    while current is not None:
        if current in seen:
            raise exception.ManifestCorrupt(backup_id=current,
                                            reason='parent loop')
        seen.add(current)
        manifest = repo.read_manifest(current)
        if result and manifest['chunk_size'] != result[0]['chunk_size']:
            raise exception.ManifestCorrupt(
                backup_id=current, reason='chunk size differs in chain')
        result.append(manifest)
        current = manifest.get('parent_id')
    return result


def collapse(manifests):
    """{chunk index: (chunk id or None, backup id)} of the newest state,
    each index once: the newest backup that names an index wins.
    O(chunk entries of the chain); memory O(chunks of the volume)."""
    newest = manifests[0]
    count = -(-newest['size'] // newest['chunk_size'])
    state = {}
    for manifest in manifests:
        for index, chunk_id in manifest['chunks']:
            if index < count and index not in state:
                state[index] = (chunk_id, manifest['backup_id'])
    return state


def dependents(manifests):
    """{backup id: [ids of backups whose parent it is]}."""
    children = {}
    for manifest in manifests:
        parent = manifest.get('parent_id')
        if parent is not None:
            children.setdefault(parent, []).append(manifest['backup_id'])
    return children


def latest(manifests, volume_id):
    """The newest backup of a volume, or None."""
    mine = [m for m in manifests if m.get('volume_id') == volume_id]
    return max(mine, key=lambda m: m['created_at']) if mine else None
