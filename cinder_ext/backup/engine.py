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

"""The backup engine: the one entry point the front ends use.

A Cinder backup driver maps onto it directly::

    backup(backup, volume_file)       -> engine.backup(volume_file, ...)
    restore(backup, vol_id, vol_file) -> engine.restore(backup.id, vol_file)
    delete_backup(backup)             -> engine.delete(backup.id)
    export_record / import_record     -> engine.export_record / import_record

Sources and targets are paths, fds or file objects.
"""

import contextlib
import logging
import os
import stat
import uuid

from cinder_ext.backup import chain
from cinder_ext.backup import exception
from cinder_ext.backup import repository
from cinder_ext.backup import restore as restore_mod
from cinder_ext.backup import retention
from cinder_ext.backup import snapshot
from cinder_ext.backup import sources
from cinder_ext.backup import thin
from cinder_ext.backup import thinbase
from cinder_ext.backup import verify as verify_mod
from cinder_ext.backup import writer

LOG = logging.getLogger(__name__)


class BackupEngine(object):

    def __init__(self, repo, workers=None, lock_timeout=None, progress=None):
        self.repo = repo
        self.workers = workers
        self.lock_timeout = lock_timeout
        self.progress = progress

    @classmethod
    def open(cls, location, secret=None, lock_url=None, **kwargs):
        """``location``: a directory or a swift:// URL; ``lock_url``: a
        tooz URL for the lock (needed for Swift)."""
        return cls(repository.Repository.open(location, secret, lock_url),
                   **kwargs)

    # -- backup ---------------------------------------------------------
    def _parent(self, volume_id, incremental, parent_id):
        if parent_id is not None:
            return self.repo.read_manifest(parent_id)
        if not incremental:
            return None
        parent = chain.latest(self.repo.manifests(), volume_id)
        if parent is None:
            raise exception.ParentNotFound(
                volume_id=volume_id, reason='it has no backup yet')
        return parent

    def backup(self, source, volume_id, backup_id=None, incremental=False,
               parent_id=None, base_name=None, name='', description='',
               metadata=None, guard=None, require_copy=False):
        """Back up ``source``; returns the manifest.

        With ``base_name`` (a path source on a reflink filesystem) the
        source is first reflinked to a snapshot next to it, the snapshot is
        read, and it becomes the base of the next incremental.  A thin LV
        (``/dev/<vg>/<lv>``) is read from a thin snapshot, only where it is
        mapped; with ``base_name`` the snapshot is kept as the LV
        ``<vg>/<base_name>`` for the next incremental (``thin_delta``).

        ``guard()`` (a context manager, e.g. the volume driver's lock on
        the object) is held while the point-in-time copy is taken and the
        source opened, not while it is read.  With ``require_copy`` a
        source that cannot be copied in an instant is refused, not read
        live.
        """
        if backup_id is not None:
            repository.check_backup_id(backup_id)
        guard = guard or contextlib.nullcontext
        thin_lv = thin.lookup(source)
        if thin_lv is not None:
            return self._backup_thin(
                thin_lv, source, volume_id, backup_id or str(uuid.uuid4()),
                incremental, parent_id, base_name, name, description,
                metadata, guard)
        base = snap = None
        read_from = source
        with guard():
            if base_name is not None:
                base, snap = self._reflink(source, base_name)
                read_from = snap or source
            if require_copy and snap is None:
                raise exception.InvalidArgument(
                    reason='%s cannot be copied in an instant here (no '
                    'reflink, not a thin LV): back up a Cinder snapshot of '
                    'it instead'
                    % source)
            try:
                src = sources.open_source(read_from)
            except BaseException:
                if snap is not None:
                    snapshot.discard(snap)
                raise
        try:
            with self.repo.shared(self.lock_timeout), src:
                src.name = source if isinstance(source, str) else src.name
                parent = self._parent(volume_id, incremental, parent_id)
                only, method = self._fiemap_changes(src, parent, base, snap)
                run = writer.BackupRun(self.repo, src, self.progress,
                                       self.workers)
                manifest = run.run(volume_id, backup_id, parent, only,
                                   name, description, metadata, method)
                if snap is not None:
                    manifest['base'] = base
                self.repo.write_manifest(manifest)
        except BaseException:
            self.repo.discard_pending()
            if snap is not None:
                snapshot.discard(snap)
            raise
        if snap is not None and not snapshot.promote(
                snap, base, manifest['backup_id']):
            LOG.warning('%s keeps no xattrs: no base kept', base)
        return manifest

    @staticmethod
    def _reflink(source, base_name):
        """(base path, snapshot path or None where no reflink)."""
        if not isinstance(source, str):
            raise exception.InvalidArgument(
                reason='a snapshot base needs a source path')
        base, snap = snapshot.base_paths(source, base_name)
        try:
            if not stat.S_ISREG(os.stat(source).st_mode):
                return base, None  # a device: nothing to reflink
            taken = snapshot.take(source, snap)
        except OSError as exc:
            raise exception.SourceError(source=source, reason=exc.strerror)
        if not taken:
            LOG.warning('%s cannot be reflinked: reading it live, no base '
                        'kept', source)
        return base, snap if taken else None

    def _backup_thin(self, origin, source, volume_id, backup_id,
                     incremental, parent_id, base_name, name, description,
                     metadata, guard):
        """Cost: O(1) snapshot, O(mappings) metadata reads, O(mapped)
        reads for a full, O(changed) for an incremental over the base."""
        with thinbase.ThinRun(origin, base_name, backup_id) as run:
            with guard():
                run.take()
            try:
                with self.repo.shared(self.lock_timeout):
                    parent = self._parent(volume_id, incremental, parent_id)
                    mapped, only, method = run.plan(parent,
                                                    self.repo.chunk_size)
                    with sources.open_source(run.device, source,
                                             mapped) as src:
                        manifest = writer.BackupRun(
                            self.repo, src, self.progress, self.workers).run(
                                volume_id, backup_id, parent, only, name,
                                description, metadata, method)
                    manifest['thin_base'] = run.base_ref
                    self.repo.write_manifest(manifest)
                    # under the shared lock: delete cannot race the rename
                    run.finish()
            except BaseException:
                self.repo.discard_pending()
                raise
        return manifest

    def _fiemap_changes(self, src, parent, base, snap):
        if parent is None:
            return None, 'full'
        if snap is None or snapshot.backup_id_of(base) != \
                parent['backup_id']:
            return None, 'hash'
        new = src.extents()
        with sources.open_source(base) as old_src:
            old = old_src.extents()
        if new is None or old is None:
            return None, 'hash'
        return writer.fiemap_changes(new, old, src.size, parent['size'],
                                     self.repo.chunk_size), 'fiemap'

    # -- restore, verify ------------------------------------------------
    def restore(self, backup_id, target, create=True):
        with self.repo.shared(self.lock_timeout):
            return restore_mod.restore(self.repo, backup_id, target,
                                       self.workers, self.progress, create)

    def verify(self, backup_ids=None, deep=False, compare=None):
        with self.repo.shared(self.lock_timeout):
            return verify_mod.verify(self.repo, backup_ids, deep, compare,
                                     self.workers)

    # -- listing, records ------------------------------------------------
    def list(self, volume_id=None):
        manifests = self.repo.manifests()
        if volume_id is not None:
            manifests = [m for m in manifests if m['volume_id'] == volume_id]
        return sorted(manifests, key=lambda m: m['created_at'])

    def show(self, backup_id):
        return self.repo.read_manifest(backup_id)

    def export_record(self, backup_id):
        """The manifest, enough to import it into another repository that
        holds (or will get) the same chunks."""
        return self.repo.read_manifest(backup_id)

    def import_record(self, manifest):
        with self.repo.shared(self.lock_timeout):
            manifest = dict(manifest)
            manifest.pop('mac', None)
            repository.check_backup_id(manifest.get('backup_id'))
            if manifest.get('chunk_size') != self.repo.chunk_size:
                raise exception.InvalidArgument(
                    reason='record has another chunk size')
            self.repo.write_manifest(manifest)

    # -- removal ----------------------------------------------------------
    def delete(self, backup_id):
        """Delete one backup that no incremental needs, and its base."""
        with self.repo.exclusive(self.lock_timeout):
            manifest = self.repo.read_manifest(backup_id)
            children = chain.dependents(self.repo.manifests()).get(backup_id)
            if children:
                raise exception.HasDependents(
                    backup_id=backup_id, dependents=', '.join(children))
            self.repo.delete_manifest(backup_id)
            snapshot.remove_base(manifest.get('base'), backup_id)
            thinbase.remove_base_quietly(manifest)
            return manifest

    def prune(self, dry_run=False, volume_id=None, **keep):
        with self.repo.exclusive(self.lock_timeout):
            return retention.prune(self.repo, dry_run, volume_id, **keep)

    def gc(self, grace=retention.DEFAULT_GRACE, dry_run=False):
        with self.repo.exclusive(self.lock_timeout):
            return retention.gc(self.repo, grace, dry_run)
