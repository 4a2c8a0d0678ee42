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

"""File operations on a share, confined to the share's root directory.

Every function takes the share root and names relative to it, opens the root
once and works through ``dir_fd`` with ``O_NOFOLLOW``, so no name (``..``,
an absolute path, a symlink planted on the share) can reach outside the
share.  Half-made files carry a temporary name and are renamed into place
only when complete.

These functions run as root inside the privsep daemon
(``cinder_ext.privileged.fileops``) or, when the share is writable by the
service user, in the service itself.  Arguments and results are plain types
so that they cross the privsep channel.
"""

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import stat
import uuid

from cinder_ext import exception
from cinder_ext.storage import extents

TEMP_PREFIX = '.cinder_ext-tmp-'
PROBE_PREFIX = '.cinder_ext-probe-'
FILE_MODE = 0o660
_CHUNK = 4 * 1024 * 1024
_FICLONE = 0x40049409
_RENAME_NOREPLACE = 1
_F_SETLEASE, _F_RDLCK, _F_UNLCK = 1024, 0, 2
MAX_HEADER = 4096
_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# The one form of a half-made file's name: prefix, the lock key (a Cinder
# id) and a random suffix.  Anything else with the prefix is not ours.
_TEMP_NAME = re.compile('^%s(?P<key>%s)-[0-9a-f]{8}$' % (
    re.escape(TEMP_PREFIX), _UUID))
_CONTROL = re.compile('[\x00-\x1f\x7f]')
_NO_REFLINK = (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL,
               errno.ENOSYS, errno.EBADF)
_NO_FALLOCATE = (errno.EOPNOTSUPP, errno.ENOSYS)
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64]
_renameat2 = getattr(_libc, 'renameat2', None)
SOURCE_XATTR = 'user.cinder_ext.source'


def check_name(name):
    """Refuse a name that is not one plain component of the share root."""
    if (not isinstance(name, str) or not name or '/' in name
            or name in ('.', '..') or name.startswith('.')
            or _CONTROL.search(name)):
        raise exception.InvalidName(
            name=name, reason='must be a file name directly on the share, '
                              'not hidden, without "/" or control '
                              'characters')


def check_temp_name(name):
    """Refuse anything but a half-made file's name; returns its key."""
    key = temp_key(name)
    if key is None:
        raise exception.InvalidName(name=name,
                                    reason='not a temporary file name')
    return key


def _check_name_or_temp(name):
    if temp_key(name) is None:
        check_name(name)


@contextlib.contextmanager
def _share_dir(root):
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _parent(dirfd, path):
    """Yield (directory fd, leaf) for a relative path, never following a
    symlink or ``..`` on the way."""
    parts = path.split('/') if isinstance(path, str) else ['']
    if (not path or path.startswith('/') or _CONTROL.search(path)
            or any(p in ('', '.', '..') for p in parts)):
        raise exception.InvalidName(name=path,
                                    reason='must be a relative path below '
                                           'the share without "." or ".."')
    fds = []
    try:
        fd = dirfd
        for part in parts[:-1]:
            try:
                fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY |
                             os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                raise exception.NotFound(name=path, location='the share')
            except (NotADirectoryError, OSError) as exc:
                if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise exception.NotRegularFile(
                        name=path, location='the share',
                        reason='%s is not a plain directory' % part)
                raise
            fds.append(fd)
        yield fd, parts[-1]
    finally:
        for fd in fds:
            os.close(fd)


def _open(dirfd, name, flags):
    # O_NONBLOCK: a FIFO planted under a volume's name must not block a
    # privileged thread (it is refused as not regular right after).
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC |
                       os.O_NONBLOCK, dir_fd=dirfd)
    except FileNotFoundError:
        raise exception.NotFound(name=name, location='the share')
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise exception.NotRegularFile(
                name=name, location='the share', reason='it is a symlink')
        raise


