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

"""One tar per filesystem, SHA256SUMS, a manifest: into a temporary
directory that becomes ``<out>/<volume id>/<UTC timestamp>`` only when
everything in it is complete and durable.

GNU tar, POSIX (pax) format: extended attributes (all namespaces), POSIX
ACLs, numeric owners (the tenant's ids mean nothing here), holes kept
(``--sparse``, found with SEEK_HOLE).  ``lost+found`` at the top and the
user's ``--exclude`` paths (relative to the filesystem's root, globs
allowed) are left out.

Costs: tar reads every archived file's data, O(files' data); the sha256 of
each archive reads it back once, O(archive); SHA256SUMS and the manifest
are O(filesystems); one syncfs and two renames make it durable.
"""

import errno
import hashlib
import json
import os
import shutil
import time

from cinder_ext.backup.archive import commands
from cinder_ext.backup import atomic
from cinder_ext.backup import exception

SUMS = 'SHA256SUMS'
MANIFEST = 'manifest.json'
_READ = 4 * 1024 * 1024
# free bytes under which a failed write is taken for a full output
FULL_BELOW = 1024 * 1024


def exclude_pattern(path):
    """``/var/tmp`` or ``var/tmp`` -> ``./var/tmp`` (tar's member names
    start with ./; matched anchored)."""
    parts = [p for p in path.strip().split('/') if p not in ('', '.')]
    if not parts or '..' in parts:
        raise exception.InvalidArgument(
            reason='--exclude %r: give a path inside the filesystem' % path)
    return './' + '/'.join(parts)


def tar_argv(archive, directory, excludes=()):
    argv = ['tar', '--create', '--file', archive, '--directory', directory,
            '--format=posix', '--numeric-owner', '--xattrs',
            '--xattrs-include=*', '--acls', '--sparse', '--anchored',
            '--exclude=./lost+found']
    argv += ['--exclude=' + exclude_pattern(e) for e in excludes]
    return argv + ['.']


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(_READ), b''):
            digest.update(block)
    return digest.hexdigest()


def sums_text(entries):
    """sha256sum's format: ``<hex>  <name>``, one line each."""
    return ''.join('%s  %s\n' % (digest, name) for name, digest in entries)


class OutputDir(object):
    """``<root>/<volume id>/.tmp-<uuid>`` until ``commit``; removed with
    all it holds on failure."""

    def __init__(self, root, volume_id):
        if (not volume_id or '/' in volume_id or volume_id.startswith('.')
                or volume_id in ('.', '..')):
            raise exception.InvalidArgument(
                reason='volume id %r cannot name a directory' % volume_id)
        self.parent = os.path.join(root, volume_id)
        self.path = None
        self.final = None

    def __enter__(self):
        try:
            os.makedirs(self.parent, exist_ok=True)
            self.path = atomic.temp_path(self.parent)
            os.mkdir(self.path, 0o750)
        except OSError as exc:
            raise exception.ArchiveOutputFailed(
                name='a directory', path=self.parent, reason=exc.strerror)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.final is None and self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            if os.path.exists(self.path):
                raise exception.ArchiveCleanupFailed(
                    source=self.parent, what=self.path,
                    reason='it cannot be removed')

    def _failed(self, name, exc):
        reason = exc.strerror or str(exc)
        if exc.errno in atomic.FULL_ERRNOS:
            reason = 'the output is full (%s)' % reason
        return exception.ArchiveOutputFailed(name=name, path=self.path,
                                             reason=reason)

    def write_tar(self, name, directory, excludes, source, where):
        """tar ``directory`` into ``name``; returns (bytes, sha256)."""
        temp = atomic.temp_path(self.path)
        try:
            try:
                commands.run(tar_argv(temp, directory, excludes),
                             exception.TarFailed, source=source, where=where)
            except exception.TarFailed as exc:
                # tar reports a full disk as a short write; say it plainly
                if self._full():
                    raise exception.ArchiveOutputFailed(
                        name=name, path=self.path, reason='the output is '
                        'full (%s)' % exc.kwargs['reason'])
                raise
            os.chmod(temp, 0o640)  # the tenant's files: not for everyone
            digest = sha256(temp)
            size = os.path.getsize(temp)
            os.rename(temp, os.path.join(self.path, name))
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
        return size, digest

    def _full(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize < FULL_BELOW

    def write_file(self, name, text):
        try:
            atomic.write_file(os.path.join(self.path, name), [text.encode()],
                              sync_dir=False)
        except OSError as exc:
            raise self._failed(name, exc)
        return sha256(os.path.join(self.path, name))

    def commit(self, stamp):
        """Durable, then renamed to ``<volume id>/<stamp>``: O(1)."""
        final = os.path.join(self.parent, stamp)
        try:
            atomic.syncfs(self.path)
            if os.path.exists(final):
                raise OSError(errno.EEXIST, 'it exists already')
            os.rename(self.path, final)
            atomic.fsync_dir(self.parent)
        except OSError as exc:
            raise self._failed(stamp, exc)
        self.final = final
        return final


def write_all(out, entries, manifest):
    """The manifest, then SHA256SUMS over the tars and the manifest."""
    digest = out.write_file(MANIFEST, json.dumps(manifest, indent=2,
                                                 sort_keys=True) + '\n')
    out.write_file(SUMS, sums_text(list(entries) + [(MANIFEST, digest)]))


def utc_stamp(seconds=None):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(seconds))
