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

"""A repository store in a local or NFS directory.

Keys are relative paths.  Whole objects (config, manifests) are written to
a temporary name, fsynced and renamed (or linked, which refuses an
existing name atomically, also on NFS).  New chunks are written under
temporary names without fsync; ``commit`` makes a batch durable with one
syncfs and only then renames them, so a chunk with its final name is
always complete.  A chunk reused by a backup gets a fresh mtime: gc's
grace period counts from it.
"""

import errno
import os
import time

from cinder_ext.backup import atomic
from cinder_ext.backup import exception
from cinder_ext.backup import locking
from cinder_ext.backup import stores


def _full(path, name):
    return exception.RepositoryFull(path=path, name=name)


class PosixStore(object):

    def __init__(self, path):
        self.path = self.location = path
        self._dirty = set()

    def _path(self, key):
        return os.path.join(self.path, *key.split('/'))

    # -- whole repository ------------------------------------------------
    def create(self, subdirs):
        """Make the (new or empty) directory and its subdirectories."""
        os.makedirs(self.path, exist_ok=True)
        if os.listdir(self.path):
            raise exception.RepositoryExists(path=self.path)
        for sub in subdirs:
            os.mkdir(self._path(sub))

    def lock(self, lock_url=None):
        if lock_url:
            return locking.for_url(lock_url, self.lock_name())
        return locking.for_repository(self.path)

    def lock_name(self):
        return os.path.realpath(self.path)

    def now(self):
        return time.time()

    # -- whole objects ---------------------------------------------------
    def read(self, key, limit=-1):
        """The object's bytes; FileNotFoundError when absent."""
        with open(self._path(key), 'rb') as f:
            return f.read(limit)

    def write(self, key, data, replace=True):
        """Write atomically; FileExistsError when ``replace`` is False and
        the key exists."""
        try:
            atomic.write_file(self._path(key), [data], replace=replace)
        except OSError as exc:
            if exc.errno in atomic.FULL_ERRNOS:
                raise _full(self.path, key)
            raise

    def exists(self, key):
        return os.path.exists(self._path(key))

    def delete(self, key):
        """FileNotFoundError when absent."""
        path = self._path(key)
        os.unlink(path)
        atomic.fsync_dir(os.path.dirname(path))

    def delete_quietly(self, key):
        try:
            os.unlink(self._path(key))
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise

    def touch(self, key):
        """True when the object exists; refreshes its last-use time."""
        try:
            os.utime(self._path(key))
            return True
        except FileNotFoundError:
            return False

    def names(self, prefix):
        """Names directly under ``prefix``. O(names)."""
        return os.listdir(self._path(prefix))

    def entries(self, prefix):
        """Entries of every object below ``prefix`` (two levels deep at
        most), temporary files included.  O(objects)."""
        top = self._path(prefix)
        for name in sorted(os.listdir(top)):
            path = os.path.join(top, name)
            st = os.lstat(path)
            if os.path.isdir(path):
                for sub in os.listdir(path):
                    sub_st = os.lstat(os.path.join(path, sub))
                    yield stores.Entry(sub, '%s/%s/%s' % (prefix, name, sub),
                                       sub_st.st_size, sub_st.st_mtime)
            else:
                yield stores.Entry(name, '%s/%s' % (prefix, name),
                                   st.st_size, st.st_mtime)

    def last_used(self, entry):
        return entry.mtime

    # -- batches of new chunks --------------------------------------------
    def stage(self, key, parts):
        """Write a chunk under a temporary name; returns the handle that
        ``commit`` names or ``abort`` removes."""
        final = self._path(key)
        directory = os.path.dirname(final)
        try:
            try:
                tmp = atomic.write_temp(directory, parts)
            except FileNotFoundError:
                os.makedirs(directory, exist_ok=True)
                self._dirty.add(os.path.dirname(directory))
                tmp = atomic.write_temp(directory, parts)
        except OSError as exc:
            if exc.errno in atomic.FULL_ERRNOS:
                raise _full(self.path, key)
            raise
        return tmp, final

    def commit(self, handles):
        """O(batch): one syncfs, a rename per chunk."""
        if not handles:
            return
        try:
            atomic.syncfs(self.path)
        except OSError as exc:
            self.abort(handles)
            if exc.errno in atomic.FULL_ERRNOS:
                raise _full(self.path, 'a batch of chunks')
            raise
        for tmp, final in handles:
            os.rename(tmp, final)
            self._dirty.add(os.path.dirname(final))

    @staticmethod
    def abort(handles):
        for tmp, _final in handles:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def sync(self):
        """fsync every directory a chunk was named in.  O(directories)."""
        for directory in sorted(self._dirty, key=len, reverse=True):
            atomic.fsync_dir(directory)
        self._dirty.clear()
