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

"""Thin LVs as backup sources: what is mapped, and what changed.

A thin LV's data lives in its pool's data blocks; the pool's metadata maps
the LV's virtual blocks to them.  thin-provisioning-tools read that
metadata: ``thin_dump --dev-id`` lists one device's mappings, and
``thin_delta`` compares the mappings of two devices (a snapshot shares its
origin's blocks until either is written, so a block mapped to the same
data block in both is unchanged).  The live metadata changes under a
running pool, so both read a metadata snapshot, reserved and always
released around them under a per-pool lock.

Costs: one ``lvs`` report, O(LVs of the VG); ``thin_dump --dev-id``
O(mappings of that device); ``thin_delta`` O(mappings of both devices).
No data block is read.
"""

import collections
import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
import xml.etree.ElementTree as ElementTree

from oslo_concurrency import processutils

from cinder_ext.backup import exception
from cinder_ext import exception as storage_exception
from cinder_ext.storage import executor
from cinder_ext.storage import lvmcmd

LOG = logging.getLogger(__name__)
SECTOR = 512
LV_FIELDS = 'lv_name,vg_name,pool_lv,thin_id,lv_size,segtype,lv_tags'
_DEVICE = re.compile(r'^/dev/(?P<vg>[^/]+)/(?P<lv>[^/]+)$')
# Directories under /dev that are not volume groups.
_NOT_VGS = ('mapper', 'disk', 'block', 'char', 'bus', 'shm', 'pts')
# Changed according to thin_delta; 'same' ranges are not.
CHANGED = ('different', 'left_only', 'right_only')
LOCK_DIR = os.environ.get('CINDER_EXT_BACKUP_LOCK_DIR') or (
    '/run/lock' if os.path.isdir('/run/lock') else tempfile.gettempdir())

ThinLv = collections.namedtuple('ThinLv', 'vg name pool thin_id size tags')


def check_names(vg, lv):
    """LVM's naming rules (storage.lvmcmd), as the backup's error."""
    try:
        lvmcmd.check_name(vg, 'VG')
        lvmcmd.check_lv(vg, lv)
    except storage_exception.InvalidName as exc:
        raise exception.InvalidArgument(reason=str(exc))
    return vg, lv


def _run(argv, what):
    try:
        return executor.run(argv)[0]
    except processutils.ProcessExecutionError as exc:
        reason = (exc.stderr or exc.description or '').strip()
        last = reason.splitlines()[-1] if reason else ''
        raise exception.SourceError(
            source=what, reason='%s failed (exit %s): %s' % (
                argv[0], exc.exit_code, last))


def device_names(path):
    """(vg, lv) of a ``/dev/<vg>/<lv>`` path to a device-mapper device,
    else None: the only paths worth asking LVM about."""
    match = _DEVICE.match(path) if isinstance(path, str) else None
    if match is None or match.group('vg') in _NOT_VGS:
        return None
    # /dev/dm-N with udev; /dev/mapper/<vg>-<lv> as LVM links without it
    real = os.path.realpath(path)
    if not (os.path.basename(real).startswith('dm-') or
            os.path.dirname(real) == '/dev/mapper'):
        return None
    try:
        return check_names(match.group('vg'), match.group('lv'))
    except exception.InvalidArgument:
        return None  # not a name LVM gives


def parse_report(text):
    """{lv name: ThinLv} of a ``lvs --reportformat json`` report; thick
    LVs and pools have ``thin_id`` None."""
    try:
        rows = json.loads(text)['report'][0]['lv']
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise exception.SourceError(source='lvs',
                                    reason='unreadable report: %s' % exc)
    lvs = {}
    for row in rows:
        thin_id = row.get('thin_id')
        lvs[row['lv_name']] = ThinLv(
            row['vg_name'], row['lv_name'], row.get('pool_lv') or None,
            int(thin_id) if row.get('segtype') == 'thin' and thin_id
            else None, int(row['lv_size']),
            tuple(t for t in row.get('lv_tags', '').split(',') if t))
    return lvs


def report(vg):
    """Every LV of ``vg``: one ``lvs`` call, O(LVs)."""
    return parse_report(_run(['lvs'] + list(lvmcmd.REPORT) +
                             ['-o', LV_FIELDS, vg], vg))


def lookup(path):
    """The ThinLv behind a device path, or None if it is not a thin LV."""
    names = device_names(path)
    if names is None:
        return None
    try:
        lv = report(names[0]).get(names[1])
    except exception.SourceError as exc:
        LOG.warning('%s is read as a plain device: %s', path, exc)
        return None
    return lv if lv is not None and lv.thin_id is not None else None


