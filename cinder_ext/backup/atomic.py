"""Atomic file writes: temporary name, fsync, rename, fsync of the dir."""

import errno
import os
import uuid

TEMP_PREFIX = '.tmp-'
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def temp_path(directory):
    return os.path.join(directory, TEMP_PREFIX + uuid.uuid4().hex)


def fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path, parts, sync_dir=True, replace=True):
    """Write ``parts`` (bytes-likes) to ``path`` atomically.

    With ``sync_dir`` False the caller fsyncs the directory later (one
    fsync for many chunks).  OSError propagates; the temp file is gone.
    """
    directory = os.path.dirname(path)
    tmp = temp_path(directory)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        try:
            for part in parts:
                view = memoryview(part)
                while len(view):
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.rename(tmp, path)
        else:
            # link() refuses an existing target atomically, also on NFS.
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        fsync_dir(directory)
