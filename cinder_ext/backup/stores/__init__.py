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

"""Where a repository keeps its objects: one store per backend.

A store maps keys (``config``, ``manifests/<id>.json``,
``chunks/<id[:2]>/<id>``) to immutable byte strings and knows three things
the repository above it needs beyond get/put: an atomic create-if-absent
(manifests), a batch of chunks made durable before they are named, and a
"last used" time for gc's grace period.  Backends:

- :mod:`.posix`: a local or NFS directory (``--repo /path``);
- :mod:`.swift`: an OpenStack Swift container (``--repo
  swift://<container>[/<prefix>]``).

Every store method is O(1) requests / syscalls unless it says so.
"""

import collections

from cinder_ext.backup import exception

SWIFT_SCHEME = 'swift://'

# name: last path element; key: the store key; size: bytes; mtime: seconds
# since the epoch as cheaply known (a listing); gc asks the store for the
# exact last-use time only of what it would remove.
Entry = collections.namedtuple('Entry', 'name key size mtime')


class StoreError(exception.BackupError):
    message = 'Repository %(path)s: %(operation)s failed: %(reason)s'


def is_url(location):
    return isinstance(location, str) and location.startswith(SWIFT_SCHEME)


def open_store(location):
    """The store for a path or a ``swift://`` URL."""
    if is_url(location):
        from cinder_ext.backup.stores import swift
        return swift.SwiftStore.from_url(location)
    if isinstance(location, str) and '://' in location:
        raise exception.InvalidArgument(
            reason='unknown repository URL %r (a path, or swift://'
            '<container>[/<prefix>])' % location)
    from cinder_ext.backup.stores import posix
    return posix.PosixStore(location)
