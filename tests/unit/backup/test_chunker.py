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

import unittest

from cinder_ext.backup import chunker
from cinder_ext.backup import fiemap

CS = 100


class PlanTest(unittest.TestCase):

    def test_ranges_split_at_chunk_boundaries(self):
        plan = list(chunker.plan([(50, 120), (250, 10)], 1000, CS))
        self.assertEqual([(0, [(50, 50)]), (1, [(0, 70)]), (2, [(50, 10)])],
                         plan)

    def test_only_yields_wanted_chunks_and_empty_ones(self):
        plan = list(chunker.plan([(50, 120), (250, 10)], 1000, CS,
                                 only={1, 5, 0}))
        self.assertEqual([(0, [(50, 50)]), (1, [(0, 70)]), (5, [])], plan)

    def test_ranges_clipped_to_size(self):
        self.assertEqual([(0, [(90, 10)]), (1, [(0, 20)])],
                         list(chunker.plan([(90, 500)], 120, CS)))

    def test_chunk_length_of_last_chunk(self):
        self.assertEqual(20, chunker.chunk_length(1, 120, CS))
        self.assertEqual(100, chunker.chunk_length(0, 120, CS))


class ChangedRangesTest(unittest.TestCase):
    # (logical, physical, length, flags)

    def test_same_physical_is_unchanged(self):
        new = [(0, 1000, 100, 0), (100, 5000, 50, 0x2000)]
        old = [(0, 1000, 150, 0x2000)]
        self.assertEqual([(100, 50)], fiemap.changed_ranges(new, old, 1000))

    def test_shared_flag_alone_is_not_unchanged(self):
        new = [(0, 1000, 100, 0x2000)]
        old = [(0, 2000, 100, 0x2000)]
        self.assertEqual([(0, 100)], fiemap.changed_ranges(new, old, 1000))

    def test_hole_punched_is_changed_and_unwritten_is_a_hole(self):
        new = [(0, 1000, 50, 0), (50, 9000, 50, 0x800)]
        old = [(0, 1000, 100, 0)]
        self.assertEqual([(50, 50)], fiemap.changed_ranges(new, old, 1000))

    def test_untrusted_extent_counts_as_changed(self):
        new = [(0, 1000, 100, 0x8)]
        old = [(0, 1000, 100, 0x8)]
        self.assertEqual([(0, 100)], fiemap.changed_ranges(new, old, 1000))

    def test_split_extents_compare_by_offset(self):
        new = [(0, 1000, 40, 0), (40, 1040, 60, 0)]
        old = [(0, 1000, 100, 0)]
        self.assertEqual([], fiemap.changed_ranges(new, old, 1000))
