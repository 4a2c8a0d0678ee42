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

"""What a race worker records about itself, and what survives its death.

``instrument`` wraps the storage functions of ``cinder_ext.storage.fileio``
so that every call the driver makes is recorded (``INNER``: name, times,
outcome).  Each finished operation goes to the shared journal (``model``);
the trail is for the operation that never finishes: a per-worker file of
JSON lines written as things happen (operation begun, storage call entered,
left, operation journaled).  A SIGKILL loses nothing already written (the
kernel holds it), so ``salvage`` turns the trail of a killed worker into
the journal record of its interrupted operation: the storage calls it
finished, the one it was inside, whose outcome is unknown (``ok`` None;
the checker tries both), and whether the driver call had returned (then
Cinder would have saved what it returned, the share included).
"""

import contextlib
import functools
import json
import os
import time

from cinder_ext.storage import fileio

INNER = []  # storage calls of the current operation
# Where a worker hangs, to be SIGKILLed there: armed for one operation,
# on entering or leaving one storage call ('_copy': inside a copy).
HANG = {'armed': False, 'call': '_copy', 'when': 'enter', 'marker': None}
_TRAIL = {'fd': None}


class NoLock:
    """What ``--nolock`` hands out instead of a tooz lock."""

    def __init__(self, name):
        self.name = name

    def acquire(self, blocking=True):
        return True

    def release(self):
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -- trail --------------------------------------------------------------

def open_trail(path):
    _TRAIL['fd'] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                           0o600)


def note(kind, **fields):
    """One trail line: a single small write(), complete or absent."""
    if _TRAIL['fd'] is None:
        return
    fields['k'] = kind
    os.write(_TRAIL['fd'], (json.dumps(fields, sort_keys=True) +
                            '\n').encode())


def read_trail(path):
    lines = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass  # a line cut by the kill
    except FileNotFoundError:
        pass
    return lines


def salvage(trail, journaled, worker, killed_at):
    """The journal record of the operation ``worker`` was killed in, or
    None.  ``journaled``: the (worker, seq) pairs already in the journal
    (the kill may fall between the journal's line and the trail's)."""
    begun, events, inflight, returned = None, [], {}, False
    for line in read_trail(trail):
        if line['k'] == 'begin':
            begun, events, inflight, returned = line, [], {}, False
        elif line['k'] == 'end':
            begun = None
        elif begun is None:
            continue
        elif line['k'] == 'returned':
            returned = True
        elif line['k'] == 'enter':
            inflight[line['e']['id']] = line['e']
        elif line['k'] == 'leave':
            inflight.pop(line['e']['id'], None)
            events.append(line['e'])
    if begun is None or (worker, begun['seq']) in journaled:
        return None
    for event in inflight.values():
        events.append(dict(event, b=killed_at, ok=None))
    record = {'w': worker, 'seq': begun['seq'], 'n': begun['n'],
              'op': begun['op'], 'ok': None, 'killed': True, 'clean': True,
              'err': 'SIGKILL inside the operation', 't0': begun['t'],
              't1': killed_at, 'inner': events, 'returned': returned}
    record.update(begun['fields'])
    return record


# -- storage calls --------------------------------------------------------

def _record(func, names):
    """Wrap a fileio function to log its timing and outcome."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        event = {'f': func.__name__,
                 'id': '%d-%d' % (os.getpid(), len(INNER))}
        event.update(names(*args, **kwargs))
        event['a'] = time.time()
        note('enter', e=event)
        hang_here(func.__name__, 'enter')
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            event.update(b=time.time(), ok=False, err=repr(exc))
            INNER.append(event)
            note('leave', e=event)
            raise
        event.update(b=time.time(), ok=True,
                     ret=result if isinstance(result, (bool, str)) else None)
        INNER.append(event)
        note('leave', e=event)
        hang_here(func.__name__, 'leave')
        return result
    return wrapper


def hang_here(call, when):
    """Tell the test (the marker file) and hang, holding every lock."""
    if not (HANG['armed'] and HANG['marker'] and HANG['call'] == call
            and HANG['when'] == when):
        return
    with open(HANG['marker'] + '.tmp', 'w') as f:
        f.write('%d\n' % os.getpid())
    os.rename(HANG['marker'] + '.tmp', HANG['marker'])
    time.sleep(3600)


def instrument(copy_delay, hang_marker):
    fileio.create = _record(
        fileio.create, lambda root, name, size, *a, **k:
        {'name': name, 'size': size})
    fileio.clone = _record(
        fileio.clone, lambda root, src, dst, size, *a, **k:
        {'src': src, 'dst': dst, 'size': size,
         'replace': k.get('replace', False)})
    fileio.extend = _record(
        fileio.extend, lambda root, name, size, *a, **k:
        {'name': name, 'size': size})
    if hasattr(fileio, 'pin'):
        fileio.pin = _record(fileio.pin,
                             lambda root, src, *a, **k: {'src': src})
    fileio.remove = _record(fileio.remove,
                            lambda root, name, *a, **k: {'name': name})
    fileio.rename = _record(fileio.rename,
                            lambda root, src, dst, *a, **k:
                            {'src': src, 'dst': dst})
    real_copy = fileio._copy

    HANG['marker'] = hang_marker

    def copy(src, dst, size, reflink):
        hang_here('_copy', 'enter')
        if copy_delay:
            time.sleep(copy_delay)
        return real_copy(src, dst, size, reflink)
    fileio._copy = copy


@contextlib.contextmanager
def call(f, **names):
    """Record a storage step the worker itself makes (a pattern write)."""
    event = dict(names, f=f, id='%d-%d' % (os.getpid(), len(INNER)),
                 a=time.time())
    note('enter', e=event)
    try:
        yield
    except BaseException as exc:
        event.update(b=time.time(), ok=False, err=repr(exc))
        INNER.append(event)
        note('leave', e=event)
        raise
    event.update(b=time.time(), ok=True)
    INNER.append(event)
    note('leave', e=event)
