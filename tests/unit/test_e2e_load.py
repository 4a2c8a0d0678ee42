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

"""tests/e2e/load.py's own waits end: a volume that never reaches the
asked size makes the client fail after --timeout, not hang."""

import importlib.util
import os
import time

import fixtures
import testtools

_PATH = os.path.join(os.path.dirname(__file__), '..', 'e2e', 'load.py')
_SPEC = importlib.util.spec_from_file_location('e2e_load', _PATH)
load = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(load)


class FakeApi(load.Api):
    """The API of a volume stuck available at 1 GiB (a lost extend)."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.calls = 0

    def show(self, kind, rid):
        self.calls += 1
        return {'id': rid, 'status': 'available', 'size': 1}


class WaitSizeTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Before wait_size had a deadline of its own it never returned.
        self.useFixture(fixtures.Timeout(10, gentle=True))

    def test_wait_size_fails_after_the_timeout(self):
        api = FakeApi(timeout=1)
        started = time.monotonic()
        self.assertRaises(load.Stuck, load.Run.wait_size, api, 'v1', 2)
        self.assertLess(time.monotonic() - started, 5)
        self.assertGreater(api.calls, 1)

    def test_wait_size_returns_the_view_at_the_size(self):
        view = load.Run.wait_size(FakeApi(timeout=1), 'v1', 1)
        self.assertEqual(1, view['size'])
