"""What may be managed: resolving references and judging candidate files.

Shared by manage_existing(_snapshot) and the manageable listings so that a
file refused by one is never offered as safe by the other.
"""

import math
import os
import re

from cinder_ext import exception
from cinder_ext.storage import fileio

GiB = 1024 ** 3
_UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'


class Namer:
    """Cinder's names for volume and snapshot files on a share."""

    def __init__(self, volume_template, snapshot_template, unmanaged_prefix):
        self.unmanaged_prefix = unmanaged_prefix
        self._patterns = {
            'volume': re.compile('^' + re.escape(volume_template).replace(
                '%s', '(?P<id>%s)' % _UUID) + '$'),
            'snapshot': re.compile('^' + re.escape(snapshot_template).replace(
                '%s', '(?P<id>%s)' % _UUID) + '$'),
        }

    def managed_id(self, name):
        """(kind, id) when ``name`` is a name Cinder gives its objects."""
        for kind, pattern in self._patterns.items():
            match = pattern.match(name)
            if match:
                return kind, match.group('id')
        return None, None

    def unmanaged(self, name):
        return self.unmanaged_prefix + name


def resolve(shares, existing_ref, only_store=None):
    """(store, relative path) of a manage reference.

    ``source-name`` is a file name on a share, a relative path below a
    share, or an absolute path below a share's mount point.
    """
    name = existing_ref.get('source-name') if isinstance(
        existing_ref, dict) else None
    if not name or not isinstance(name, str):
        raise exception.InvalidName(name=existing_ref,
                                    reason='source-name is required')
    if os.path.isabs(name):
        store, rel = shares.find(name)
        if store is None or (only_store and store is not only_store):
            raise exception.InvalidName(
                name=name, reason='not below %s' % (
                    only_store.root if only_store else 'any share'))
        return store, rel
    candidates = [only_store] if only_store else shares.stores()[0]
    found = [s for s in candidates if s.lookup(name) is not None]
    if not found:
        raise exception.NotFound(name=name, location=', '.join(
            s.share for s in candidates))
    if len(found) > 1:
        shares = ', '.join(s.share for s in found)
        raise exception.InvalidName(
            name=name, reason='present on several shares (%s); give the '
                              'absolute path' % shares)
    return found[0], name


def check(store, path):
    """Why ``path`` must not be managed, or None; also its size in GiB."""
    leaf = path.rsplit('/', 1)[-1]
    if fileio.temp_key(leaf) is not None:
        return 'a half-made file of an operation in progress', 0
    entry = store.lookup(path)
    if entry is None:
        return 'it does not exist', 0
    size_gb = int(math.ceil(entry['size'] / GiB)) or 1
    if entry['symlink']:
        return 'it is a symbolic link', size_gb
    if not entry['regular']:
        return 'it is not a regular file', size_gb
    if entry['nlink'] > 1:
        return 'it has other hard links', size_gb
    try:
        fmt, detail = store.probe_format(path)
    except (exception.CinderExtException, OSError) as exc:
        return 'it is unreadable: %s' % exc, size_gb
    if fmt != 'raw':
        return 'it is not raw: %s' % detail, size_gb
    return None, size_gb


def _size_gb(entry):
    return int(math.ceil(entry['size'] / GiB))


def _judge(store, entry, namer, cinder_ids):
    """(reason not safe or None, size in GiB, cinder id) of one file."""
    managed_kind, managed_id = namer.managed_id(entry['name'])
    if managed_id in cinder_ids:
        return 'already managed', _size_gb(entry), managed_id
    if managed_kind:
        return ('named as a Cinder %s that does not exist; rename it to '
                'manage it' % managed_kind), _size_gb(entry), None
    reason, size_gb = check(store, entry['name'])
    return reason, size_gb, None


def listing(stores, namer, cinder_ids, kind):
    """Entries for get_manageable_volumes/_snapshots (before paging).

    Volumes are files without a recorded source; snapshots are files that
    record the volume they were taken from.  Hidden (half-made) files and
    anything but regular files are never offered.
    """
    per_store = [(store, store.entries()) for store in stores]
    seen = {}
    for _store, files in per_store:
        for entry in files:
            seen[entry['name']] = seen.get(entry['name'], 0) + 1
    entries = []
    for store, files in per_store:
        for entry in files:
            name = entry['name']
            if (name.startswith('.') or not entry['regular'] or
                    (entry['source'] is not None) != (kind == 'snapshot')):
                continue
            # A name on several shares is referred to by its full path.
            ref = name if seen[name] == 1 else os.path.join(store.root, name)
            reason, size_gb, cinder_id = _judge(store, entry, namer,
                                                cinder_ids)
            item = {'reference': {'source-name': ref},
                    'size': size_gb,
                    'safe_to_manage': reason is None,
                    'reason_not_safe': reason,
                    'cinder_id': cinder_id,
                    'extra_info': {'share': store.share,
                                   'allocated_bytes': str(entry['allocated'])}}
            if kind == 'snapshot':
                item['source_reference'] = {'source-name': entry['source']}
            entries.append(item)
    return entries
