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

"""One volume's archive, from snapshot to cleanup.

Steps and costs: point-in-time copy (O(extents) reflink or O(1) thin
snapshot); read-only mapping (O(1)); probing (O(partitions) superblock
reads); per filesystem: mount (O(1) with the journal left alone), tar
(O(files' data)), sha256 read-back (O(archive)), umount; manifest and
SHA256SUMS (O(filesystems)); syncfs and rename into place (O(1)).

Everything is entered on one ExitStack, so whatever step fails, each
mount is undone, the mount directories removed, the partitions and loop
device (or kpartx maps) released, the snapshot removed and the half-made
output directory deleted, in that order.  A filesystem is mounted only
while its tar runs.
"""

import contextlib
import logging
import os
import time

from cinder_ext.backup.archive import mapping
from cinder_ext.backup.archive import mounting
from cinder_ext.backup.archive import pit
from cinder_ext.backup.archive import probe
from cinder_ext.backup.archive import tarball

LOG = logging.getLogger(__name__)
FORMAT = 'cinder-ext-archive/1'


def archive(path, out_root, volume_id, source=None, excludes=(),
            skip_unknown=False, take_snapshot=True, guard=None,
            workdir=None):
    """Archive every filesystem in ``path`` (a file or block device) into
    ``<out_root>/<volume_id>/<UTC timestamp>/``; returns the manifest
    (with ``path``, where it is).  ``take_snapshot`` False reads ``path``
    as it is: a snapshot already, or a volume nothing uses."""
    source = source or path
    guard = guard or contextlib.nullcontext
    excludes = list(excludes)
    for pattern in excludes:
        tarball.exclude_pattern(pattern)  # refused before any work
    out = tarball.OutputDir(out_root, volume_id)
    started = time.time()
    with contextlib.ExitStack() as stack:
        copy = stack.enter_context(pit.point_in_time(path, source, guard,
                                                     take_snapshot))
        if copy['kind'] == 'as-is':
            with guard():  # the object cannot go while it is mapped
                mapped = stack.enter_context(
                    mapping.open_mapping(copy['path'], source))
        else:
            mapped = stack.enter_context(mapping.open_mapping(
                copy['path'], source, own_snapshot=copy['kind'] == 'thin'))
        label, targets, skipped = probe.inventory(mapped, source,
                                                  skip_unknown)
        stack.enter_context(out)
        mounts = stack.enter_context(mounting.private_dir(workdir))
        entries, archived = [], []
        for target in targets:
            archived.append(_archive_one(out, target, mounts, excludes,
                                         source))
            entries.append((archived[-1]['archive'],
                            archived[-1]['sha256']))
        manifest = {
            'format': FORMAT, 'volume_id': volume_id, 'source': source,
            'snapshot': {'kind': copy['kind'], 'name': copy['snapshot']},
            'created_at': time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                        time.gmtime(started)),
            'partition_table': label, 'filesystems': archived,
            'skipped': [dict(s._asdict()) for s in skipped],
            'excludes': excludes, 'kernel': os.uname().release,
            'seconds': round(time.time() - started, 3)}
        tarball.write_all(out, entries, manifest)
        manifest['path'] = out.commit(tarball.utc_stamp(started))
    return manifest


def _archive_one(out, target, mounts, excludes, source):
    began = time.monotonic()
    name = '%s-%s.tar' % (target.name, target.fstype)
    with mounting.mounted(target, source, mounts) as (point, options):
        size, digest = out.write_tar(name, point, excludes, source,
                                     mounting.where(target))
    LOG.debug('%s: %s (%d bytes) in %.1f s', source, name, size,
              time.monotonic() - began)
    return {'name': target.name, 'number': target.number,
            'fstype': target.fstype, 'uuid': target.uuid,
            'label': target.label, 'start': target.start,
            'size': target.size, 'mount_options': options,
            'archive': name, 'bytes': size, 'sha256': digest,
            'seconds': round(time.monotonic() - began, 3)}


def archive_cinder(config_file, backend, out_root, volume_id=None,
                   snapshot_id=None, archive_as=None, **kwargs):
    """Archive a Cinder volume (from a point-in-time copy taken under the
    driver's lock) or snapshot (read as it is); the coordinator of
    ``config_file`` must be started (cinder_source.coordinator)."""
    from cinder_ext.backup import cinder_source
    found = cinder_source.locate(config_file, backend, volume_id,
                                 snapshot_id)
    if found.kind == 'snapshot':
        kwargs['take_snapshot'] = False
    return archive(found.path, out_root, archive_as or found.volume_id,
                   source='%s %s' % (found.kind, found.volume_id),
                   guard=cinder_source.guard(found), **kwargs)
