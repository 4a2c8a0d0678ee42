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

"""Run IN the guest (venv python): the store's file operations over NFS.

Mounts ``127.0.0.1:/export`` through cinder_ext.storage.shares.Shares (so
through os-brick's RemoteFsClient, as the driver does) once per NFS version
given, then exercises the FileStore: thick create (fallocate or its
zero-fill fallback), copy (reflink / copy_file_range or the plain copy),
and reports per version as one JSON object on stdout; the shared extents
are read on the server's XFS (/export), where FIEMAP works.  One process
for all versions: importing os-brick costs seconds under TCG.
"""

import hashlib
import json
import os
import sys
import time

from oslo_concurrency import processutils

from cinder_ext.storage import extents
from cinder_ext.storage import fileio
from cinder_ext.storage import shares as shares_mod

SPEC = '127.0.0.1:/export'
SERVER_DIR = '/export'
MiB = 1024 ** 2


def shared_bytes(path):
    with open(path, 'rb') as f:
        return sum(length for _o, length, flags in extents.extents(f.fileno())
                   if flags & extents.FIEMAP_EXTENT_SHARED)


def digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def probe(version, size):
    tag = version.replace('.', '')
    shares = shares_mod.Shares([SPEC], fileio, '/run/ceg-nfs-%s' % tag,
                               mount_options='vers=%s' % version,
                               root_helper='unused',
                               execute=processutils.execute)
    store = shares.store(SPEC)
    root = shares.mount_point(SPEC)
    with open('/proc/mounts') as f:
        mount = next(line.split()[2:4] for line in f
                     if line.split()[1] == root)
    result = {'mount_type': mount[0],
              'mount_vers': [o for o in mount[1].split(',')
                             if o.startswith('vers=')][0],
              'reflink': store.reflink}
    names = ['ceg-%s-%s' % (tag, n) for n in ('thick', 'src', 'auto', 'copy')]
    thick, src, auto, copy = names
    started = time.monotonic()
    result['create_thick'] = store.create(thick, size, True, 'k1')
    result['create_thick_s'] = round(time.monotonic() - started, 3)
    st = os.stat(os.path.join(SERVER_DIR, thick))
    result['thick_allocated'] = st.st_blocks * 512 >= size
    store.create(src, size, False, 'k2')
    with open(os.path.join(root, src), 'r+b') as f:
        f.write(os.urandom(MiB))
        f.seek(size - MiB)
        f.write(os.urandom(MiB))
    result['copy_auto'] = store.copy(src, auto, size, False, 'k3')
    plain = shares_mod.Shares([SPEC], fileio, '/run/ceg-nfs-%s' % tag,
                              mount_options='vers=%s' % version,
                              root_helper='unused',
                              execute=processutils.execute,
                              copy_method='copy').store(SPEC)
    result['copy_plain'] = plain.copy(src, copy, size, False, 'k4')
    result['same_data'] = (digest(os.path.join(root, src))
                           == digest(os.path.join(root, auto))
                           == digest(os.path.join(root, copy)))
    result['shared_auto'] = shared_bytes(os.path.join(SERVER_DIR, auto))
    result['shared_plain'] = shared_bytes(os.path.join(SERVER_DIR, copy))
    for name in names:
        store.remove(name)
    processutils.execute('umount', root)
    return result


def main(versions, size=16 * MiB):
    report = {}
    for version in versions:
        try:
            report[version] = probe(version, size)
        except Exception as exc:
            report[version] = {'error': '%s: %s' % (type(exc).__name__, exc)}
    json.dump(report, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1:] or ['4.2', '3'])
