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

"""The invariant checker of the race tests: replay the journal, compare.

``replay`` orders every recorded storage call by entry time and applies
it to a model of the share (names pointing to inodes of a content pattern
and a size), reporting what working locks make impossible: two calls on
one name overlapping in time, a call succeeding on a name that is gone,
a rename or copy over an existing name.  ``check`` compares the replay
with the files on the share and with the journal's view of what exists.

Two things are judged rather than counted:

* A SIGKILLed worker's interrupted storage call (``ok`` None) may or may
  not have taken effect; every combination is replayed and the one that
  matches the share best is reported (``inflight``, ``branch``).
* Two manages of one unmanaged file: the rename never replaces, so at
  most one can succeed, and the other must be refused cleanly
  (ManageExistingInvalidReference).  Without a lock on the manage source
  their calls may overlap: that is reported as ``explained``, not as a
  violation.  When the driver has such a lock
  (``cinder_ext.locks.for_manage_source``), an overlap means the lock did
  not hold, and it is a violation; both manages succeeding, a lost file or
  one left behind always are.
"""

import itertools
import os

from cinder_ext.storage import fileio
from tests.functional.race import model

MAX_BRANCHING = 10  # interrupted calls tried in every combination
REFUSED = 'ManageExistingInvalidReference'


def _names(event):
    names = [event.get('name'), event.get('src'), event.get('dst')]
    if event['f'] == 'pin':
        names.append(event.get('ret'))
    return [n for n in names if n]


def _events(records):
    events = []
    for r in records:
        for e in r.get('inner', ()):
            events.append(dict(
                e, rec='%s/%s %s' % (r['w'], r.get('seq', r['n']), r['op']),
                rop=r['op'], rok=r['ok'], rerr=r.get('err') or '',
                source=r.get('source'), killed=bool(r.get('killed'))))
    events.sort(key=lambda e: (e['a'], e['b']))
    return events


def _overlap(prev, e, name, manage_source_locked):
    """(violation, explanation) for two calls on ``name`` that overlap."""
    what = 'overlap on %s: %s [%.4f-%.4f] and %s [%.4f-%.4f]' % (
        name, prev['rec'], prev['a'], prev['b'], e['rec'], e['a'], e['b'])
    pair = (prev, e)
    if not all(x['rop'] == 'manage' and x['f'] == 'rename'
               and x['src'] == name == x['source'] for x in pair):
        return what, None
    won = [x for x in pair if x['ok'] and x['rok']]
    refused = [x for x in pair if x['rok'] is False
               and x['rerr'].startswith(REFUSED)]
    if len(won) == 2:
        return 'both manages of %s succeeded: %s and %s' % (
            name, prev['rec'], e['rec']), None
    if len(won) + len(refused) != 2:
        return '%s (manage outcomes: %s, %s)' % (
            what, prev['rerr'] or prev['rok'], e['rerr'] or e['rok']), None
    if manage_source_locked:
        return ('%s: the driver locks a manage source '
                '(locks.for_manage_source), yet two manages of it ran at '
                'once' % what), None
    return None, ('manage race on %s: %s renamed it; %s overlapped and was '
                  'refused cleanly (%s); a rename never replaces, so '
                  'nothing was lost' % (name, won[0]['rec'],
                                        refused[0]['rec'], REFUSED))


def _mutual_exclusion(events, manage_source_locked):
    """Calls on one name never overlap with locks."""
    violations, explained, last = [], [], {}
    for e in events:
        for name in _names(e):
            prev = last.get(name)
            if prev is not None and prev['b'] > e['a']:
                bad, why = _overlap(prev, e, name, manage_source_locked)
                if bad:
                    violations.append(bad)
                if why:
                    explained.append(why)
            if prev is None or e['b'] > prev['b']:
                last[name] = e
    return violations, explained