def _require_regular(fd, name):
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise exception.NotRegularFile(
            name=name, location='the share',
            reason='file type %o' % stat.S_IFMT(st.st_mode))
    return st


def temp_name(key):
    """A name that marks a half-made file and says whose lock guards it."""
    return '%s%s-%s' % (TEMP_PREFIX, key, uuid.uuid4().hex[:8])


def temp_key(name):
    """The lock key embedded in a well-formed temporary name, or None."""
    match = _TEMP_NAME.match(name) if isinstance(name, str) else None
    return match.group('key') if match else None


def _rename_noreplace(dirfd, src, dst, dst_dirfd=None):
    dst_dirfd = dirfd if dst_dirfd is None else dst_dirfd
    if _renameat2 is not None:
        if _renameat2(dirfd, src.encode(), dst_dirfd, dst.encode(),
                      _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), dst)
    # Shares without RENAME_NOREPLACE (NFS): link refuses an existing
    # target atomically; the unlink then drops the old name.
    os.link(src, dst, src_dir_fd=dirfd, dst_dir_fd=dst_dirfd,
            follow_symlinks=False)
    os.unlink(src, dir_fd=dirfd)


def _fallocate(fd, offset, length):
    """Allocate a range; write zeroes where the share refuses fallocate."""
    if length <= 0:
        return 'none'
    if _libc.fallocate(fd, 0, offset, length) == 0:
        return 'fallocate'
    err = ctypes.get_errno()
    if err not in _NO_FALLOCATE:
        raise OSError(err, os.strerror(err))
    zeros = bytes(_CHUNK)
    end = offset + length
    while offset < end:  # O(size): only where fallocate is refused
        offset += os.pwrite(fd, zeros[:min(_CHUNK, end - offset)], offset)
    return 'zero-fill'


def _copy(src, dst, size, reflink):
    if reflink:
        try:
            fcntl.ioctl(dst, _FICLONE, src)
            return 'reflink'
        except OSError as exc:
            if exc.errno not in _NO_REFLINK:
                raise
    os.ftruncate(dst, size)
    for offset, length in extents.data_ranges(src, size):
        extents.copy_range(src, dst, offset, length)
    return 'copy'


@contextlib.contextmanager
def _new_file(dirfd, key, name, location, tmp=None):
    """Create a temporary file; remove it unless the body completes."""
    tmp = tmp or temp_name(key)
    fd = _open(dirfd, tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    try:
        os.fchmod(fd, FILE_MODE)
        yield fd, tmp
        os.fsync(fd)
    except BaseException as exc:
        os.close(fd)
        fd = None
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirfd)
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            raise exception.NoSpace(name=name, location=location)
        raise
    finally:
        if fd is not None:
            os.close(fd)


def _rename_into_place(dirfd, tmp, name, replace, location):
    try:
        if replace:
            os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        else:
            _rename_noreplace(dirfd, tmp, name)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirfd)
        if exc.errno == errno.EEXIST:
            raise exception.AlreadyExists(name=name, location=location)
        raise


def create(root, name, size, allocate, key):
    """Create ``name`` of ``size`` bytes: O(1) sparse, fallocate if thick."""
    check_name(name)
    with _share_dir(root) as dirfd:
        with _new_file(dirfd, key, name, root) as (fd, tmp):
            os.ftruncate(fd, size)  # O(1)
            method = _fallocate(fd, 0, size) if allocate else 'sparse'
        _rename_into_place(dirfd, tmp, name, False, root)
    return method


def _tag(fd, source):
    """Record which file a copy came from (lists snapshots' parents)."""
    try:
        os.setxattr(fd, SOURCE_XATTR, source.encode())
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES,
                             errno.EPERM):
            raise


