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

"""Build the test guest from Debian packages: kernel + a tiny initramfs.

The kernel is the Debian archive's (``apt-get download`` of the package that
``linux-image-amd64`` depends on, unpacked with ``dpkg-deb -x``, ``depmod``
run on its modules); the initramfs holds busybox-static, the modules that
reach the host's root over 9p, and ``data/init``.  Everything the guest runs
after that is the host's own (lvm2, nfs-kernel-server, python3, the venv),
so those packages are installed on the host, with services kept from
starting there.  Artefacts are cached under ``config.CACHE`` by a hash of
their inputs; a changed kernel package, busybox or init script rebuilds.
"""

import gzip
import hashlib
import json
import lzma
import os
import shutil
import struct
import subprocess
import time

from tests.guest import config

BUILDER_VERSION = '2'
BUSYBOX = '/bin/busybox'
POLICY_RC_D = '/usr/sbin/policy-rc.d'


def _run(argv, **kwargs):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kwargs).stdout


def _missing_packages(packages):
    missing = []
    for pkg in packages:
        res = subprocess.run(['dpkg-query', '-W', '-f=${Status}', pkg],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        if 'ok installed' not in res.stdout:
            missing.append(pkg)
    return missing


def apt_update():
    _run(['apt-get', 'update', '-q'])


def ensure_host_packages(log=print):
    """Install what the guest runs from the host; no service starts here."""
    missing = _missing_packages(config.HOST_PACKAGES)
    if not missing:
        return []
    log('installing %s' % ' '.join(missing))
    # policy-rc.d exit 101 keeps invoke-rc.d from starting rpcbind, nfsd,
    # lvm2 monitoring... on the host (whose kernel has no dm or nfsd).
    made_policy = not os.path.exists(POLICY_RC_D)
    if made_policy:
        with open(POLICY_RC_D, 'w') as f:
            f.write('#!/bin/sh\nexit 101\n')
        os.chmod(POLICY_RC_D, 0o755)
    try:
        apt_update()
        _run(['apt-get', 'install', '-y', '-q', '--no-install-recommends']
             + missing, env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    finally:
        if made_policy:
            os.unlink(POLICY_RC_D)
    return missing


def _apt_lists_stamp():
    """Changes whenever ``apt-get update`` brings new package lists."""
    lists = '/var/lib/apt/lists'
    try:
        names = sorted(os.listdir(lists))
    except OSError:
        return None
    stamps = []
    for name in names:
        if 'Packages' in name or name.endswith('Release'):
            st = os.stat(os.path.join(lists, name))
            stamps.append('%s:%d:%d' % (name, st.st_size, st.st_mtime))
    return hashlib.sha256('\n'.join(stamps).encode()).hexdigest()[:16]


def kernel_package():
    """(name, version) of the kernel linux-image-amd64 depends on.

    apt-cache takes seconds here, so the answer is kept with the apt
    lists' stamp and asked again only when the lists change."""
    stamp = _apt_lists_stamp()
    memo = os.path.join(config.CACHE, 'kernel-package.json')
    try:
        with open(memo) as f:
            known = json.load(f)
        if stamp and known['stamp'] == stamp:
            return known['name'], known['version']
    except (OSError, ValueError, KeyError):
        pass
    for attempt in (1, 2):
        try:
            show = _run(['apt-cache', 'show', '--no-all-versions',
                         config.KERNEL_META])
            depends = next(line for line in show.splitlines()
                           if line.startswith('Depends:'))
            # "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)"
            name, _, version = depends.split(':', 1)[1].partition('(=')
            name, version = name.strip(), version.strip(' )')
            break
        except (subprocess.CalledProcessError, StopIteration):
            if attempt == 2:
                raise config.GuestError('no %s in the apt lists'
                                        % config.KERNEL_META)
            apt_update()
            stamp = _apt_lists_stamp()
    os.makedirs(config.CACHE, exist_ok=True)
    with open(memo + '.tmp', 'w') as f:
        json.dump({'stamp': stamp, 'name': name, 'version': version}, f)
    os.rename(memo + '.tmp', memo)
    return name, version


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def inputs():
    name, version = kernel_package()
    return {'builder': BUILDER_VERSION, 'kernel': name,
            'kernel_version': version,
            'busybox': _sha256(BUSYBOX),
            'init': _sha256(os.path.join(config.DATA, 'init')),
            'modules': config.INITRAMFS_MODULES}


def _input_hash(values):
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()
                          ).hexdigest()[:16]


def unpack_kernel(name, version, log=print):
    """The unpacked, depmod-ed kernel package: (tree, kernel release)."""
    tree = os.path.join(config.CACHE, 'kernel', '%s_%s' % (name, version))
    done = os.path.join(tree, '.done')
    if not os.path.exists(done):
        debs = os.path.join(config.CACHE, 'debs')
        os.makedirs(debs, exist_ok=True)
        deb = [f for f in os.listdir(debs)
               if f.startswith('%s_%s_' % (name, version.replace(':', '%3a')))]
        if not deb:
            log('downloading %s %s' % (name, version))
            _run(['apt-get', 'download', '%s=%s' % (name, version)],
                 cwd=debs)
            deb = [f for f in os.listdir(debs) if f.startswith(name + '_')
                   and version.split(':')[-1] in f]
        shutil.rmtree(tree, ignore_errors=True)
        os.makedirs(tree)
        _run(['dpkg-deb', '-x', os.path.join(debs, sorted(deb)[-1]), tree])
        release = os.listdir(os.path.join(tree, 'lib', 'modules'))[0]
        _run(['depmod', '-b', tree, release])
        with open(done, 'w') as f:
            f.write(release)
    with open(done) as f:
        return tree, f.read().strip()


def _has_pvh_note(elf):
    """Whether an ELF vmlinux has the PVH entry note qemu boots it by."""
    if elf[:4] != b'\x7fELF' or elf[4] != 2:    # 64-bit ELF only
        return False
    phoff, = struct.unpack_from('<Q', elf, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', elf, 0x36)
    for i in range(phnum):
        p_type, _f, p_offset, _v, _p, p_filesz = struct.unpack_from(
            '<IIQQQQ', elf, phoff + i * phentsize)
        pos, end = p_offset, p_offset + p_filesz
        while p_type == 4 and pos + 12 <= end:      # PT_NOTE
            namesz, descsz, n_type = struct.unpack_from('<III', elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b'\0')
            if name == b'Xen' and n_type == 18:   # XEN_ELFNOTE_PHYS32_ENTRY
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def _boot_image(bzimage, out):
    """The kernel qemu boots fastest: the vmlinux inside the bzImage when
    it has a PVH entry (TCG then skips the real-mode set-up and the xz
    decompression, ~3-8 s a boot), else the bzImage itself."""
    with open(bzimage, 'rb') as f:
        data = f.read()
    start = data.find(b'\xfd7zXZ\x00')
    if start >= 0:
        try:
            elf = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(
                data[start:])
        except lzma.LZMAError:
            elf = b''
        if _has_pvh_note(elf):
            path = os.path.join(out, 'vmlinux')
            with open(path, 'wb') as f:
                f.write(elf)
            return path
    path = os.path.join(out, 'vmlinuz')
    shutil.copy(bzimage, path)
    return path


def _find_modules(modules_dir, names):
    paths = {}
    for top, _dirs, files in os.walk(modules_dir):
        for f in files:
            if f.endswith('.ko') and f[:-3].replace('-', '_') in names:
                paths[f[:-3].replace('-', '_')] = os.path.join(top, f)
    with open(os.path.join(modules_dir, 'modules.builtin')) as f:
        builtin = {os.path.basename(line.strip())[:-3].replace('-', '_')
                   for line in f}
    missing = [n for n in names if n not in paths and n not in builtin]
    if missing:
        raise config.GuestError('kernel lacks modules %s' % missing)
    return [(n, paths[n]) for n in names if n in paths]


class _Cpio:
    """A newc cpio archive (what the kernel unpacks as an initramfs)."""

    def __init__(self, out):
        self.out = out
        self.ino = 0

    def add(self, name, mode, data=b'', rdev=(0, 0)):
        self.ino += 1
        encoded = name.encode() + b'\0'
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0],
                  rdev[1], len(encoded), 0]
        self.out.write(b'070701' + b''.join(b'%08X' % v for v in fields))
        self.out.write(encoded + b'\0' * ((-(110 + len(encoded))) % 4))
        self.out.write(data + b'\0' * ((-len(data)) % 4))

    def close(self):
        self.add('TRAILER!!!', 0)


