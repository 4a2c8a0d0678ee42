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

"""Journal and content patterns of the race tests.

The journal is one file of JSON lines, appended under ``fcntl.flock``: one
line per finished operation, successful or not.  Each line carries the
storage calls the driver made for it (``inner``: which file function, on
which names, entered and left when, with what outcome), recorded by the
worker around ``cinder_ext.storage.fileio``.  These calls run inside the
driver's locks, so with working locks two calls touching one file never
overlap in time, and ordering them by entry time is the order in which
they happened.  Replaying them (``checker``) gives the exact expected
content and size of every file; the share must match it, and the
journal's own view of which volumes and snapshots exist.  A SIGKILLed
worker's interrupted operation is journaled from its trail
(``probe.salvage``), with ``ok`` None.

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

BLOCK = 64 * 1024
GiB = 1024 ** 3


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
    line = (json.dumps(record, sort_keys=True) + '\n').encode()
    with _locked(path, 'ab+', fcntl.LOCK_EX) as f:
        end = f.seek(0, os.SEEK_END)
        if end and os.pread(f.fileno(), 1, end - 1) != b'\n':
            line = b'\n' + line  # a line cut by a SIGKILL stays alone
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read(path):
    if not os.path.exists(path):
        return []
    records = []
    with _locked(path, 'r', fcntl.LOCK_SH) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                pass  # cut by a SIGKILL; salvaged from the trail instead
    return records


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
