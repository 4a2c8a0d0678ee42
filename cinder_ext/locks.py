"""Lock names shared by the drivers and the tools.

Names are formatted by ``cinder.coordination.synchronized`` with the
decorated call's arguments; several names are always passed in one call so
that they are taken in sorted order.  Cinder's coordinator prefixes every
name with ``cinder-``; tools that take the same locks through their own
tooz coordinator must use ``tooz_name``.
"""

import hashlib

PREFIX = 'cinder_ext-'
VOLUME = PREFIX + '{volume.id}'
SNAPSHOT = PREFIX + '{snapshot.id}'
SNAPSHOT_SOURCE = PREFIX + '{snapshot.volume_id}'


def for_key(key):
    """The lock guarding the object whose id is ``key``."""
    return PREFIX + key


def for_share(share):
    """The lock guarding a share's capacity while a volume is placed."""
    return PREFIX + 'share-' + hashlib.sha256(share.encode()).hexdigest()[:16]


def tooz_name(name):
    """The name Cinder's coordinator gives ``name`` in the backend."""
    return ('cinder-' + name).encode('ascii')