def _apply(e, names, violations, temp_killed, killed_keys):
    """Apply one successful storage call to ``names`` (name -> inode)."""
    f = e['f']
    if f == 'create':
        names[e['name']] = [None, e['size']]
    elif f == 'write':
        if e['name'] not in names:
            violations.append('%s wrote %s, which is gone' % (
                e['rec'], e['name']))
            return
        names[e['name']][0] = e['pattern']
    elif f == 'pin':
        if e['src'] not in names:
            violations.append('%s pinned %s, already gone' % (
                e['rec'], e['src']))
            return
        if e.get('ret'):  # unknown when killed inside the pin
            names[e['ret']] = names[e['src']]
            temp_killed[e['ret']] = e['killed']
    elif f == 'clone':
        src = names.get(e['src'])
        if src is None:
            violations.append('%s succeeded from %s, already gone' % (
                e['rec'], e['src']))
            return
        if e['dst'] in names and not e['replace']:
            violations.append('%s replaced existing %s' % (
                e['rec'], e['dst']))
        names[e['dst']] = [src[0], e['size']]
    elif f == 'extend':
        if e['name'] not in names:
            violations.append('%s extended %s, already gone' % (
                e['rec'], e['name']))
            return
        names[e['name']][1] = e['size']
    elif f == 'remove':
        existed = names.pop(e['name'], None) is not None
        if not existed and fileio.temp_key(e['name']) in killed_keys:
            return  # half-made by a killed operation: only its temp file
        if e['ok'] is not None and existed != e['ret']:
            violations.append('%s removed %s: returned %s, expected %s'
                              % (e['rec'], e['name'], e['ret'], existed))
    elif f == 'rename':
        if e['src'] not in names:
            violations.append('%s renamed %s, already gone' % (
                e['rec'], e['src']))
            return
        if e['dst'] in names:
            violations.append('%s renamed over %s' % (e['rec'], e['dst']))
        names[e['dst']] = names.pop(e['src'])


def replay(records, applied=(), manage_source_locked=False):
    """Replay the storage calls: (files {name: [pattern, size]},
    violations, explained).

    Names point to inodes, as on the share: a pin (hard link) shares its
    source's inode, an extend changes the inode, a revert renames a new
    inode over the name.  Of the interrupted calls (``ok`` None), those
    whose index among them is in ``applied`` took effect.
    """
    events = _events(records)
    violations, explained = _mutual_exclusion(events, manage_source_locked)
    names, temp_killed = {}, {}
    killed_keys = {r.get(k) for r in records if r.get('killed')
                   for k in ('target', 'src')}
    unknown = 0
    for e in events:
        if e['ok'] is None:
            unknown += 1
            if unknown - 1 not in applied:
                continue
        elif not e['ok']:
            continue
        _apply(e, names, violations, temp_killed, killed_keys)
    files = {name: list(inode) for name, inode in names.items()
             if fileio.temp_key(name) is None}
    for name in names:
        # A killed worker's temporary files are the sweep's (checked on
        # the share below), not the worker's, to remove.
        if fileio.temp_key(name) is not None and not temp_killed.get(name):
            violations.append('temporary %s was never removed' % name)
    return files, violations, explained


def branches(records):
    """Sets of interrupted calls assumed to have taken effect."""
    count = sum(1 for r in records for e in r.get('inner', ())
                if e['ok'] is None)
    if count <= MAX_BRANCHING:
        for n in range(count + 1):
            yield from (set(c) for c in itertools.combinations(
                range(count), n))
    else:
        yield set()
        yield set(range(count))


def _share(share):
    actual, temp = {}, []
    for entry in os.scandir(share):
        if fileio.temp_key(entry.name) is not None:
            temp.append(entry.name)
        elif entry.is_file(follow_symlinks=False):
            actual[entry.name] = os.stat(entry.path).st_size
    return actual, temp


