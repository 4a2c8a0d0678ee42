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

"""The repository's reader/writer lock, across threads, processes, hosts.

Backups, restores and verifies hold it shared; prune, gc and delete hold
it exclusive.  Two inter-process backends sit behind one thread-level
gate:

- a POSIX repository without a lock URL: fasteners'
  InterProcessReaderWriterLock on ``<repo>/lock`` (fcntl locks; they
  belong to the process, so two threads of one process would share - and
  one release - them);
- with a tooz coordination URL (``--lock-url``, needed for Swift):
  :class:`ToozReadersWriter` below.

So each process keeps one lock object per repository: a thread-level
reader/writer gate in front of the inter-process lock, which the process
takes once for all its readers.

tooz gives exclusive locks and group membership only; the reader/writer
lock is built from three of its primitives:

- ``gate``: an exclusive tooz lock.  A reader holds it only while it
  registers; a writer holds it for its whole run, so no new reader can
  register meanwhile (writers are not starved).
- ``readers``: a tooz group; a process holding the lock shared is a
  member.
- ``reader.<member>``: an exclusive tooz lock each member holds while it
  is one: the proof it is alive.  Its life is the backend's own lease
  (etcd lease, redis key expiry, both renewed by the coordinator's
  heartbeat; an fcntl lock for file://, released by the kernel when the
  process dies).

Reader: take gate, take its own ``reader.<member>`` lock, join the group,
release gate; to release: leave the group, release its own lock.
Writer: take gate (and keep it); then until the group has no live
member: for each member, try its ``reader.<member>`` lock without
waiting - taken means its holder is gone (killed, crashed, cut off for
longer than the lease), so the writer releases it again and ignores that
member; held means a live reader: poll again.  A dead reader therefore
blocks gc only until its lease ends (the backend's timeout; instantly
for file://).  The join happens under gate, so a writer holding gate
sees every registered reader; a member leaves the group before it drops
its lock, so "member and lock free" never describes a live reader.

A reader cut off from the backend for longer than the lease loses its
lock while it still runs; gc's grace period (chunks written or reused in
the last ``grace`` seconds are kept) covers that case as it covers NFS
without working locks.
"""

import functools
import hashlib
import logging
import os
import socket
import threading
import time
import uuid

import fasteners

from cinder_ext.backup import exception


class LockServiceError(exception.BackupError):
    message = 'Lock service %(url)s: %(reason)s'


LOG = logging.getLogger(__name__)
_registry = {}
_registry_lock = threading.Lock()
_coordinators = {}
POLL = 0.2


def _remaining(deadline):
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


class RepositoryLock(object):
    """Thread-level gate in front of an inter-process reader/writer lock
    (methods acquire_read_lock/release_read_lock/acquire_write_lock/
    release_write_lock, with ``timeout``)."""

    def __init__(self, ipc):
        self._ipc = ipc
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


def _take(lock, timeout):
    """Acquire a tooz lock, False after ``timeout`` seconds (None:
    forever, 0: no wait)."""
    import tenacity
    blocking = True if timeout is None else (
        timeout if timeout > 0 else False)
    try:
        return lock.acquire(blocking=blocking)
    except tenacity.RetryError:  # etcd3gw's way of saying "timed out"
        return False


