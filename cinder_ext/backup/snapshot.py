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

"""The reflink snapshot a backup reads and the base it leaves behind.

The engine reflinks the source to ``<base name>.new`` next to it (one
instant, O(extents)), reads the snapshot, and after the manifest is safe
renames the snapshot over the base (``<base name>``) tagged with the
backup id in an xattr.  The next incremental compares the new snapshot's
physical extents with the base's: what both map to the same blocks is
unchanged.
"""

import errno
import fcntl
import os

from cinder_ext.backup import atomic
from cinder_ext.backup import exception

_FICLONE = 0x40049409
BACKUP_XATTR = 'user.cinder_ext.backup_id'
_NO_REFLINK = (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL,
               errno.ENOSYS)


def base_paths(source_path, base_name):
    if not base_name or '/' in base_name or base_name in ('.', '..'):
        raise exception.InvalidArgument(
            reason='snapshot base name %r must be a plain file name' % (
                base_name,))
    directory = os.path.dirname(os.path.abspath(source_path))
    base = os.path.join(directory, base_name)
    return base, base + '.new'


def take(source_path, snapshot_path):
    """Reflink the source to ``snapshot_path``; False where the filesystem
    cannot (the caller falls back to reading the live source)."""
    try:
        os.unlink(snapshot_path)  # left by a killed backup
    except FileNotFoundError:
        pass
    src = os.open(source_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        dst = os.open(snapshot_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                      os.O_CLOEXEC, 0o600)
        try:
            fcntl.ioctl(dst, _FICLONE, src)  # O(extents)
            return True
        except OSError as exc:
            os.close(dst)
            dst = None
            os.unlink(snapshot_path)
            if exc.errno in _NO_REFLINK:
                return False
            raise
        finally:
            if dst is not None:
                os.close(dst)
    finally:
        os.close(src)


def backup_id_of(base_path):
    """The backup a base holds the state of, or None."""
    try:
        return os.getxattr(base_path, BACKUP_XATTR).decode()
    except OSError:
        return None


def promote(snapshot_path, base_path, backup_id):
    """Make the snapshot the base of ``backup_id``, atomically.  False
    when the filesystem keeps no xattr (then no base is kept)."""
    try:
        os.setxattr(snapshot_path, BACKUP_XATTR, backup_id.encode())
    except OSError:
        discard(snapshot_path)
        return False
    os.rename(snapshot_path, base_path)
    atomic.fsync_dir(os.path.dirname(base_path))
    return True


def discard(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_base(base_path, backup_id):
    """Remove the base if it holds ``backup_id``'s state."""
    if base_path and backup_id_of(base_path) == backup_id:
        discard(base_path)
        return True
    return False
