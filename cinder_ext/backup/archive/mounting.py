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

"""Read-only mounts that never write to the snapshot.

``ro`` alone is not enough: xfs and ext3/4 replay a dirty journal (and
btrfs its log tree) even on a read-only mount, which writes to the device
(refused on our read-only mapping, so the mount would fail) and changes
what is archived.  The options below skip that: the archive shows the
filesystem as its last committed transaction left it, like a power cut.
``nouuid`` lets xfs mount a snapshot whose origin is mounted too; btrfs
(since 6.7) mounts such a clone under a temporary fsid by itself.
``subvolid=5`` mounts btrfs's top level, so every subvolume is beneath
the mount point, whatever the default subvolume is.  nodev, nosuid,
noexec: the volume's contents are the tenant's, not ours.

The mount point is a fresh directory inside a private (0700) directory:
nobody else can walk into the tenant's files while they are mounted.

Costs: mount and umount read and write no data of the volume: O(1) on a
clean filesystem; with norecovery the journal is not read.
"""

import contextlib
import logging
import os
import re
import tempfile
import time

from cinder_ext.backup.archive import commands
from cinder_ext.backup import exception

LOG = logging.getLogger(__name__)
SAFETY = ['nodev', 'nosuid', 'noexec']
# fstype -> option lists to try in order (older kernels: the later ones)
OPTIONS = {
    'xfs': [['ro', 'norecovery', 'nouuid']],
    'ext4': [['ro', 'noload']],
    'ext3': [['ro', 'noload']],
    'ext2': [['ro']],  # no journal
    # rescue=nologreplay since Linux 5.9; plain nologreplay before
    'btrfs': [['ro', 'rescue=nologreplay', 'subvolid=5'],
              ['ro', 'nologreplay', 'subvolid=5']],
}
_UMOUNT_TRIES = 5
_OCTAL = re.compile(r'\\([0-7]{3})')


def options(fstype):
    """The option strings to try for ``fstype``, in order."""
    return [','.join(opts + SAFETY) for opts in OPTIONS[fstype]]


def is_mounted(directory):
    """Whether ``directory`` is a mount point in /proc/self/mountinfo."""
    want = os.path.realpath(directory)
    with open('/proc/self/mountinfo') as f:
        for line in f:
            point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)),
                               line.split()[4])
            if point == want:
                return True
    return False


@contextlib.contextmanager
def private_dir(parent=None):
    """A 0700 directory for the mount points; removed at the end."""
    directory = tempfile.mkdtemp(prefix='cinder-ext-archive-', dir=parent)
    try:
        yield directory
    finally:
        try:
            os.rmdir(directory)
        except OSError as exc:
            raise exception.ArchiveCleanupFailed(
                source=directory, what='the mount directory',
                reason=str(exc))


@contextlib.contextmanager
def mounted(target, source, parent):
    """Mount ``target`` (a probe.Target) read-only in a new directory
    under ``parent``; yields (mount point, options used)."""
    point = tempfile.mkdtemp(prefix='%s-' % target.name, dir=parent)
    used = None
    try:
        used = _mount(target, source, point)
        yield point, used
    finally:
        try:
            if used is not None:
                _umount(point, source)
        finally:
            if not is_mounted(point):
                os.rmdir(point)


def _mount(target, source, point):
    tried = options(target.fstype)
    for i, opts in enumerate(tried):
        try:
            commands.run(['mount', '-t', target.fstype, '-o', opts,
                          target.device, point], exception.MountFailed,
                         source=source, where=where(target),
                         fstype=target.fstype, options=opts)
            return opts
        except exception.MountFailed:
            if i == len(tried) - 1:
                raise
            LOG.debug('mount of %s with %s failed; trying %s', target.device,
                      opts, tried[i + 1])


def where(target):
    if target.number is None:
        return 'the whole device'
    return 'partition %d' % target.number


def _umount(point, source):
    for attempt in range(_UMOUNT_TRIES):
        if commands.run_quietly(['umount', point]) or not is_mounted(point):
            return
        time.sleep(0.2 * (attempt + 1))  # a scanner may hold it briefly
    raise exception.ArchiveCleanupFailed(
        source=source, what='a mount at %s' % point,
        reason='umount kept failing')
