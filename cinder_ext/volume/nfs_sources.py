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

"""What manage may take from a share: resolving references to files and
judging them, for manage_existing(_snapshot) and the manageable listings.
"""

import math
import os

from cinder_ext import exception
from cinder_ext.storage import fileio
from cinder_ext.volume import manageable

GiB = 1024 ** 3


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
        where = ', '.join(s.share for s in found)
        raise exception.InvalidName(
            name=name, reason='present on several shares (%s); give the '
                              'absolute path' % where)
    return found[0], name


def size_gb(entry):
    return int(math.ceil(entry['size'] / GiB)) or 1


def check(store, path):
    """Why ``path`` must not be managed, or None."""
    leaf = path.rsplit('/', 1)[-1]
    if fileio.temp_key(leaf) is not None:
        return 'a half-made file of an operation in progress'
    try:
        fileio.check_name(leaf)
        entry = store.lookup(path)
    except exception.CinderExtException as exc:
        return exc.msg
    if entry is None:
        return 'it does not exist'
    if entry['symlink']:
        return 'it is a symbolic link'
    if not entry['regular']:
        return 'it is not a regular file'
    if entry['nlink'] > 1:
        return 'it has other hard links'
    try:
        fmt, detail, writers = store.inspect(path)
    except exception.CinderExtException as exc:
        return 'it is unreadable: %s' % exc.msg
    if fmt != 'raw':
        return 'it is not raw: %s' % detail
    if writers:
        return 'another process has it open for writing'
    return None


def candidates(stores, kind):
    """Listing candidates: volumes are files without a recorded source,
    snapshots files that record the volume they were taken from.  Hidden
    (half-made) files and anything but regular files are never offered.
    """
    per_store = [(store, store.entries()) for store in stores]
    seen = {}
    for _store, files in per_store:
        for entry in files:
            seen[entry['name']] = seen.get(entry['name'], 0) + 1
    found = []
    for store, files in per_store:
        for entry in files:
            name = entry['name']
            if (name.startswith('.') or not entry['regular'] or
                    (entry['source'] is not None) != (kind == 'snapshot')):
                continue
            # A name on several shares is referred to by its full path.
            ref = name if seen[name] == 1 else os.path.join(store.root, name)
            found.append(manageable.candidate(
                name, {'source-name': ref}, size_gb(entry),
                lambda store=store, name=name: check(store, name),
                {'share': store.share,
                 'allocated_bytes': str(entry['allocated'])},
                {'source-name': entry['source']}
                if kind == 'snapshot' else None))
    return found