def _translated(method):
    """A lost lock service is a clear error, not a tooz traceback."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except exception.BackupError:
            raise
        except Exception as exc:  # tooz's, or its client library's
            raise LockServiceError(url=self.url, reason=str(exc) or repr(exc))
    return wrapper


class ToozReadersWriter(object):
    """The inter-process reader/writer lock over tooz (module docstring).
    One per process and repository; RepositoryLock serializes calls."""

    def __init__(self, coordinator, member_id, name, url=''):
        self.url = url
        self._coord = coordinator
        self._member_id = member_id
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        self._prefix = 'cinder-ext-backup.%s.' % digest
        self._gate = coordinator.get_lock(self._name('gate'))
        self._group = self._name('readers')
        self._mine = coordinator.get_lock(self._reader_lock_name(member_id))

    def _name(self, what):
        return (self._prefix + what).encode()

    def _reader_lock_name(self, member_id):
        return self._name('reader.' + hashlib.sha256(
            member_id).hexdigest()[:32])

    def _join(self):
        from tooz import coordination
        try:
            self._coord.join_group(self._group).get()
        except coordination.GroupNotCreated:
            try:
                self._coord.create_group(self._group).get()
            except coordination.GroupAlreadyExist:
                pass
            self._coord.join_group(self._group).get()
        except coordination.MemberAlreadyExist:
            pass

    @_translated
    def acquire_read_lock(self, timeout=None):
        if not _take(self._gate, timeout):
            return False
        try:
            if not _take(self._mine, 0):
                raise RuntimeError('own reader lock %r is taken'
                                   % self._member_id)
            try:
                self._join()
            except BaseException:
                self._mine.release()
                raise
        finally:
            self._gate.release()
        return True

    @_translated
    def release_read_lock(self):
        from tooz import coordination
        try:
            self._coord.leave_group(self._group).get()
        except (coordination.GroupNotCreated, coordination.MemberNotJoined):
            pass
        finally:
            self._mine.release()

    def _live_readers(self):
        from tooz import coordination
        try:
            members = self._coord.get_members(self._group).get()
        except coordination.GroupNotCreated:
            return []
        live = []
        for member in members:
            if member == self._member_id:
                continue
            proof = self._coord.get_lock(self._reader_lock_name(member))
            if _take(proof, 0):
                proof.release()  # its holder is gone
            else:
                live.append(member)
        return live

    @_translated
    def acquire_write_lock(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        if not _take(self._gate, timeout):
            return False
        try:
            while self._live_readers():
                left = _remaining(deadline)
                if left is not None and left <= 0:
                    self._gate.release()
                    return False
                time.sleep(POLL if left is None else min(POLL, left))
        except BaseException:
            self._gate.release()
            raise
        return True

    @_translated
    def release_write_lock(self):
        self._gate.release()


def _coordinator(url):
    """One started tooz coordinator per URL and process (heartbeats in a
    thread keep its locks and membership alive)."""
    from tooz import coordination
    found = _coordinators.get(url)
    if found is None:
        member_id = ('cinder-ext-backup.%s.%d.%s' % (
            socket.gethostname(), os.getpid(),
            uuid.uuid4().hex[:8])).encode()
        try:
            coord = coordination.get_coordinator(url, member_id)
            coord.start()
        except Exception as exc:  # tooz's, or its client library's
            raise LockServiceError(url=url, reason=str(exc) or repr(exc))
        found = _coordinators[url] = (coord, member_id)
        threading.Thread(target=_heartbeats, args=(coord,), daemon=True,
                         name='tooz-heartbeat').start()
    return found


def _heartbeats(coord):
    """Keep the coordinator's locks and membership alive.  A daemon
    thread (tooz's own heart is joined at exit, a second's wait): when
    the process ends, the backend's lease ends the rest."""
    while True:
        try:
            interval = coord.heartbeat()
        except Exception as exc:  # the backend may come back
            LOG.warning('lock service heartbeat failed: %s', exc)
            interval = 1
        # a third of the time left: two beats may fail before a lease ends
        time.sleep(min(max((interval or 1) / 3.0, 0.1), 5))


def for_url(url, name):
    """The one lock object of this process for repository ``name`` over
    the tooz backend at ``url``."""
    key = (url, name)
    with _registry_lock:
        lock = _registry.get(key)
        if lock is None:
            coord, member_id = _coordinator(url)
            lock = _registry[key] = RepositoryLock(
                ToozReadersWriter(coord, member_id, name, url))
        return lock


def for_repository(path):
    """The one lock object of this process for a POSIX repository."""
    lock_path = os.path.join(os.path.realpath(path), 'lock')
    with _registry_lock:
        lock = _registry.get(lock_path)
        if lock is None:
            lock = _registry[lock_path] = RepositoryLock(
                fasteners.InterProcessReaderWriterLock(lock_path))
        return lock
