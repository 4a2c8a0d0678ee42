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

"""The point-in-time copy as a read-only block device with partitions.

Two ways, one interface (``device``, ``partitions(numbers)``, a context
manager that undoes everything it did):

* ``LoopMapping``: a file or a block device we do not own (a Cinder
  snapshot LV) through ``losetup --read-only --partscan``.  Where the
  kernel parses no partition table itself (no EFI/MSDOS partition support
  built in), the partitions are added from user space with ``partx
  --add`` (BLKPG).
* ``KpartxMapping``: the thin snapshot this run made, through
  ``kpartx -a -r``: read-only linear maps ``<dm name>p<N>``; the snapshot
  itself is set read-only (ext4 cleans up orphans on a read-only mount
  unless the device is read-only).

Nothing here writes to the source: both map it read-only.  Costs: O(1)
ioctls and O(partitions) device nodes.
"""

import os
import stat
import time

from cinder_ext.backup.archive import commands
from cinder_ext.backup import exception

_NODE_WAIT = 5.0  # seconds for a partition node to appear (udev, if any)


def _wait_for(path, source):
    deadline = time.monotonic() + _NODE_WAIT
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise exception.MappingFailed(
                source=source, reason='%s did not appear' % path)
        time.sleep(0.05)
    return path


class LoopMapping(object):

    def __init__(self, path, source):
        self.path = path
        self.source = source
        self.device = None
        self._added = False

    def __enter__(self):
        out = commands.run(['losetup', '--read-only', '--partscan', '--find',
                            '--show', self.path], exception.MappingFailed,
                           source=self.source)[0]
        self.device = out.strip()
        return self

    def partitions(self, numbers):
        """{number: device node}; adds what the kernel did not."""
        name = os.path.basename(self.device)
        nodes = {}
        for number in numbers:
            part = '%sp%d' % (name, number)
            if not os.path.exists('/sys/block/%s/%s' % (name, part)):
                self._added = True
                commands.run(['partx', '--add', '--nr', '%d' % number,
                              self.device], exception.MappingFailed,
                             source=self.source)
            nodes[number] = _wait_for('/dev/' + part, self.source)
        return nodes

    def __exit__(self, *exc_info):
        if self.device is None:
            return
        # Detaching drops the partitions with the device; partx first so
        # none stays behind on a loop device the kernel keeps busy.
        if self._added:
            commands.run_quietly(['partx', '--delete', self.device])
        commands.run(['losetup', '--detach', self.device],
                     exception.ArchiveCleanupFailed, source=self.source,
                     what='loop device %s' % self.device)
        self.device = None


class KpartxMapping(object):
    """``kpartx`` maps of a device-mapper device; the device itself is set
    read-only (it is our own snapshot)."""

    DELIMITER = 'p'

    def __init__(self, path, source):
        self.device = path
        self.source = source
        self._mapped = False

    def __enter__(self):
        commands.run(['blockdev', '--setro', self.device],
                     exception.MappingFailed, source=self.source)
        return self

    def partitions(self, numbers):
        out = commands.run(['kpartx', '-a', '-r', '-s', '-v', '-p',
                            self.DELIMITER, self.device],
                           exception.MappingFailed, source=self.source)[0]
        self._mapped = True
        maps = {}
        for line in out.splitlines():
            # "add map <name>p<N> (253:5): 0 2048 linear 253:4 2048"
            words = line.split()
            if len(words) > 2 and words[:2] == ['add', 'map']:
                number = words[2].rsplit(self.DELIMITER, 1)[-1]
                if number.isdigit():
                    maps[int(number)] = '/dev/mapper/' + words[2]
        missing = [n for n in numbers if n not in maps]
        if missing:
            raise exception.MappingFailed(
                source=self.source, reason='kpartx mapped no partition %s'
                % ', '.join(map(str, missing)))
        return {n: _wait_for(maps[n], self.source) for n in numbers}

    def __exit__(self, *exc_info):
        if self._mapped:
            commands.run(['kpartx', '-d', '-p', self.DELIMITER, self.device],
                         exception.ArchiveCleanupFailed, source=self.source,
                         what='partition maps of %s' % self.device)
            self._mapped = False


def is_device_mapper(path):
    st = os.stat(path)
    if not stat.S_ISBLK(st.st_mode):
        return False
    return os.path.exists('/sys/dev/block/%d:%d/dm' % (
        os.major(st.st_rdev), os.minor(st.st_rdev)))


def open_mapping(path, source, own_snapshot=False):
    """kpartx for a device-mapper snapshot of our own (it is set
    read-only); a loop device for anything else, a device we do not own
    included: its read-only flag is the loop's, the device's stays as it
    was."""
    try:
        dm = own_snapshot and is_device_mapper(path)
    except OSError as exc:
        raise exception.MappingFailed(source=source, reason=str(exc))
    return (KpartxMapping if dm else LoopMapping)(path, source)
