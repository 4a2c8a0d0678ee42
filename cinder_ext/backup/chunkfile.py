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

"""One chunk's stored form: a 24-byte header and its payload.

Header (little endian): magic ``CXBC``, format version (1 byte),
compression (1 byte: 0 none, 1 zlib, 2 zstd), flags (1 byte: bit 0
encrypted), a reserved byte, the plaintext length (8 bytes) and the
payload length (8 bytes).  An encrypted payload is a 12-byte nonce and the
AES-256-GCM ciphertext and tag of the (compressed) data; the header and the
chunk id are its associated data, so neither can be swapped.  Data that
does not shrink is stored raw (compression 0).
"""

import struct
import zlib

import zstandard

from cinder_ext.backup import exception

MAGIC = b'CXBC'
VERSION = 1
HEADER = struct.Struct('<4sBBBxQQ')
COMPRESSIONS = {'none': 0, 'zlib': 1, 'zstd': 2}
NAMES = {v: k for k, v in COMPRESSIONS.items()}
FLAG_ENCRYPTED = 1
ZSTD_LEVEL = 3
ZLIB_LEVEL = 6


def _compress(data, method):
    # zstd and zlib release the GIL: the engine runs this in threads.
    if method == 'zstd':
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    if method == 'zlib':
        return zlib.compress(data, ZLIB_LEVEL)
    return data


def _decompress(data, method, length):
    if method == 2:
        return zstandard.ZstdDecompressor().decompress(
            data, max_output_size=length)
    if method == 1:
        return zlib.decompress(data)
    return bytes(data)


def check_compression(method):
    if method not in COMPRESSIONS:
        raise exception.InvalidArgument(
            reason='compression must be one of %s, not %r' % (
                ', '.join(sorted(COMPRESSIONS)), method))
    return method


def encode(data, chunk_id, method, keys=None):
    """The stored bytes of a chunk (header + payload).  O(len(data))."""
    payload = _compress(data, method) if method != 'none' else data
    code = COMPRESSIONS[method]
    if len(payload) >= len(data):
        payload, code = data, 0
    flags = FLAG_ENCRYPTED if keys is not None else 0
    if keys is not None:
        # The payload grows by nonce + tag; its length goes in the header.
        size = len(payload) + 12 + 16
        header = HEADER.pack(MAGIC, VERSION, code, flags, len(data), size)
        payload = keys.encrypt(payload, header + chunk_id.encode())
    else:
        header = HEADER.pack(MAGIC, VERSION, code, flags, len(data),
                             len(payload))
    return header, payload


def decode(blob, chunk_id, keys=None):
    """Plaintext of a stored chunk; ValueError says what is wrong."""
    if len(blob) < HEADER.size:
        raise ValueError('truncated header (%d bytes)' % len(blob))
    magic, version, code, flags, length, size = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError('bad magic %r' % magic)
    if version != VERSION:
        raise ValueError('unknown chunk format version %d' % version)
    if code not in NAMES:
        raise ValueError('unknown compression %d' % code)
    payload = memoryview(blob)[HEADER.size:]
    if len(payload) != size:
        raise ValueError('payload is %d bytes, header says %d' % (
            len(payload), size))
    if flags & FLAG_ENCRYPTED:
        if keys is None:
            raise ValueError('chunk is encrypted and no key was given')
        payload = keys.decrypt(
            bytes(payload), bytes(blob[:HEADER.size]) + chunk_id.encode())
    elif keys is not None:
        raise ValueError('chunk is not encrypted in an encrypted repository')
    try:
        data = _decompress(payload, code, length)
    except (zlib.error, zstandard.ZstdError) as exc:
        raise ValueError('cannot decompress: %s' % exc)
    if len(data) != length:
        raise ValueError('plaintext is %d bytes, header says %d' % (
            len(data), length))
    return data