@contextlib.contextmanager
def file_lock(name):
    """An exclusive flock on ``<LOCK_DIR>/cinder_ext-backup-<name>.lock``
    (waits); it guards the base and temporary snapshot LVs."""
    path = os.path.join(LOCK_DIR, 'cinder_ext-backup-%s.lock' % name)
    with open(path, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _tmeta(vg, pool):
    return '/dev/mapper/' + lvmcmd.dm_name(vg, pool + '_tmeta')


@contextlib.contextmanager
def metadata_snapshot(vg, pool):
    """Reserve the pool's metadata snapshot; released on every exit.

    One snapshot per pool exists at a time, so the pool's lock is held
    throughout; under it, a snapshot found reserved was left by a killed
    run and is released first.
    """
    tpool = lvmcmd.dm_name(vg, pool, 'tpool')
    message = ['dmsetup', 'message', tpool, '0']
    what = '%s/%s' % (vg, pool)
    with file_lock('pool-' + lvmcmd.dm_name(vg, pool)):
        try:
            _run(message + ['reserve_metadata_snap'], what)
        except exception.SourceError:
            LOG.warning('releasing a metadata snapshot left on %s', what)
            _run(message + ['release_metadata_snap'], what)
            _run(message + ['reserve_metadata_snap'], what)
        try:
            yield _tmeta(vg, pool)
        except BaseException:
            try:
                _run(message + ['release_metadata_snap'], what)
            except exception.SourceError as exc:  # keep the first error
                LOG.error('%s', exc)
            raise
        _run(message + ['release_metadata_snap'], what)


def _block_bytes(root):
    try:
        return int(root.get('data_block_size')) * SECTOR
    except (TypeError, ValueError):
        raise exception.SourceError(source='thin metadata',
                                    reason='no data_block_size')


def _xml(text):
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise exception.SourceError(source='thin metadata',
                                    reason='unreadable XML: %s' % exc)


def merge(ranges):
    """Sorted, adjacent ranges joined: [(offset, length)]."""
    merged = []
    for offset, length in sorted(ranges):
        if merged and offset <= merged[-1][0] + merged[-1][1]:
            last_offset, last_length = merged[-1]
            merged[-1] = (last_offset, max(last_length,
                                           offset + length - last_offset))
        else:
            merged.append((offset, length))
    return merged


def parse_dump(text, dev_id):
    """Mapped byte ranges of device ``dev_id`` in ``thin_dump`` XML."""
    root = _xml(text)
    block = _block_bytes(root)
    ranges = []
    found = False
    for device in root.iter('device'):
        if int(device.get('dev_id')) != dev_id:
            continue
        found = True
        for mapping in device:
            if mapping.tag == 'range_mapping':
                ranges.append((int(mapping.get('origin_begin')) * block,
                               int(mapping.get('length')) * block))
            elif mapping.tag == 'single_mapping':
                ranges.append((int(mapping.get('origin_block')) * block,
                               block))
    if not found:
        raise exception.SourceError(
            source='thin device %s' % dev_id, reason='not in the metadata')
    return merge(ranges)


def parse_delta(text):
    """Changed byte ranges (different, left_only, right_only) in
    ``thin_delta`` XML, and the data block size in bytes."""
    root = _xml(text)
    block = _block_bytes(root)
    if root.find('diff') is None:
        raise exception.SourceError(source='thin_delta',
                                    reason='no <diff> in its output')
    return merge((int(r.get('begin')) * block, int(r.get('length')) * block)
                 for r in root.find('diff') if r.tag in CHANGED), block


def mapped_ranges(lv):
    """Byte ranges of ``lv`` mapped in its pool: O(its mappings)."""
    with metadata_snapshot(lv.vg, lv.pool) as tmeta:
        text = _run(['thin_dump', '--metadata-snap', '--dev-id',
                     str(lv.thin_id), tmeta], '%s/%s' % (lv.vg, lv.name))
    return clip(parse_dump(text, lv.thin_id), lv.size)


def mapped_and_changed(lv, base):
    """(mapped ranges of ``lv``, ranges changed since ``base``), from one
    metadata snapshot: O(mappings of both)."""
    what = '%s/%s' % (lv.vg, lv.name)
    with metadata_snapshot(lv.vg, lv.pool) as tmeta:
        dump = _run(['thin_dump', '--metadata-snap', '--dev-id',
                     str(lv.thin_id), tmeta], what)
        delta = _run(['thin_delta', '--metadata-snap', '--snap1',
                      str(base.thin_id), '--snap2', str(lv.thin_id), tmeta],
                     what)
    return clip(parse_dump(dump, lv.thin_id), lv.size), \
        clip(parse_delta(delta)[0], max(lv.size, base.size))


def clip(ranges, size):
    """Ranges cut at ``size`` (the last data block may pass the end)."""
    return [(o, min(n, size - o)) for o, n in ranges if o < size]


def changed_chunks(ranges, size, parent_size, chunk_size):
    """Chunk indices touching ``ranges``, plus the parent's last chunk and
    all past it when the size changed."""
    indices = set()
    for offset, length in ranges:
        indices.update(range(offset // chunk_size,
                             (offset + length - 1) // chunk_size + 1))
    if size != parent_size:
        indices.update(range(min(size, parent_size) // chunk_size,
                             -(-size // chunk_size)))
    return indices