def _compare(share, files, actual, digests):
    violations = []
    for name in sorted(set(actual) - set(files)):
        violations.append('stray file %s (%d bytes)' % (name, actual[name]))
    for name, (pattern, size) in sorted(files.items()):
        if name not in actual:
            violations.append('lost: %s' % name)
            continue
        if actual[name] != size:
            violations.append('%s has %d bytes, expected %d' % (
                name, actual[name], size))
        if name not in digests:
            digests[name] = model.file_digest(os.path.join(share, name))
        if digests[name] != model.expected_digest(pattern, size):
            violations.append('%s content is not %s at %d bytes' % (
                name, pattern, size))
    return violations


def _leaks(records, actual, vols, snaps):
    """Files of volumes and snapshots Cinder deleted must be gone."""
    leaks = []
    for r in records:
        if not r['ok']:
            continue
        if r['op'] in ('delete', 'cleanup_delete'):
            kind, live = 'volume', vols
        elif r['op'] in ('delete_snapshot', 'cleanup_delete_snapshot'):
            kind, live = 'snapshot', snaps
        else:
            continue
        name = '%s-%s' % (kind, r['target'])
        if r['target'] not in live and name in actual:
            leaks.append('leaked: %s remains after %s/%s %s deleted it' % (
                name, r['w'], r.get('seq', r['n']), r['op']))
    return sorted(set(leaks))


def check(share, records, stats=None, manage_source_locked=False):
    """Every invariant; a dict whose 'violations' must be empty."""
    actual, temp = _share(share)
    digests = {}
    best = None
    for applied in branches(records):
        files, violations, explained = replay(records, applied,
                                              manage_source_locked)
        violations += _compare(share, files, actual, digests)
        if best is None or len(violations) < len(best[1]):
            best = (applied, violations, explained)
        if not violations:
            break
    applied, violations, explained = best
    for name in temp:
        violations.append('temporary file left: %s' % name)
    # The journal's view of what exists matches the share.  Existence
    # only: journal lines are appended after the locks are released, so
    # two extends may be journaled out of order; sizes are checked against
    # the replay above.
    vols, snaps = model.live(records)
    for vid in vols:
        if 'volume-%s' % vid not in actual:
            violations.append('journal says volume-%s exists; share has '
                              'none' % vid)
    for sid in snaps:
        if 'snapshot-%s' % sid not in actual:
            violations.append('journal says snapshot-%s exists; share has '
                              'none' % sid)
    violations += _leaks(records, actual, vols, snaps)
    for r in records:
        if r['ok'] is False and not r.get('clean'):
            violations.append('%s/%s %s failed uncleanly: %s' % (
                r['w'], r['n'], r['op'], r['err']))
    truth = sum(size for name, size in actual.items()
                if not name.startswith('.'))
    result = {
        'violations': violations,
        'explained': explained,
        'inflight': sum(1 for r in records for e in r.get('inner', ())
                        if e['ok'] is None),
        'branch': sorted(applied),
        'killed_ops': sum(1 for r in records if r.get('killed')),
        'startup_failures': [r['err'] for r in records
                             if r['op'] == 'startup'],
        'ops': len(records),
        'ok': sum(1 for r in records if r['ok']),
        'failed': sum(1 for r in records if r['ok'] is False),
        'by_op': {},
        'files': len(actual),
        'volumes': len(vols),
        'snapshots': len(snaps),
        'provisioned_bytes': truth,
    }
    for r in records:
        key = '%s:%s' % (r['op'], {True: 'ok', False: 'failed',
                                   None: 'killed'}[r['ok']])
        result['by_op'][key] = result['by_op'].get(key, 0) + 1
    if stats is not None:
        result['stats_provisioned_gb'] = stats['provisioned_capacity_gb']
        if stats['provisioned_capacity_gb'] != round(truth / model.GiB, 2):
            violations.append('stats provisioned %s GiB, files hold %s' % (
                stats['provisioned_capacity_gb'], round(truth / model.GiB,
                                                        2)))
    return result
