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

"""What LVM says: ``lvs``/``vgs --reportformat json --units b --nosuffix``
reports, parsed, and its error messages, translated.

What LVM reports is input, not truth: every field is checked and a row
that does not parse is kept as kind 'other' (never acted upon) rather than
stopping a listing.
"""

import collections
import json
import re

from cinder_ext import exception

# lv_attr character 1, the volume type.
_KINDS = {'V': 'thin', 't': 'pool', 's': 'cow-snapshot',
          'S': 'cow-snapshot', '-': 'thick', 'o': 'thick', 'O': 'thick',
          'T': 'internal', 'e': 'internal', 'i': 'internal',
          'I': 'internal', 'l': 'internal'}

Lv = collections.namedtuple('Lv', [
    'name', 'size', 'attr', 'kind', 'origin', 'pool', 'tags', 'active',
    'open', 'skip_activation', 'cow_origin', 'data_percent',
    'metadata_percent', 'major', 'minor', 'cow_size'])
Lv.__doc__ = """One LV of a report.

kind: thin | thick | pool | cow-snapshot | internal | other.
size: what the LV's device reads (a COW snapshot: its origin's size);
cow_size: a COW snapshot's exception store (else None).
cow_origin: a thick LV with COW snapshots (merging included).
data_percent / metadata_percent: floats or None (pools, thin LVs, COW).
major / minor: of its dm device, None when inactive.
"""

_VG_NOT_FOUND = re.compile(r'volume group "[^"]*" not found')
# stderr fragments (LC_ALL=C) -> error class, most specific first.
_ERRORS = [
    ('already exists', exception.AlreadyExists),
    ('insufficient free space', exception.NoSpace),
    ('insufficient suitable', exception.NoSpace),
    ('not enough free', exception.NoSpace),
    ('free space in thin pool', exception.NoSpace),
    ('out of data space', exception.NoSpace),
    ('failed to find logical volume', exception.NotFound),
    ('logical volume', 'not found', exception.NotFound),
    ('is open', exception.LvBusy),
    # lvmlockd: another host of a shared VG holds the LV (or its pool)
    ('locked by other host', exception.LvBusy),
    ('resized only while inactive', exception.LvBusy),
    ('in use', exception.LvBusy),
    ('busy', exception.LvBusy),
]


Vg = collections.namedtuple('Vg', ['name', 'size', 'free', 'extent_size',
                                   'lv_count', 'lock_type'])
# lvmlockd lock types of a VG several hosts share (vgcreate --shared)
SHARED_LOCK_TYPES = ('sanlock', 'dlm', 'idm')


def is_shared(vg):
    return vg.lock_type in SHARED_LOCK_TYPES


def _rows(stdout, section):
    try:
        doc = json.loads(stdout)
        reports = doc['report']
    except (ValueError, TypeError, KeyError) as exc:
        raise exception.StorageError(operation='report', name=section,
                                     location='LVM',
                                     reason='unreadable JSON: %s' % exc)
    rows = []
    for report in reports if isinstance(reports, list) else []:
        if isinstance(report, dict):
            rows.extend(r for r in report.get(section) or []
                        if isinstance(r, dict))
    return rows


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _percent(value):
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def decode_lv(row):
    attr = str(row.get('lv_attr') or '')
    name = str(row.get('lv_name') or '')
    kind = _KINDS.get(attr[:1], 'other') if len(attr) >= 6 else 'other'
    if name.startswith('[') or kind == 'thick' and row.get(
            'segtype') not in ('linear', 'striped'):
        kind = 'internal' if name.startswith('[') else 'other'
    major = _int(row.get('lv_kernel_major'), -1)
    minor = _int(row.get('lv_kernel_minor'), -1)
    mapped = major is not None and major >= 0 and minor >= 0
    tags = str(row.get('lv_tags') or '')
    size = cow_size = _int(row.get('lv_size'), 0)
    if kind == 'cow-snapshot':
        size = _int(row.get('origin_size'), 0)
    else:
        cow_size = None
    return Lv(
        name=name, size=size, cow_size=cow_size, attr=attr, kind=kind,
        origin=row.get('origin') or None, pool=row.get('pool_lv') or None,
        tags=tuple(t for t in tags.split(',') if t),
        active=attr[4:5] == 'a', open=attr[5:6] == 'o',
        skip_activation=attr[9:10] == 'k',
        cow_origin=attr[:1] in ('o', 'O'),
        data_percent=_percent(row.get('data_percent')),
        metadata_percent=_percent(row.get('metadata_percent')),
        major=major if mapped else None, minor=minor if mapped else None)


def parse_lvs(stdout):
    """[Lv] of an ``lvs`` JSON report."""
    return [decode_lv(row) for row in _rows(stdout, 'lv')]


def parse_vgs(stdout):
    """[Vg] of a ``vgs`` JSON report."""
    return [Vg(name=str(row.get('vg_name') or ''),
               size=_int(row.get('vg_size'), 0),
               free=_int(row.get('vg_free'), 0),
               extent_size=_int(row.get('vg_extent_size'), 0),
               lv_count=_int(row.get('lv_count'), 0),
               lock_type=str(row.get('vg_lock_type') or 'none'))
            for row in _rows(stdout, 'vg')]


def translate(exc, operation, name, vg, argv):
    """The cinder-ext error for a failed command (ProcessExecutionError)."""
    location = 'VG %s' % vg
    stderr = ' '.join(str(exc.stderr or '').split())
    text = stderr.lower()
    if _VG_NOT_FOUND.search(text):
        return exception.VolumeGroupMissing(vg=vg, reason=stderr)
    for entry in _ERRORS:
        *parts, cls = entry
        if all(part in text for part in parts):
            if cls is exception.LvBusy:
                return cls(name=name, location=location,
                           operation=operation, reason=stderr)
            return cls(name=name, location=location)
    return exception.StorageError(
        operation=operation, name=name, location=location,
        reason='%s exited %s: %s' % (argv[0], exc.exit_code, stderr))
