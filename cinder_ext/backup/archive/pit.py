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

"""The point-in-time copy an archive reads, and its removal.

* a regular file: a reflink copy next to it,
  ``.cinder_ext-archive-<uuid>.new`` (O(extents), one instant), removed
  at the end;
* a thin LV: a thin snapshot (O(1)), as a backup takes it
  (``thinbase.ThinRun``: same per-LV lock, same order of locks), removed
  at the end;
* a Cinder snapshot, or any source with ``--no-snapshot``: read as it is
  (``as-is``).

``guard()`` (the volume driver's lock on the object) is held while the
copy is taken.  Anything else is refused: archiving a live volume would
mount a filesystem that changes underneath the kernel.
"""

import contextlib
import logging
import os
import stat
import uuid

from cinder_ext.backup import exception
from cinder_ext.backup import snapshot
from cinder_ext.backup import thin
from cinder_ext.backup import thinbase

LOG = logging.getLogger(__name__)
SNAPSHOT_PREFIX = '.cinder_ext-archive-'


def _nothing():
    return contextlib.nullcontext()


@contextlib.contextmanager
def as_is(path):
    yield {'kind': 'as-is', 'path': path, 'snapshot': None}


@contextlib.contextmanager
def reflinked(path, source, guard=_nothing):
    # next to the file itself (not a symlink to it): reflinks stay on
    # one filesystem
    snap = os.path.join(os.path.dirname(os.path.realpath(path)),
                        '%s%s.new' % (SNAPSHOT_PREFIX, uuid.uuid4().hex))
    with guard():
        try:
            taken = snapshot.take(path, snap)
        except OSError as exc:
            raise exception.SourceError(source=source, reason=exc.strerror)
    if not taken:
        raise exception.SnapshotImpossible(
            source=source, reason='its filesystem has no reflink')
    try:
        yield {'kind': 'reflink', 'path': snap, 'snapshot': snap}
    finally:
        snapshot.discard(snap)


@contextlib.contextmanager
def thin_snapshot(origin, guard=_nothing):
    with thinbase.ThinRun(origin, None, 'archive-' + uuid.uuid4().hex) as run:
        with guard():
            run.take()
        yield {'kind': 'thin', 'path': run.device,
               'snapshot': '%s/%s' % (run.vg, run.temp)}
        run.finish()


def point_in_time(path, source, guard=_nothing, take=True):
    """A context manager yielding {kind, path to read, snapshot}."""
    if not take:
        return as_is(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise exception.SourceError(source=source, reason=exc.strerror)
    if stat.S_ISREG(mode):
        return reflinked(path, source, guard)
    if stat.S_ISBLK(mode):
        origin = thin.lookup(path)
        if origin is not None:
            return thin_snapshot(origin, guard)
        raise exception.SnapshotImpossible(
            source=source, reason='a block device, but not a thin LV')
    raise exception.SourceError(source=source,
                                reason='neither a file nor a block device')
