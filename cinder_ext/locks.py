"""Lock names shared by the drivers and the tools.

Names are formatted by ``cinder_ext.volume.locking.synchronized`` with the
decorated call's arguments; several names are always passed in one call so
that they are taken in sorted order.  Cinder's coordinator prefixes every
name with ``cinder-`` in the backend; tools that take the same locks go
through the same coordinator (``locking.held``).
"""

import hashlib

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
    """The lock guarding a file that manage takes from a share, so two
    manages of one file never interleave their rename, grow and rollback."""
    return PREFIX + 'manage-' + _digest(share, path)
