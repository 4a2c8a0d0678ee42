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

"""Fixed-size, aligned chunks over a source's data ranges.

Chunk ``i`` covers bytes [i * chunk_size, (i + 1) * chunk_size) of the
volume (the last one is shorter), so the same data lands in the same chunk
in every backup and incrementals line up.
"""


def chunk_length(index, size, chunk_size):
    return min(chunk_size, size - index * chunk_size)


def plan(ranges, size, chunk_size, only=None):
    """Yield (index, [(offset in chunk, length)]) for every chunk holding
    data, in order; with ``only`` (a set of indices), those chunks alone,
    each yielded even when it holds no data (it may have become a hole).
    O(ranges + chunks yielded)."""
    pending_index, pieces = None, []
    wanted = sorted(only) if only is not None else None
    w = 0

    def flush_until(limit):
        # Yield the wanted chunks without data that come before ``limit``.
        nonlocal w
        out = []
        while wanted is not None and w < len(wanted) and wanted[w] < limit:
            out.append((wanted[w], []))
            w += 1
        return out

    for offset, length in ranges:
        end = min(offset + length, size)
        while offset < end:
            index = offset // chunk_size
            chunk_start = index * chunk_size
            piece_end = min(end, chunk_start + chunk_size)
            if index != pending_index:
                if pending_index is not None:
                    if wanted is None or pending_index in only:
                        yield pending_index, pieces
                for item in flush_until(index):
                    yield item
                if wanted is not None and w < len(wanted) and \
                        wanted[w] == index:
                    w += 1
                pending_index, pieces = index, []
            pieces.append((offset - chunk_start, piece_end - offset))
            offset = piece_end
    if pending_index is not None and (wanted is None or pending_index in only):
        yield pending_index, pieces
    for item in flush_until(float('inf')):
        yield item
