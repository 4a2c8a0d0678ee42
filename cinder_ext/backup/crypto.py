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

"""Keys of an encrypted repository: derivation, chunk ids, AES-256-GCM.

A master key comes from a key file (HKDF-SHA256 over its bytes) or a
passphrase (scrypt); the repository config stores the salt and a check
value, never the key.  From the master key HKDF derives one key to name
chunks (HMAC-SHA256 of the plaintext, so ids reveal nothing about the
data), one to encrypt them and one for the check value.
"""

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from cinder_ext.backup import exception

CIPHER = 'aes-256-gcm'
NONCE_SIZE = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1


def _hkdf(secret, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=info).derive(secret)


def new_params(kdf):
    """Encryption parameters for a new repository's config."""
    if kdf not in ('scrypt', 'hkdf'):
        raise exception.InvalidArgument(reason='unknown kdf %r' % kdf)
    params = {'cipher': CIPHER, 'kdf': kdf, 'salt': os.urandom(16).hex()}
    if kdf == 'scrypt':
        params.update(n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return params


def master_key(params, secret):
    """O(1) for hkdf; scrypt costs ~0.1 s and 32 MiB on purpose."""
    salt = bytes.fromhex(params['salt'])
    if params['kdf'] == 'scrypt':
        return Scrypt(salt=salt, length=32, n=params['n'], r=params['r'],
                      p=params['p']).derive(secret)
    return _hkdf(secret, salt, b'cinder-ext-backup master')


class Keys(object):
    """The keys of one repository, derived from its master key."""

    def __init__(self, master):
        self.id_key = _hkdf(master, None, b'cinder-ext-backup chunk-id')
        self._aead = AESGCM(_hkdf(master, None, b'cinder-ext-backup data'))
        self._check_key = _hkdf(master, None, b'cinder-ext-backup check')

    def check_value(self, repo_id):
        return hmac.new(self._check_key, repo_id.encode(),
                        hashlib.sha256).hexdigest()

    def chunk_id(self, data):
        return hmac.new(self.id_key, data, hashlib.sha256).hexdigest()

    def encrypt(self, data, associated):
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, bytes(data), associated)

    def decrypt(self, blob, associated):
        """Raises ValueError when the data or its header was altered."""
        try:
            return self._aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:],
                                      associated)
        except InvalidTag:
            raise ValueError('authentication tag mismatch')


def plain_chunk_id(data):
    return hashlib.sha256(data).hexdigest()
