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

"""The thin snapshot a backup of a thin LV reads, and the base it keeps.

A backup of a thin LV first takes a thin snapshot ``_backup-new-<lv>``
(O(1), one instant: the backup is consistent), tagged with the backup id,
and reads that.  With a base name the snapshot then replaces the base LV
``<vg>/<base name>`` (after the manifest is safe), so that the next
incremental asks ``thin_delta`` what changed between the base and its own
snapshot; without one it is removed.  A failed run removes its snapshot.
The run holds a lock per origin LV (a second backup of it waits), and the
base's lock while it replaces or removes it.
"""

import logging

from cinder_ext.backup import exception
from cinder_ext.backup import thin
from cinder_ext.storage import lvmcmd

LOG = logging.getLogger(__name__)
TEMP_PREFIX = '_backup-new-'
TAG_PREFIX = 'cinder_ext_backup.'
# Names of the volume driver and of LVM-reserved use: a base never takes
# one of them.
_FOREIGN_PREFIXES = ('volume-', '_snapshot-', lvmcmd.TEMP_PREFIX,
                     lvmcmd.ASIDE_PREFIX, TEMP_PREFIX)


def check_base_name(vg, name):
    thin.check_names(vg, name)
    if name.startswith(_FOREIGN_PREFIXES):
        raise exception.InvalidArgument(
            reason='a thin snapshot base may not be named %s...: that '
            'prefix belongs to volumes or snapshots' % name.split('-')[0])
    return name


def backup_id_of(lv):
    """The backup whose state the LV holds (its tag), or None."""
    for tag in lv.tags if lv is not None else ():
        if tag.startswith(TAG_PREFIX):
            return tag[len(TAG_PREFIX):]
    return None


def _lock_name(vg, name):
    return 'lv-' + lvmcmd.dm_name(vg, name)


def remove_base(ref, backup_id):
    """Remove the base ``vg/name`` if it holds ``backup_id``'s state."""
    if not ref:
        return False
    vg, name = thin.check_names(*ref.split('/', 1))
    with thin.file_lock(_lock_name(vg, name)):
        if backup_id_of(thin.report(vg).get(name)) != backup_id:
            return False
        thin._run(lvmcmd.remove(vg, name), ref)
    return True


def remove_base_quietly(manifest):
    """After a backup is deleted (delete, prune): its thin base goes too;
    a failure only warns, the backup is gone already."""
    try:
        return remove_base(manifest.get('thin_base'), manifest['backup_id'])
    except exception.BackupError as exc:
        LOG.warning('backup %s deleted, its base %s not: %s',
                    manifest['backup_id'], manifest.get('thin_base'), exc)
        return False


class ThinRun(object):
    """One backup's snapshot of ``origin`` (a ThinLv)."""

    def __init__(self, origin, base_name, backup_id):
        self.origin = origin
        self.vg = origin.vg
        self.base_name = base_name and check_base_name(self.vg, base_name)
        self.temp = thin.check_names(self.vg, TEMP_PREFIX + origin.name)[1]
        self.backup_id = backup_id
        self.device = lvmcmd.device(self.vg, self.temp)
        self._lock = None

    @property
    def base_ref(self):
        return self.base_name and '%s/%s' % (self.vg, self.base_name)

    def __enter__(self):
        self._lock = thin.file_lock(_lock_name(self.vg, self.origin.name))
        self._lock.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.discard()
        finally:
            self._lock.__exit__(None, None, None)

    def _lvm(self, argv):
        return thin._run(argv, '%s/%s' % (self.vg, self.origin.name))

    def take(self):
        """Snapshot the origin, active (``-ay -K``): O(1)."""
        if self.temp in thin.report(self.vg):
            LOG.warning('removing %s/%s left by a killed backup', self.vg,
                        self.temp)
            self._lvm(lvmcmd.remove(self.vg, self.temp))
        argv = lvmcmd.snapshot_thin(self.vg, self.origin.name, self.temp,
                                    active=True)
        argv[-1:-1] = ['--addtag', TAG_PREFIX + self.backup_id]
        self._lvm(argv)

    def plan(self, parent, chunk_size):
        """(mapped ranges, chunk indices to look at or None, method)."""
        lvs = thin.report(self.vg)
        snap = lvs.get(self.temp)
        if snap is None or snap.thin_id is None:
            raise exception.SourceError(source=self.device,
                                        reason='the snapshot vanished')
        base = lvs.get(self.base_name) if self.base_name else None
        if parent is not None and base is not None and \
                base.thin_id is not None and base.pool == snap.pool and \
                backup_id_of(base) == parent['backup_id']:
            mapped, changed = thin.mapped_and_changed(snap, base)
            return mapped, thin.changed_chunks(
                changed, snap.size, parent['size'], chunk_size), 'thin_delta'
        if parent is not None and self.base_name:
            LOG.warning('base %s holds no state of backup %s: comparing '
                        'hashes of the mapped data', self.base_ref,
                        parent['backup_id'])
        return thin.mapped_ranges(snap), None, 'hash' if parent else 'full'

    def finish(self):
        """The manifest is safe: the snapshot becomes the base (O(1)
        renames) or goes."""
        if not self.base_name:
            self._lvm(lvmcmd.remove(self.vg, self.temp))
            return
        with thin.file_lock(_lock_name(self.vg, self.base_name)):
            if self.base_name in thin.report(self.vg):
                self._lvm(lvmcmd.remove(self.vg, self.base_name))
            self._lvm(lvmcmd.rename(self.vg, self.temp, self.base_name))

    def discard(self):
        try:
            if self.temp in thin.report(self.vg):
                self._lvm(lvmcmd.remove(self.vg, self.temp))
        except exception.BackupError as exc:
            LOG.error('cannot remove snapshot %s: %s', self.device, exc)
