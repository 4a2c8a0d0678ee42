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

"""Disk images for the archive tests: partition tables written with
sfdisk, filesystems made and filled through loop devices at each
partition's offset (so no partition support in the kernel is needed), and
random file trees described by what the archive must hold."""

import hashlib
import json
import os
import re
import struct
import subprocess
import tempfile

MiB = 1024 * 1024
MKFS = {
    'xfs': ['mkfs.xfs', '-q', '-f', '-m', 'reflink=1'],
    'ext4': ['mkfs.ext4', '-q', '-F'],
    'btrfs': ['mkfs.btrfs', '-q', '-f'],
}
# ACL xattr (system.posix_acl_access): version 2, then (tag, perm, id)
_ACL = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', *e) for e in (
    (0x01, 6, 0xffffffff), (0x02, 4, 4321), (0x04, 4, 0xffffffff),
    (0x10, 4, 0xffffffff), (0x20, 4, 0xffffffff)))


def run(*argv, **kwargs):
    proc = subprocess.run(list(argv), capture_output=True, text=True,
                          **kwargs)
    if proc.returncode:
        raise AssertionError('%s failed (%d): %s' % (
            ' '.join(argv), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def make_image(path, size_mib, label, parts):
    """``parts``: [(size MiB or None for the rest, type code or None)];
    returns [(number, offset, size)] in bytes, as sfdisk placed them."""
    with open(path, 'wb') as f:
        f.truncate(size_mib * MiB)
    if label is None:
        return [(None, 0, size_mib * MiB)]
    lines = ['label: %s' % label]
    for size, code in parts:
        line = ',%s' % ('%dM' % size if size else '')
        if code:
            line += ',%s' % code
        lines.append(line)
    subprocess.run(['sfdisk', '-q', path], input='\n'.join(lines) + '\n',
                   text=True, check=True, capture_output=True)
    table = json.loads(run('sfdisk', '--json', path))['partitiontable']
    return [(int(re.search(r'(\d+)$', p['node']).group(1)),
             p['start'] * 512, p['size'] * 512)
            for p in table['partitions']]


class Attached(object):
    """A writable loop device over [offset, offset+size) of an image."""

    def __init__(self, image, offset=0, size=None, read_only=False):
        self.argv = ['losetup', '--find', '--show', '--offset', str(offset)]
        if size:
            self.argv += ['--sizelimit', str(size)]
        if read_only:
            self.argv.append('--read-only')
        self.argv.append(image)
        self.read_only = read_only

    def __enter__(self):
        self.device = run(*self.argv).strip()
        if not self.read_only:
            # a BLKROSET left on this loop number by anyone outlives detach
            run('blockdev', '--setrw', self.device)
        return self.device

    def __exit__(self, *exc):
        subprocess.run(['losetup', '--detach', self.device], check=False)


class Mounted(object):
    def __init__(self, device, options=None):
        self.device = device
        self.options = options

    def __enter__(self):
        self.point = tempfile.mkdtemp(prefix='cinder-ext-archive-fill-')
        argv = ['mount', self.device, self.point]
        if self.options:
            argv[1:1] = ['-o', self.options]
        run(*argv)
        return self.point

    def __exit__(self, *exc):
        subprocess.run(['umount', self.point], check=True)
        os.rmdir(self.point)


def mkfs(device, fstype, extra=()):
    run(*(MKFS[fstype] + list(extra) + [device]))


def random_tree(root, rng, files=40, max_size=256 * 1024):
    """Fill ``root`` with a random tree; returns {./relative path:
    (kind, size, sha256 or link target)} of what the archive must hold,
    plus directories.  Includes a sparse file, a symlink, a file owned by
    uid 4242, a user xattr and an ACL."""
    expect = {}
    dirs = ['.']
    for i in range(files // 4):
        parent = rng.choice(dirs)
        name = os.path.normpath(os.path.join(parent, 'd%d-%x' % (
            i, rng.getrandbits(16))))
        os.mkdir(os.path.join(root, name))
        dirs.append(name)
        expect['./' + name] = ('dir', 0, None)
    for i in range(files):
        name = os.path.normpath(os.path.join(rng.choice(dirs), 'f%d-%x.bin'
                                             % (i, rng.getrandbits(24))))
        data = rng.randbytes(rng.randrange(max_size))
        with open(os.path.join(root, name), 'wb') as f:
            f.write(data)
        expect['./' + name] = ('file', len(data),
                               hashlib.sha256(data).hexdigest())
    sparse = os.path.join(root, 'sparse.img')
    with open(sparse, 'wb') as f:
        f.truncate(64 * MiB)
        f.seek(32 * MiB)
        chunk = rng.randbytes(8192)
        f.write(chunk)
    digest = hashlib.sha256()
    digest.update(bytes(32 * MiB))
    digest.update(chunk)
    digest.update(bytes(32 * MiB - 8192))
    expect['./sparse.img'] = ('file', 64 * MiB, digest.hexdigest())
    os.symlink('sparse.img', os.path.join(root, 'link'))
    expect['./link'] = ('symlink', 0, 'sparse.img')
    owned = os.path.join(root, 'owned')
    with open(owned, 'wb') as f:
        f.write(b'owned')
    os.chown(owned, 4242, 4343)
    os.setxattr(owned, 'user.archive_test', b'kept')
    os.setxattr(owned, 'system.posix_acl_access', _ACL)
    expect['./owned'] = ('file', 5, hashlib.sha256(b'owned').hexdigest())
    return expect


def excluded_content(root):
    """What the archive must leave out: lost+found (made where mkfs did
    not) and the test's --exclude directory ``skipme``."""
    lost = os.path.join(root, 'lost+found')
    if not os.path.isdir(lost):
        os.mkdir(lost)
    with open(os.path.join(lost, 'orphan'), 'wb') as f:
        f.write(b'orphan')
    os.mkdir(os.path.join(root, 'skipme'))
    with open(os.path.join(root, 'skipme', 'secret'), 'wb') as f:
        f.write(b'secret')
    return ['./lost+found', './skipme']


def fill_filesystem(image, offset, size, fstype, rng, extra_mkfs=()):
    """mkfs the region and fill it; returns the expected tree."""
    with Attached(image, offset, size) as device:
        mkfs(device, fstype, extra_mkfs)
        with Mounted(device) as point:
            expect = random_tree(point, rng)
            excluded_content(point)
    return expect
