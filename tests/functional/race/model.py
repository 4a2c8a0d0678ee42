"""Journal, content patterns and the invariant checker of the race tests.

The journal is one file of JSON lines, appended under ``fcntl.flock``: one
line per finished operation, successful or not.  Each line carries the
storage calls the driver made for it (``inner``: which file function, on
which names, entered and left when, with what outcome), recorded by the
worker around ``cinder_ext.storage.fileio``.  These calls run inside the
driver's locks, so with working locks two calls touching one file never
overlap in time, and ordering them by entry time is the order in which
they happened.  Replaying them gives the exact expected content and size
of every file; the share must match it, and the journal's own view of
which volumes and snapshots exist.

Content is a pattern (a few 64 KiB pseudo-random blocks in the first GiB)
plus a size; its digest hashes the non-zero aligned 64 KiB blocks with
their offsets and then the size, so it does not depend on how a copy laid
out holes, and costs O(allocated) to read.
"""

import contextlib
import errno
import fcntl
import hashlib
import json
import os

from cinder_ext.storage import fileio

BLOCK = 64 * 1024
GiB = 1024 ** 3
_ZERO = bytes(BLOCK)


# -- journal ------------------------------------------------------------

@contextlib.contextmanager
def _locked(path, mode, how):
    with open(path, mode) as f:
        fcntl.flock(f.fileno(), how)
        try:
            yield f
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def append(path, record):
    line = json.dumps(record, sort_keys=True) + '\n'
    with _locked(path, 'a', fcntl.LOCK_EX) as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read(path):
    if not os.path.exists(path):
        return []
    with _locked(path, 'r', fcntl.LOCK_SH) as f:
        return [json.loads(line) for line in f if line.strip()]


def live(records):
    """The journal's view: live volumes {id: size} and snapshots
    {id: (volume id, volume size)}, in order of creation."""
    vols, snaps = {}, {}
    for r in records:
        if not r['ok']:
            continue
        op = r['op']
        if op in ('create', 'clone', 'from_snapshot', 'manage'):
            vols[r['target']] = r['size']
        elif op in ('extend', 'revert') and r['target'] in vols:
            vols[r['target']] = r['size']
        elif op in ('delete', 'unmanage', 'cleanup_delete'):
            vols.pop(r['target'], None)
        elif op == 'snapshot':
            snaps[r['target']] = (r['src'], r['size'])
        elif op in ('delete_snapshot', 'cleanup_delete_snapshot'):
            snaps.pop(r['target'], None)
    return vols, snaps


# -- content ------------------------------------------------------------