def pin(root, src, key):
    """Hard-link ``src`` under a temporary name keyed ``key``: the inode
    then outlives a delete or revert of ``src``.  O(1)."""
    check_name(src)
    with _share_dir(root) as dirfd:
        fd = _open(dirfd, src, os.O_RDONLY | os.O_NONBLOCK)
        try:
            _require_regular(fd, src)
        finally:
            os.close(fd)
        tmp = temp_name(key)
        os.link(src, tmp, src_dir_fd=dirfd, dst_dir_fd=dirfd,
                follow_symlinks=False)
    return tmp


def clone(root, src, dst, size, allocate, key, reflink=True, replace=False,
          tag=None):
    """Copy ``src`` to ``dst`` and grow it to ``size``.

    O(extents) with reflink, otherwise O(allocated): holes are skipped.
    With ``replace`` the copy atomically takes the place of ``dst``, which
    must exist (a revert never brings back a deleted volume); with ``tag``
    it records that name as its origin.
    """
    _check_name_or_temp(src)
    check_name(dst)
    with _share_dir(root) as dirfd:
        if replace:
            dfd = _open(dirfd, dst, os.O_RDONLY)
            try:
                _require_regular(dfd, dst)
            finally:
                os.close(dfd)
        sfd = _open(dirfd, src, os.O_RDONLY)
        try:
            src_size = _require_regular(sfd, src).st_size
            if size < src_size:
                raise exception.StorageError(
                    operation='copy', name=src, location=root,
                    reason='target size %d is smaller than the source (%d)'
                           % (size, src_size))
            with _new_file(dirfd, key, dst, root) as (fd, tmp):
                method = _copy(sfd, fd, src_size, reflink)
                os.ftruncate(fd, size)
                if allocate:
                    _fallocate(fd, 0, size)
                if tag:
                    _tag(fd, tag)
        finally:
            os.close(sfd)
        _rename_into_place(dirfd, tmp, dst, replace, root)
    return method


def extend(root, name, size, allocate):
    """Grow ``name`` to ``size`` bytes; O(1), or O(new extents) if thick."""
    check_name(name)
    with _share_dir(root) as dirfd:
        fd = _open(dirfd, name, os.O_WRONLY)
        try:
            old = _require_regular(fd, name).st_size
            if size < old:
                raise exception.StorageError(
                    operation='extend', name=name, location=root,
                    reason='cannot shrink from %d to %d bytes' % (old, size))
            try:
                os.ftruncate(fd, size)
                if allocate:
                    _fallocate(fd, old, size - old)
            except OSError as exc:
                if exc.errno in FULL_ERRNOS:
                    os.ftruncate(fd, old)
                    raise exception.NoSpace(name=name, location=root)
                raise
        finally:
            os.close(fd)


def remove(root, name):
    """Unlink ``name``; False when it was already gone.  O(1)."""
    _check_name_or_temp(name)
    with _share_dir(root) as dirfd:
        try:
            st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(st.st_mode):
            raise exception.NotRegularFile(name=name, location=root,
                                           reason='refusing to remove it')
        try:
            os.unlink(name, dir_fd=dirfd)
        except FileNotFoundError:
            return False
    return True


def rename(root, src, dst):
    """Rename a regular file without ever replacing ``dst``.  Either name
    may lie in a subdirectory of the share (manage takes a file from one,
    and a failed manage puts it back).  O(1)."""
    with _share_dir(root) as dirfd, _parent(dirfd, src) as (srcdir, leaf), \
            _parent(dirfd, dst) as (dstdir, dst_leaf):
        check_name(dst_leaf)
        fd = _open(srcdir, leaf, os.O_RDONLY)
        try:
            _require_regular(fd, src)
        finally:
            os.close(fd)
        try:
            _rename_noreplace(srcdir, leaf, dst_leaf, dstdir)
        except FileNotFoundError:
            raise exception.NotFound(name=src, location=root)
        except FileExistsError:
            raise exception.AlreadyExists(name=dst, location=root)


