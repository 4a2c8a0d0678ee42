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

"""What a volume holds: a partition table (``sfdisk --json``) and the
filesystem of each partition, or one filesystem on the whole device
(``blkid -p``: low-level probing of the superblocks themselves, no cache).

Everything read here is input, not truth: a partition must lie inside the
device and overlap no other, a protective MBR without a readable GPT
behind it is a damaged table, and a signature that is not a filesystem
this tool mounts is reported, never guessed at.

Costs: each ``blkid -p`` reads a few superblocks, O(1); ``sfdisk --json``
reads the table, O(partitions).
"""

import collections
import json
import re

from oslo_concurrency import processutils

from cinder_ext.backup.archive import commands
from cinder_ext.backup import exception
from cinder_ext.storage import executor

# blkid TYPE -> what the kernel mounts it as (mounting.OPTIONS)
SUPPORTED = ('xfs', 'ext4', 'ext3', 'ext2', 'btrfs')
# dos partition types that only contain the logical partitions
EXTENDED_TYPES = ('5', 'f', '85')
PROTECTIVE_MBR = 'ee'
BIOS_BOOT_GUID = '21686148-6449-6E6F-744E-656564454649'
# blkid -p exit codes
_NOTHING_FOUND, _AMBIVALENT = 2, 8
_NUMBER = re.compile(r'(\d+)$')

Partition = collections.namedtuple('Partition', 'number start size type')
# one filesystem to archive: name "p<N>" or "disk"
Target = collections.namedtuple(
    'Target', 'name number device fstype uuid label start size')
Skipped = collections.namedtuple('Skipped', 'name reason')


def parse_blkid(text):
    """``blkid -o export`` lines -> dict."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep:
            found[key.strip()] = value.strip()
    return found


def parse_sfdisk(text, device_size, source):
    """(label, [Partition], in bytes) of ``sfdisk --json`` output, checked
    against the device's size; PartitionTableDamaged when it is unusable.
    """
    try:
        table = json.loads(text)['partitiontable']
        label = table['label']
        sector = int(table.get('sectorsize', 512))
        parts = [Partition(int(_NUMBER.search(p['node']).group(1)),
                           int(p['start']) * sector, int(p['size']) * sector,
                           str(p.get('type', '')).lower())
                 for p in table.get('partitions', [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise exception.PartitionTableDamaged(
            source=source, reason='unreadable sfdisk output: %r' % (exc,))
    if label == 'dos' and any(p.type == PROTECTIVE_MBR for p in parts):
        raise exception.PartitionTableDamaged(
            source=source, reason='a protective MBR, but no valid GPT header '
            '(primary and backup)')
    if label not in ('gpt', 'dos'):
        raise exception.PartitionTableDamaged(
            source=source, reason='unsupported table type %r' % label)
    check_layout(parts, device_size, source)
    return label, parts


def check_layout(parts, device_size, source):
    """Each partition inside the device, none overlapping another (the
    logical ones of a dos table lie inside their extended one)."""
    for p in parts:
        if p.start <= 0 or p.size <= 0 or p.start + p.size > device_size:
            raise exception.PartitionTableDamaged(
                source=source, reason='partition %d (bytes %d-%d) is not '
                'inside the %d-byte device' % (p.number, p.start,
                                               p.start + p.size, device_size))
    plain = sorted((p for p in parts if p.type not in EXTENDED_TYPES),
                   key=lambda p: p.start)
    for before, after in zip(plain, plain[1:]):
        if before.start + before.size > after.start:
            raise exception.PartitionTableDamaged(
                source=source, reason='partitions %d and %d overlap' % (
                    before.number, after.number))


def choose(name, info, part_type=''):
    """'archive', or a skip reason, or None (an unknown signature) for one
    device's ``blkid -p`` result ``info``."""
    fstype = info.get('TYPE')
    if part_type in EXTENDED_TYPES:
        return 'extended partition (holds the logical ones)'
    if fstype in SUPPORTED:
        return 'archive'
    if fstype == 'swap':
        return 'swap space'
    if not fstype:
        if part_type.upper() == BIOS_BOOT_GUID:
            return 'BIOS boot partition'
        return 'no filesystem signature'
    return None


def blkid(device, source):
    """``blkid -p`` of ``device`` as a dict; {} when it finds nothing."""
    argv = ['blkid', '-p', '-o', 'export', device]
    try:
        return parse_blkid(executor.run(argv)[0])
    except processutils.ProcessExecutionError as exc:
        if exc.exit_code == _NOTHING_FOUND:
            return {}
        if exc.exit_code == _AMBIVALENT:
            return {'TYPE': 'conflicting signatures (blkid: ambivalent)'}
        raise exception.MappingFailed(
            source=source, reason=commands.failure_reason(exc))


def device_size(device, source):
    out = commands.run(['blockdev', '--getsize64', device],
                       exception.MappingFailed, source=source)[0]
    return int(out.strip())


def table(device, source):
    """(label, [Partition]) of the partition table on ``device``."""
    size = device_size(device, source)
    out = commands.run(['sfdisk', '--json', device],
                       exception.PartitionTableDamaged, source=source)[0]
    return parse_sfdisk(out, size, source)


def inventory(mapped, source, skip_unknown=False):
    """(table label or None, [Target], [Skipped]) of a mapped volume."""
    whole = blkid(mapped.device, source)
    if whole.get('TYPE') or not whole.get('PTTYPE'):
        if not whole:
            raise exception.UnknownFilesystem(
                source=source, where='the whole device',
                found='no filesystem and no partition table',
                known=', '.join(SUPPORTED))
        target = _target('disk', None, mapped.device, whole, '', 0,
                         device_size(mapped.device, source))
        return None, *_sort([target], source, skip_unknown)
    if whole['PTTYPE'] == 'PMBR':
        raise exception.PartitionTableDamaged(
            source=source, reason='a protective MBR, but no valid GPT header '
            '(primary and backup)')
    label, parts = table(mapped.device, source)
    devices = mapped.partitions([p.number for p in parts])
    found = []
    for p in parts:
        info = ({} if p.type in EXTENDED_TYPES
                else blkid(devices[p.number], source))
        found.append(_target('p%d' % p.number, p.number, devices[p.number],
                             info, p.type, p.start, p.size))
    return label, *_sort(found, source, skip_unknown)


def _target(name, number, device, info, part_type, start, size):
    return (Target(name, number, device, info.get('TYPE'), info.get('UUID'),
                   info.get('LABEL'), start, size), choose(name, info,
                                                           part_type))


def _sort(found, source, skip_unknown):
    targets, skipped = [], []
    for target, verdict in found:
        if verdict == 'archive':
            targets.append(target)
        elif verdict is not None:
            skipped.append(Skipped(target.name, verdict))
        elif skip_unknown:
            skipped.append(Skipped(target.name, 'unknown: %s' % (
                target.fstype,)))
        else:
            where = ('the whole device' if target.number is None
                     else 'partition %d' % target.number)
            raise exception.UnknownFilesystem(
                source=source, where=where, found=target.fstype,
                known=', '.join(SUPPORTED))
    return targets, skipped