def pattern_blocks(pattern):
    """{offset: 64 KiB block} written into a new volume (first GiB)."""
    seed = hashlib.sha256(pattern.encode()).digest()
    second = (int.from_bytes(seed[:4], 'big') % (GiB // BLOCK - 1) + 1)
    blocks = {}
    for offset in (0, second * BLOCK):
        blocks[offset] = hashlib.shake_256(
            seed + str(offset).encode()).digest(BLOCK)
    return blocks


def write_pattern(path, pattern):
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset, block in pattern_blocks(pattern).items():
            os.pwrite(fd, block, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def expected_digest(pattern, size):
    digest = hashlib.sha256()
    blocks = pattern_blocks(pattern) if pattern else {}
    for offset, block in sorted(blocks.items()):
        if offset < size:
            digest.update(b'%d:' % offset + block)
    digest.update(b'size:%d' % size)
    return digest.hexdigest()


def file_digest(path):
    """Digest of a file's content, O(allocated)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        seen = set()
        offset = 0
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    break
                raise
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            block = start - start % BLOCK
            while block < end:
                if block not in seen:
                    seen.add(block)
                    data = os.pread(fd, BLOCK, block)
                    if data.rstrip(b'\0'):
                        digest.update(b'%d:' % block +
                                      data.ljust(BLOCK, b'\0'))
                block += BLOCK
            offset = end
    finally:
        os.close(fd)
    digest.update(b'size:%d' % size)
    return digest.hexdigest()


# -- checker ------------------------------------------------------------

def _names(event):
    names = [event.get('name'), event.get('src'), event.get('dst')]
    if event['f'] == 'pin':
        names.append(event.get('ret'))
    return [n for n in names if n]


def replay(records):
    """Replay the storage calls; (files {name: [pattern, size]},
    violations).

    Names point to inodes, as on the share: a pin (hard link) shares its
    source's inode, an extend changes the inode, a revert renames a new
    inode over the name.
    """
    events = []
    for r in records:
        for e in r.get('inner', ()):
            events.append(dict(e, rec='%s/%s %s' % (r['w'], r['n'],
                                                    r['op'])))
    events.sort(key=lambda e: (e['a'], e['b']))
    violations = []
    # Mutual exclusion: calls on one name never overlap with locks.
    last = {}
    for e in events:
        for name in _names(e):
            prev = last.get(name)
            if prev is not None and prev['b'] > e['a']:
                violations.append(
                    'overlap on %s: %s [%.4f-%.4f] and %s [%.4f-%.4f]' % (
                        name, prev['rec'], prev['a'], prev['b'], e['rec'],
                        e['a'], e['b']))
            if prev is None or e['b'] > prev['b']:
                last[name] = e
    names = {}  # name -> inode: [pattern, size]
    for e in events:
        f, ok = e['f'], e['ok']
        if not ok:
            continue
        if f == 'create':
            names[e['name']] = [None, e['size']]
        elif f == 'write':
            if e['name'] not in names:
                violations.append('%s wrote %s, which is gone' % (
                    e['rec'], e['name']))
                continue
            names[e['name']][0] = e['pattern']
        elif f == 'pin':
            if e['src'] not in names:
                violations.append('%s pinned %s, already gone' % (
                    e['rec'], e['src']))
                continue
            names[e['ret']] = names[e['src']]
        elif f == 'clone':
            src = names.get(e['src'])
            if src is None:
                violations.append('%s succeeded from %s, already gone' % (
                    e['rec'], e['src']))
                continue
            if e['dst'] in names and not e['replace']:
                violations.append('%s replaced existing %s' % (
                    e['rec'], e['dst']))
            names[e['dst']] = [src[0], e['size']]
        elif f == 'extend':
            if e['name'] not in names:
                violations.append('%s extended %s, already gone' % (
                    e['rec'], e['name']))
                continue
            names[e['name']][1] = e['size']
        elif f == 'remove':
            existed = names.pop(e['name'], None) is not None
            if existed != e['ret']:
                violations.append('%s removed %s: returned %s, expected %s'
                                  % (e['rec'], e['name'], e['ret'],
                                     existed))
        elif f == 'rename':
            if e['src'] not in names:
                violations.append('%s renamed %s, already gone' % (
                    e['rec'], e['src']))
                continue
            if e['dst'] in names:
                violations.append('%s renamed over %s' % (e['rec'],
                                                          e['dst']))
            names[e['dst']] = names.pop(e['src'])
    files = {name: list(inode) for name, inode in names.items()
             if fileio.temp_key(name) is None}
    for name in names:
        if fileio.temp_key(name) is not None:
            violations.append('temporary %s was never removed' % name)
    return files, violations


def check(share, records, stats=None):
    """Every invariant; a dict whose 'violations' must be empty."""
    files, violations = replay(records)
    actual = {}
    temp = []
    for entry in os.scandir(share):
        if fileio.temp_key(entry.name) is not None:
            temp.append(entry.name)
            continue
        if entry.is_file(follow_symlinks=False):
            actual[entry.name] = os.stat(entry.path).st_size
    for name in temp:
        violations.append('temporary file left: %s' % name)
    for name in sorted(set(actual) - set(files)):
        violations.append('stray file %s (%d bytes)' % (name, actual[name]))
    for name, (pattern, size) in sorted(files.items()):
        if name not in actual:
            violations.append('lost: %s' % name)
            continue
        if actual[name] != size:
            violations.append('%s has %d bytes, expected %d' % (
                name, actual[name], size))
        got = file_digest(os.path.join(share, name))
        want = expected_digest(pattern, size)
        if got != want:
            violations.append('%s content is not %s at %d bytes' % (
                name, pattern, size))
    # The journal's view of what exists matches the share.
    vols, snaps = live(records)
    # Existence only: journal lines are appended after the locks are
    # released, so two extends may be journaled out of order; sizes are
    # checked against the replay above.
    for vid in vols:
        name = 'volume-%s' % vid
        if name not in actual:
            violations.append('journal says %s exists; share has none'
                              % name)
    for sid, (_vid, size) in snaps.items():
        name = 'snapshot-%s' % sid
        if actual.get(name) is None:
            violations.append('journal says %s exists; share has none'
                              % name)
    unclean = [r for r in records if not r['ok'] and not r.get('clean')]
    for r in unclean:
        violations.append('%s/%s %s failed uncleanly: %s' % (
            r['w'], r['n'], r['op'], r['err']))
    truth = sum(size for name, size in actual.items()
                if not name.startswith('.'))
    result = {
        'violations': violations,
        'startup_failures': [r['err'] for r in records
                             if r['op'] == 'startup'],
        'ops': len(records),
        'ok': sum(1 for r in records if r['ok']),
        'failed': sum(1 for r in records if not r['ok']),
        'by_op': {},
        'files': len(actual),
        'volumes': len(vols),
        'snapshots': len(snaps),
        'provisioned_bytes': truth,
    }
    for r in records:
        key = '%s:%s' % (r['op'], 'ok' if r['ok'] else 'failed')
        result['by_op'][key] = result['by_op'].get(key, 0) + 1
    if stats is not None:
        result['stats_provisioned_gb'] = stats['provisioned_capacity_gb']
        if stats['provisioned_capacity_gb'] != round(truth / GiB, 2):
            violations.append('stats provisioned %s GiB, files hold %s' % (
                stats['provisioned_capacity_gb'], round(truth / GiB, 2)))
    return result