def _entry(name, st, source=None):
    return {'name': name, 'size': st.st_size, 'allocated': st.st_blocks * 512,
            'nlink': st.st_nlink, 'regular': stat.S_ISREG(st.st_mode),
            'symlink': stat.S_ISLNK(st.st_mode), 'mtime': st.st_mtime,
            'source': source}


def lookup(root, path):
    """The entry of ``path`` (not following symlinks), or None."""
    with _share_dir(root) as dirfd, _parent(dirfd, path) as (pfd, leaf):
        try:
            return _entry(path, os.stat(leaf, dir_fd=pfd,
                                        follow_symlinks=False))
        except FileNotFoundError:
            return None


def scan(root):
    """Entries of every file in the share root: O(files), no data read."""
    entries = []
    with os.scandir(root) as it:
        for dirent in it:
            try:
                st = dirent.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                try:
                    source = os.getxattr(dirent.path, SOURCE_XATTR,
                                         follow_symlinks=False).decode()
                except OSError:
                    source = None
                entries.append(_entry(dirent.name, st, source))
            elif not stat.S_ISDIR(st.st_mode):
                entries.append(_entry(dirent.name, st))
    return entries


def _open_for_writing_elsewhere(fd):
    """Whether another open file description writes to this file: a read
    lease is refused then.  None where the filesystem has no leases (NFS).
    """
    try:
        fcntl.fcntl(fd, _F_SETLEASE, _F_RDLCK)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EBUSY):
            return True
        return None
    fcntl.fcntl(fd, _F_SETLEASE, _F_UNLCK)
    return False


def inspect(root, path, length=512):
    """The first bytes of a regular file (for format detection) and
    whether it is open for writing elsewhere: O(1), never follows links."""
    length = min(int(length), MAX_HEADER)
    with _share_dir(root) as dirfd, _parent(dirfd, path) as (pfd, leaf):
        fd = _open(pfd, leaf, os.O_RDONLY)
        try:
            _require_regular(fd, path)
            return {'header': os.pread(fd, length, 0),
                    'writers': _open_for_writing_elsewhere(fd)}
        finally:
            os.close(fd)


def open_regular(root, name, writable):
    """An fd of the regular file ``name``, opened without following a
    symlink: whoever holds it reads or writes that file and nothing a
    later swap of the name points to."""
    check_name(name)
    with _share_dir(root) as dirfd:
        fd = _open(dirfd, name, os.O_RDWR if writable else os.O_RDONLY)
        try:
            _require_regular(fd, name)
        except BaseException:
            os.close(fd)
            raise
        os.set_blocking(fd, True)
        return fd


def capacity(root):
    """Total and available bytes of the filesystem holding ``root``."""
    st = os.statvfs(root)
    return {'total': st.f_blocks * st.f_frsize,
            'free': st.f_bavail * st.f_frsize}


def _probe_file(dirfd, root):
    """A scratch file that no start-up sweep mistakes for a half-made
    volume: another service may be probing the same share right now."""
    return _new_file(dirfd, None, 'probe', root,
                     tmp=PROBE_PREFIX + uuid.uuid4().hex[:12])


def _unlink_quietly(dirfd, name):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dirfd)


def write_probe(root):
    """Check that ``root`` accepts a new file; True when it does."""
    with _share_dir(root) as dirfd:
        with _probe_file(dirfd, root) as (fd, tmp):
            pass
        _unlink_quietly(dirfd, tmp)
    return True


def supports_reflink(root):
    """Whether the share clones files by reference (one small probe)."""
    with _share_dir(root) as dirfd:
        with _probe_file(dirfd, root) as (src, stmp):
            os.pwrite(src, b'x', 0)
            with _probe_file(dirfd, root) as (dst, dtmp):
                try:
                    fcntl.ioctl(dst, _FICLONE, src)
                    result = True
                except OSError as exc:
                    if exc.errno not in _NO_REFLINK:
                        raise
                    result = False
            _unlink_quietly(dirfd, dtmp)
        _unlink_quietly(dirfd, stmp)
    return result
