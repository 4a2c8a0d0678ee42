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

import datetime

from cinder_ext.backup import retention
import unittest


def manifest(backup_id, when, parent=None):
    return {'backup_id': backup_id, 'created_at': when.isoformat(),
            'parent_id': parent, 'volume_id': 'v'}


class SelectTest(unittest.TestCase):

    def setUp(self):
        start = datetime.datetime(2026, 1, 1, 12,
                                  tzinfo=datetime.timezone.utc)
        # Two backups a day for 70 days, each day a full then an
        # incremental of it.
        self.manifests = []
        for day in range(70):
            when = start + datetime.timedelta(days=day)
            full = 'f%02d' % day
            self.manifests.append(manifest(full, when))
            self.manifests.append(manifest(
                'i%02d' % day, when + datetime.timedelta(hours=1), full))

    def test_keep_last_keeps_parents(self):
        self.assertEqual({'i69', 'f69'},
                         retention.select(self.manifests, last=1))

    def test_daily_weekly_monthly(self):
        keep = retention.select(self.manifests, daily=3)
        self.assertEqual({'i69', 'f69', 'i68', 'f68', 'i67', 'f67'}, keep)
        keep = retention.select(self.manifests, monthly=2)
        # Newest of March (day 69 = 2026-03-11) and of February (02-28).
        self.assertEqual({'i69', 'f69', 'i58', 'f58'}, keep)
        keep = retention.select(self.manifests, weekly=1)
        self.assertEqual({'i69', 'f69'}, keep)

    def test_nothing_kept_without_rules(self):
        self.assertEqual(set(), retention.select(self.manifests))
