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

"""Shared helpers of the backup engine tests."""

import hashlib
import os
import random
import shutil
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives import ciphers
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes

MiB = 1024 * 1024


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(4 * MiB), b''):
            digest.update(block)
    return digest.hexdigest()


def allocated(path):
    return os.stat(path).st_blocks * 512


def random_bytes(rng, length):
    """``length`` incompressible bytes drawn from ``rng`` (AES-CTR keyed
    by it: reproducible from the seed, and fast)."""
    cipher = ciphers.Cipher(algorithms.AES(rng.randbytes(32)),
                            modes.CTR(rng.randbytes(16)))
    return cipher.encryptor().update(bytes(length))


def make_sparse(path, size, pieces, rng):
    """A sparse file of ``size`` with random data at [(offset, length)]."""
    with open(path, 'wb') as f:
        f.truncate(size)
        for offset, length in pieces:
            while length > 0:
                n = min(length, 16 * MiB)
                f.seek(offset)
                f.write(random_bytes(rng, n))
                offset, length = offset + n, length - n


class TempDirTest(unittest.TestCase):
    """A temp dir per test, and a seeded RNG printed for replay
    (CINDER_EXT_TEST_SEED=<n> replays)."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix='cinder-ext-backup-test-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        seed = int(os.environ.get('CINDER_EXT_TEST_SEED') or
                   random.SystemRandom().randrange(2 ** 32))
        sys.stderr.write('%s seed=%d\n' % (self.id(), seed))
        self.seed = seed
        self.rng = random.Random(seed)

    def path(self, *names):
        return os.path.join(self.dir, *names)
