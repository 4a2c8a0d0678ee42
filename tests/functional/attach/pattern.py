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

"""The test pattern, as the guest's busybox writes it.

Block ``offset`` (in MiB) of seed ``seed`` is the line ``"<seed> <offset>\\n"``
repeated to 1 MiB: what ``yes "<seed> <offset>" | head -c 1048576`` prints.
Stdlib only: the Nova-side script imports it too.
"""

import hashlib
import os

MiB = 1024 ** 2


def block(seed, offset):
    line = ('%s %d\n' % (seed, offset)).encode()
    return (line * (MiB // len(line) + 1))[:MiB]


def digest(data):
    return hashlib.sha256(data).hexdigest()


ZERO = digest(bytes(MiB))


def expected(seed, offset):
    return digest(block(seed, offset))


def write(path, seed, offsets):
    """Write the blocks through ``path`` (a volume's file or device)."""
    with open(path, 'r+b') as f:
        for offset in offsets:
            f.seek(offset * MiB)
            f.write(block(seed, offset))
        f.flush()
        os.fsync(f.fileno())


def read(path, offsets):
    """{offset: sha256 of the MiB at offset} read through ``path``."""
    digests = {}
    with open(path, 'rb') as f:
        for offset in offsets:
            f.seek(offset * MiB)
            digests[offset] = digest(f.read(MiB))
    return digests
