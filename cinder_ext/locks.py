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

"""Lock names shared by the drivers and the tools.

Names are formatted by ``cinder_ext.volume.locking.synchronized`` with the
decorated call's arguments; several names are always passed in one call so
that they are taken in sorted order.  Cinder's coordinator prefixes every
name with ``cinder-`` in the backend; tools that take the same locks go
through the same coordinator (``locking.held``).
"""

import hashlib
import os

PREFIX = 'cinder_ext-'
VOLUME = PREFIX + '{volume.id}'
SNAPSHOT = PREFIX + '{snapshot.id}'
SNAPSHOT_SOURCE = PREFIX + '{snapshot.volume_id}'


def _digest(*parts):
    return hashlib.sha256('\0'.join(parts).encode()).hexdigest()[:16]


def for_key(key):
    """The lock guarding the object whose id is ``key``."""
    return PREFIX + key


def for_share(share):
    """The lock guarding a share's capacity while a volume is placed."""
    return PREFIX + 'share-' + _digest(share)


def for_manage_source(share, path):
    """The lock guarding a name that manage takes from a share (or VG) and
    unmanage gives back, so that two manages of one file, or a manage and
    the unmanage making its name, never interleave their renames, grow and
    rollback.  ``path`` is normalised: one file, one lock."""
    return PREFIX + 'manage-' + _digest(share, os.path.normpath(path))
