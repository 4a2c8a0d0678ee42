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

"""The repository's reader/writer lock, across processes and threads.

fasteners.InterProcessReaderWriterLock takes fcntl locks, which belong to
the process: two threads of one process would share (and one release)
them.  So each process keeps one lock object per repository: a
thread-level reader/writer gate in front of the interprocess lock, which
the process takes once for all its readers.
"""

import os
import threading
import time

import fasteners

_registry = {}
_registry_lock = threading.Lock()


def _remaining(deadline):
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


class RepositoryLock(object):

    def __init__(self, path):
        self._ipc = fasteners.InterProcessReaderWriterLock(path)
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    def acquire_read(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if not self._cond.wait_for(lambda: not self._writer, timeout):
                return False
            if self._readers == 0 and not self._ipc.acquire_read_lock(
                    timeout=_remaining(deadline)):
                return False
            self._readers += 1
            return True

    def release_read(self):
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._ipc.release_read_lock()
            self._cond.notify_all()

    def acquire_write(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if not self._cond.wait_for(
                    lambda: not self._writer and self._readers == 0,
                    timeout):
                return False
            if not self._ipc.acquire_write_lock(
                    timeout=_remaining(deadline)):
                return False
            self._writer = True
            return True

    def release_write(self):
        with self._cond:
            self._ipc.release_write_lock()
            self._writer = False
            self._cond.notify_all()


def for_repository(path):
    """The one lock object of this process for a repository."""
    lock_path = os.path.join(os.path.realpath(path), 'lock')
    with _registry_lock:
        lock = _registry.get(lock_path)
        if lock is None:
            lock = _registry[lock_path] = RepositoryLock(lock_path)
        return lock
