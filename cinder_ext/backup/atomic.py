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

"""Atomic file writes: temporary name, fsync, rename, fsync of the dir."""

import ctypes
import errno
import os
import uuid

TEMP_PREFIX = '.tmp-'
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64,
                                  ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2


def temp_path(directory):
    return os.path.join(directory, TEMP_PREFIX + uuid.uuid4().hex)


def fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(directory, parts):
    """Write ``parts`` to a new temporary file in ``directory``, without
    fsync (the caller makes a batch durable with one syncfs); returns its
    path.  On error the file is gone."""
    tmp = temp_path(directory)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        try:
            _write_all(fd, parts)
            # Start writeback now, so the disk works while the next chunks
            # are read and compressed and the batch's syncfs waits little.
            _libc.sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)
        finally:
            os.close(fd)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def _write_all(fd, parts):
    for part in parts:
        view = memoryview(part)
        while len(view):
            view = view[os.write(fd, view):]


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def syncfs(path):
    """Make everything written on ``path``'s filesystem durable: one
    journal flush for a whole batch of files, where an fsync per file
    costs one each.  Falls back to sync() where syncfs is missing."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    except AttributeError:
        os.sync()
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
            _write_all(fd, parts)
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
        _unlink_quietly(tmp)
        raise
    if sync_dir:
        fsync_dir(directory)