def _write_initramfs(path, modules):
    with open(BUSYBOX, 'rb') as f:
        busybox = f.read()
    with open(os.path.join(config.DATA, 'init'), 'rb') as f:
        init = f.read()
    with gzip.open(path, 'wb', compresslevel=6) as out:
        cpio = _Cpio(out)
        for d in ('bin', 'dev', 'proc', 'sys', 'mod', 'lower', 'rw',
                  'newroot'):
            cpio.add(d, 0o40755)
        cpio.add('dev/console', 0o20600, rdev=(5, 1))
        cpio.add('bin/busybox', 0o100755, busybox)
        cpio.add('init', 0o100755, init)
        cpio.add('modules', 0o100644,
                 ''.join(n + '\n' for n, _p in modules).encode())
        for name, mod_path in modules:
            with open(mod_path, 'rb') as f:
                cpio.add('mod/%s.ko' % name, 0o100644, f.read())
        cpio.close()


def current():
    """The build of the current inputs, or None: dict of paths."""
    link = os.path.join(config.CACHE, 'build', 'current')
    info = os.path.join(link, 'info.json')
    if not os.path.exists(info):
        return None
    with open(info) as f:
        return json.load(f)


def build(force=False, log=print):
    """Build (or find in the cache) the guest; returns its info dict."""
    started = time.monotonic()
    ensure_host_packages(log)
    values = inputs()
    out = os.path.join(config.CACHE, 'build', _input_hash(values))
    info_path = os.path.join(out, 'info.json')
    if force or not os.path.exists(info_path):
        name, version = values['kernel'], values['kernel_version']
        tree, release = unpack_kernel(name, version, log)
        modules_dir = os.path.join(tree, 'lib', 'modules', release)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        kernel_image = _boot_image(
            os.path.join(tree, 'boot', 'vmlinuz-' + release), out)
        _write_initramfs(os.path.join(out, 'initrd.img'),
                         _find_modules(modules_dir,
                                       config.INITRAMFS_MODULES))
        info = dict(values, release=release, modules_dir=modules_dir,
                    kernel_image=kernel_image,
                    initrd=os.path.join(out, 'initrd.img'))
        with open(info_path + '.tmp', 'w') as f:
            json.dump(info, f, indent=1)
        os.rename(info_path + '.tmp', info_path)
        log('built %s in %.1f s' % (out, time.monotonic() - started))
    link = os.path.join(config.CACHE, 'build', 'current')
    if os.path.realpath(link) != out:
        tmp = link + '.tmp'
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.path.basename(out), tmp)
        os.rename(tmp, link)
    _prune(os.path.dirname(out), keep=os.path.basename(out))
    with open(info_path) as f:
        return json.load(f)


def _prune(builds, keep):
    """Drop builds of older inputs (a running qemu has read its files)."""
    for name in os.listdir(builds):
        if name not in (keep, 'current') and not name.endswith('.tmp'):
            shutil.rmtree(os.path.join(builds, name), ignore_errors=True)
