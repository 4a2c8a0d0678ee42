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

"""Retention: prune backups by keep rules, then collect garbage chunks.

Prune keeps, per volume, the newest ``last`` backups and the newest backup
of each of the last ``daily`` days, ``weekly`` ISO weeks and ``monthly``
months that have one (borg's rules), plus every ancestor a kept
incremental needs.  gc removes chunks no manifest names, sparing any
younger than the grace period (a running backup may be about to name
them).  Both run under the repository's exclusive lock.
"""

import datetime

from cinder_ext.backup import atomic
from cinder_ext.backup import snapshot
from cinder_ext.backup import thinbase

DEFAULT_GRACE = 3600
_PERIODS = {
    'daily': lambda t: t.strftime('%Y-%m-%d'),
    'weekly': lambda t: '%04d-%02d' % t.isocalendar()[:2],
    'monthly': lambda t: t.strftime('%Y-%m'),
}


def _when(manifest):
    return datetime.datetime.fromisoformat(manifest['created_at'])


def select(manifests, last=0, daily=0, weekly=0, monthly=0):
    """Backup ids to keep among one volume's manifests.  O(backups)."""
    newest_first = sorted(manifests, key=lambda m: m['created_at'],
                          reverse=True)
    keep = {m['backup_id'] for m in newest_first[:last]}
    for rule, count in (('daily', daily), ('weekly', weekly),
                        ('monthly', monthly)):
        periods = []
        for manifest in newest_first:
            if len(periods) >= count:
                break
            period = _PERIODS[rule](_when(manifest))
            if period not in periods:
                periods.append(period)
                keep.add(manifest['backup_id'])
    by_id = {m['backup_id']: m for m in manifests}
    for backup_id in list(keep):  # a kept incremental keeps its chain
        parent = by_id[backup_id].get('parent_id')
        while parent is not None and parent in by_id:
            keep.add(parent)
            parent = by_id[parent].get('parent_id')
    return keep


def prune(repo, dry_run=False, volume_id=None, last=0, daily=0, weekly=0,
          monthly=0):
    """Returns (kept ids, removed ids).  Removes newest first, so a crash
    half-way never leaves an incremental without its parent."""
    manifests = repo.manifests()
    volumes = {}
    for manifest in manifests:
        volumes.setdefault(manifest['volume_id'], []).append(manifest)
    kept, removed = [], []
    for volume, mine in sorted(volumes.items()):
        if volume_id is not None and volume != volume_id:
            kept.extend(m['backup_id'] for m in mine)
            continue
        keep = select(mine, last, daily, weekly, monthly)
        for manifest in sorted(mine, key=lambda m: m['created_at'],
                               reverse=True):
            if manifest['backup_id'] in keep:
                kept.append(manifest['backup_id'])
                continue
            removed.append(manifest['backup_id'])
            if not dry_run:
                repo.delete_manifest(manifest['backup_id'])
                snapshot.remove_base(manifest.get('base'),
                                     manifest['backup_id'])
                thinbase.remove_base_quietly(manifest)
    return kept, removed


def _collectable(repo, entries, referenced, cutoff, stats, dry_run):
    for entry in entries:
        if entry.name in referenced:
            stats['chunks_kept'] += 1
            continue
        # the listing's time first (free), the exact last use (a HEAD on
        # Swift) only of what would go
        if entry.mtime > cutoff or repo.store.last_used(entry) > cutoff:
            stats['young_spared'] += 1
            continue
        key = 'temp_removed' if entry.name.startswith(atomic.TEMP_PREFIX) \
            else 'chunks_removed'
        stats[key] += 1
        stats['bytes_removed'] += entry.size
        if not dry_run:
            repo.delete_object(entry.key)


def gc(repo, grace=DEFAULT_GRACE, dry_run=False):
    """Remove unreferenced chunks and stale temp files whose last use is
    older than ``grace`` seconds, by the store's clock.  O(chunks)."""
    referenced = set()
    for manifest in repo.manifests():
        referenced.update(c for _i, c in manifest['chunks'] if c)
    cutoff = repo.store.now() - grace
    stats = {'chunks_removed': 0, 'bytes_removed': 0, 'chunks_kept': 0,
             'temp_removed': 0, 'young_spared': 0}
    _collectable(repo, repo.iter_chunks(), referenced, cutoff, stats,
                 dry_run)
    temps = (e for e in repo.store.entries('manifests')
             if e.name.startswith(atomic.TEMP_PREFIX))
    _collectable(repo, temps, referenced, cutoff, stats, dry_run)
    return stats
