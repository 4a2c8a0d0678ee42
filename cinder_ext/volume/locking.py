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

"""Tooz locks through Cinder's coordinator whose failed release is retried.

``cinder.coordination.synchronized`` logs a release that raises and
forgets the lock.  Some tooz drivers (etcd3gw) keep such a lock among the
coordinator's acquired locks and their heartbeat renews its lease once the
backend is back, so the lock is held for the life of the process and
every other waiter hangs.  Here a release that fails is handed to a daemon
thread that repeats it until the backend answers (doc/active-active.rst).
Only tooz's public lock API is used, so any tooz driver works.
"""

import contextlib
import inspect
import threading
import time

from cinder import coordination
import decorator
from oslo_log import log as logging
import tooz
from tooz import coordination as tooz_coordination

LOG = logging.getLogger(__name__)

# An unreachable backend: tooz drivers raise ToozError (connection errors,
# timeouts); OSError for a connection error a driver leaves untranslated.
BACKEND_ERRORS = (tooz.ToozError, OSError)
FIRST_DELAY = 0.5   # seconds before the first retry, doubled up to
MAX_DELAY = 5.0     # this cap: a backend back after a restart is seen soon


def _name(lock):
    name = lock.name
    return name.decode() if isinstance(name, bytes) else str(name)


def release(lock):
    """Release ``lock`` without raising; never drop it while it is ours.

    Returns the retrying thread if the backend failed, else None.
    """
    try:
        released = lock.release()
    except BACKEND_ERRORS as exc:
        LOG.warning('Releasing lock "%(name)s" failed (%(err)s); retrying in '
                    'the background until the coordination backend answers',
                    {'name': _name(lock),
                     'err': str(exc) or type(exc).__name__})
        thread = threading.Thread(target=_retry_release, args=(lock,),
                                  name='release ' + _name(lock), daemon=True)
        thread.start()
        return thread
    except Exception:  # a bug, not an outage: as Cinder, log and go on
        LOG.exception('Failed to release lock "%s"', _name(lock))
        return None
    if released is False:
        LOG.warning('Lock "%s" was no longer held when released (expired?)',
                    _name(lock))
    return None


def _retry_release(lock):
    """Repeat ``lock.release()`` with capped backoff until it returns:
    True (released) or False (the key is no longer ours, e.g. its lease
    expired meanwhile; nothing left to release)."""
    delay = FIRST_DELAY
    while True:
        time.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)
        try:
            released = lock.release()
        except BACKEND_ERRORS as exc:
            LOG.debug('Releasing lock "%s" failed again: %r', _name(lock), exc)
            continue
        except Exception:
            LOG.exception('Giving up releasing lock "%s"', _name(lock))
            return
        LOG.info('Lock "%(name)s" %(what)s after a failed release',
                 {'name': _name(lock), 'what': 'released' if released
                  else 'was no longer held'})
        return


@contextlib.contextmanager
def _holding(names, blocking, owner):
    """Acquire ``names`` in the given order, release them in reverse."""
    acquired = []
    try:
        for name in names:
            # Looked up per call: the race worker's --nolock replaces it.
            lock = coordination.COORDINATOR.get_lock(name)
            LOG.debug('Acquiring lock "%s" by "%s"', name, owner)
            if not lock.acquire(blocking):
                raise tooz_coordination.LockAcquireFailed(
                    'Lock "%s" is held elsewhere' % name)
            acquired.append(lock)
        yield
    finally:
        for lock in reversed(acquired):
            release(lock)


def held(*names, blocking=True):
    """Context manager holding the named locks (sorted, once each).

    :raises tooz.coordination.LockAcquireFailed: if ``blocking`` is False
        (or a timeout in seconds) and a lock is not acquired
    """
    return _holding(sorted(set(names)), blocking, 'with')


def synchronized(*lock_names, blocking=True):
    """``cinder.coordination.synchronized`` with the retrying release.

    Names are formatted with the decorated call's arguments and
    ``f_name``, then taken once each in sorted order, so that two callers
    never wait for each other in a cycle.
    """
    @decorator.decorator
    def _synchronized(f, *a, **k):
        call_args = inspect.getcallargs(f, *a, **k)
        call_args['f_name'] = f.__name__
        names = sorted({name.format(**call_args) for name in lock_names})
        with _holding(names, blocking, f.__name__):
            return f(*a, **k)
    return _synchronized
