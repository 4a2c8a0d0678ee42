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

"""The data path of thick LVs: wipes before a delete, zero-skipping copies.

A thick LV's extents keep whatever the previous LV wrote there, so what
the device can do decides the cost: with offloaded WRITE ZEROES
(``write_zeroes_max_bytes`` > 0: thin-provisioned arrays, loop files,
most NVMe, virtio) zeroing is O(1)-ish and a copy may skip zero blocks;
without it, zeroing writes O(size).  ``store`` is the VgStore (its
``run``, ``require``, ``path``, ``vg`` and ``wipe``).
"""

from cinder_ext.storage import lvmcmd


def queue_limit(store, lv, limit):
    if lv.major is None:
        return 0
    out, _err = store.run('probe', lv.name, lvmcmd.queue_limit(
        lv.major, lv.minor, limit))
    try:
        return int(out.strip())
    except ValueError:
        return 0


def wipe_method(store, lv):
    if store.wipe != 'auto':
        return store.wipe
    # The default never writes O(size) where the device can help:
    # offloaded WRITE ZEROES (reads zero after), else discard.
    if queue_limit(store, lv, 'write_zeroes_max_bytes') > 0:
        return 'zero'
    if queue_limit(store, lv, 'discard_max_bytes') > 0:
        return 'discard'
    return 'zero'


def wipe(store, lv):
    """Clear a thick LV's (or a COW snapshot's store) old data; the LV is
    active (``store.active``)."""
    method = wipe_method(store, lv)
    if method == 'none':
        return
    cow = lv.kind == 'cow-snapshot'
    if cow:
        # the exception store, not the snapshot: writing the snapshot
        # would first copy origin chunks into it
        path = '/dev/mapper/%s' % lvmcmd.dm_name(store.vg, lv.name, 'cow')
    else:
        path = store.path(lv.name)
    if method == 'discard':
        store.run('discard', lv.name, lvmcmd.discard(path, force=cow))
    else:
        store.run('zero', lv.name, lvmcmd.zero(path, force=cow))


def zero_if_cheap(store, lv):
    """Zero a new thick LV where the device offloads it; True if done."""
    if queue_limit(store, lv, 'write_zeroes_max_bytes') <= 0:
        return False
    store.run('zero', lv.name, lvmcmd.zero(store.path(lv.name)))
    return True


def copy(store, src_name, dst_name, reads_zero):
    """Copy an LV's data onto a new LV of at least its size.

    O(size) read.  Where the target reads zero (thin, or zeroed on
    create), all-zero 1 MiB blocks are skipped: O(data) written.
    Otherwise every block is written, still one pass: O(size).
    """
    store.run('copy', dst_name, lvmcmd.copy(
        store.path(src_name), store.path(dst_name), reads_zero))
