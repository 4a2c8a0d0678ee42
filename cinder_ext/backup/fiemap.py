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

"""FIEMAP with physical addresses, and the ranges that differ between two
reflinked files.

The incremental needs the physical address of each extent
(``storage.extents.fiemap``): an extent is unchanged since
the base only when the same logical range maps to the same physical blocks
in both files.  The SHARED flag alone is not enough: the live volume sets it
too.
"""

from cinder_ext.storage import extents as storage_extents

# Extents whose physical address does not name the data's blocks alone:
# unknown or delayed location, encoded (compressed), inline, tail-packed.
_UNTRUSTED = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400

# [(logical, physical, length, flags)] after a sync, or None where the
# filesystem has no FIEMAP.  O(extents).
extents = storage_extents.fiemap


def _written(mapped, size):
    """Written extents clipped to ``size``, as (logical, end, physical,
    trusted)."""
    for logical, physical, length, flags in mapped:
        if flags & storage_extents.FIEMAP_EXTENT_UNWRITTEN or logical >= size:
            continue
        end = min(logical + length, size)
        yield logical, end, physical, not flags & _UNTRUSTED


def changed_ranges(new, old, size):
    """Byte ranges of ``new`` (size ``size``) that may differ from ``old``.

    ``new`` and ``old`` are extents() lists.  A range is unchanged only
    where both map it, trusted, to the same physical address; data that
    turned into a hole counts as changed.  O(extents of both).
    """
    cuts = []
    for extent_list in (new, old):
        for logical, end, _p, _t in _written(extent_list, size):
            cuts.append((logical, end))
    # Walk both lists in logical order with two cursors.
    new_w = list(_written(new, size))
    old_w = list(_written(old, size))
    points = sorted({p for a, b in cuts for p in (a, b)})
    result = []
    i = j = 0
    for start, end in zip(points, points[1:]):
        while i < len(new_w) and new_w[i][1] <= start:
            i += 1
        while j < len(old_w) and old_w[j][1] <= start:
            j += 1
        in_new = i < len(new_w) and new_w[i][0] <= start
        in_old = j < len(old_w) and old_w[j][0] <= start
        if not in_new and not in_old:
            continue
        same = (in_new and in_old and new_w[i][3] and old_w[j][3] and
                new_w[i][2] - new_w[i][0] == old_w[j][2] - old_w[j][0])
        if same:
            continue
        if result and result[-1][1] == start:
            result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return [(a, b - a) for a, b in result]
