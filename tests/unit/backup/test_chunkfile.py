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

import os
import unittest

from cinder_ext.backup import chunkfile
from cinder_ext.backup import crypto
from cinder_ext.backup import exception


class ChunkFileTest(unittest.TestCase):

    def roundtrip(self, data, method, keys=None):
        chunk_id = crypto.plain_chunk_id(data)
        header, payload = chunkfile.encode(data, chunk_id, method, keys)
        blob = header + payload
        self.assertEqual(data, chunkfile.decode(blob, chunk_id, keys))
        return blob

    def test_each_compression_roundtrips_and_shrinks(self):
        data = b'abc' * 100000
        for method in ('zstd', 'zlib'):
            blob = self.roundtrip(data, method)
            self.assertLess(len(blob), len(data) // 10)
            self.assertEqual(chunkfile.COMPRESSIONS[method], blob[5])

    def test_incompressible_data_is_stored_raw(self):
        data = os.urandom(65536)
        blob = self.roundtrip(data, 'zstd')
        self.assertEqual(0, blob[5])
        self.assertEqual(len(data) + chunkfile.HEADER.size, len(blob))

    def test_flipped_byte_is_detected(self):
        data = b'xyz' * 10000
        blob = bytearray(self.roundtrip(data, 'zstd'))
        blob[-3] ^= 0xff
        chunk_id = crypto.plain_chunk_id(data)
        try:
            decoded = chunkfile.decode(bytes(blob), chunk_id)
        except ValueError:
            return
        self.assertNotEqual(data, decoded)  # caught later by the hash

    def test_bad_header(self):
        self.assertRaisesRegex(ValueError, 'magic',
                               chunkfile.decode, b'X' * 40, 'id')
        self.assertRaisesRegex(ValueError, 'truncated',
                               chunkfile.decode, b'CX', 'id')

    def test_encrypted_roundtrip_and_tamper(self):
        keys = crypto.Keys(os.urandom(32))
        data = b'secret' * 5000
        blob = bytearray(self.roundtrip(data, 'zstd', keys))
        self.assertNotIn(b'secretsecret', bytes(blob))
        chunk_id = crypto.plain_chunk_id(data)
        other = crypto.Keys(os.urandom(32))
        self.assertRaisesRegex(ValueError, 'tag', chunkfile.decode,
                               bytes(blob), chunk_id, other)
        self.assertRaisesRegex(ValueError, 'no key', chunkfile.decode,
                               bytes(blob), chunk_id)
        blob[8] ^= 1  # the header (plaintext length) is authenticated too
        self.assertRaises(ValueError, chunkfile.decode, bytes(blob),
                          chunk_id, keys)

    def test_unknown_compression_name(self):
        self.assertRaises(exception.InvalidArgument,
                          chunkfile.check_compression, 'lzma')
