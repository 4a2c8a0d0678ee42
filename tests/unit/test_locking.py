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

"""cinder_ext.volume.locking with real tooz file locks.

Only a release that fails needs a stand-in: a wrapper around a real tooz
lock whose ``release`` raises ToozConnectionError, as tooz's etcd3gw
driver does while etcd is down, before it reaches the real lock.
"""

import threading
import time

from cinder import coordination
from tooz import coordination as tooz_coordination

from cinder_ext import locks
from cinder_ext.volume import locking
from tests import base


class Recorded:
    """A real tooz lock whose calls are recorded in ``log``; its first
    ``failures`` releases raise as an unreachable backend does, and
    ``after`` (if set) is what later releases return instead."""

    def __init__(self, key, lock, log, failures=0, after=None):
        self.key, self.lock, self.log = key, lock, log
        self.failures = failures
        self.after = after
        self.name = lock.name
        self.releases = 0

    def acquire(self, blocking=True):
        self.log.append(('acquire', self.key))
        # Bounded, so that a regression fails instead of hanging.
        return self.lock.acquire(10 if blocking is True else blocking)

    def release(self):
        self.releases += 1
        self.log.append(('release', self.key))
        if self.releases <= self.failures:
            raise tooz_coordination.ToozConnectionError('backend is down')
        if self.after is not None:
            return self.after
        return self.lock.release()


class Volume:
    def __init__(self, id):
        self.id = id


class LockingTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.real_get_lock = coordination.COORDINATOR.get_lock
        self.log = []
        self.made = {}
        self.failures = 0
        self.after = None
        # Replaced after decoration, as the race worker's --nolock does.
        self.mock_get_lock = self.patch(
            'cinder.coordination.COORDINATOR.get_lock',
            side_effect=self.get_lock)
        self.patch('cinder_ext.volume.locking.FIRST_DELAY', 0.01)
        self.patch('cinder_ext.volume.locking.MAX_DELAY', 0.04)

    def get_lock(self, name):
        lock = Recorded(name, self.real_get_lock(name), self.log,
                        self.failures, self.after)
        self.made[name] = lock
        return lock

    def is_free(self, name, wait=0):
        """Whether another holder gets ``name`` (within ``wait`` s)."""
        other = self.real_get_lock(name)
        if other.acquire(blocking=wait or False):
            other.release()
            return True
        return False

    def test_names_formatted_deduplicated_sorted_reverse_release(self):
        seen = []

        @locking.synchronized('x-{vol.id}-b', 'x-{vol.id}-a',
                              'x-{vol.id}-b', '{f_name}-{n}')
        def work(vol, n):
            seen.extend(self.is_free(name) for name in self.made)
            return n * 2

        self.assertEqual(6, work(Volume('v1'), n=3))
        names = ['work-3', 'x-v1-a', 'x-v1-b']
        self.assertEqual([('acquire', name) for name in names]
                         + [('release', name) for name in reversed(names)],
                         self.log)
        self.assertEqual([False, False, False], seen)  # all held inside
        self.assertTrue(all(self.is_free(name) for name in names))

    def test_mutual_exclusion_across_threads(self):
        inside = {}
        peak = {}
        guard = threading.Lock()

        @locking.synchronized(locks.VOLUME)
        def work(volume, key):
            with guard:
                inside[key] = inside.get(key, 0) + 1
                peak[key] = max(peak.get(key, 0), inside[key])
            time.sleep(0.02)
            with guard:
                inside[key] -= 1

        def run(volume, key):
            for _i in range(5):
                work(volume, key)
        # Three threads on one volume must take turns; two on distinct
        # volumes (the control) overlap, so an overlap would be seen.
        threads = [threading.Thread(target=run, args=(Volume('same'), 'same'))
                   for _i in range(3)]
        threads += [threading.Thread(target=run, args=(Volume(v), 'distinct'))
                    for v in ('d1', 'd2')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual({'same': 1, 'distinct': 2}, peak)

    def test_failed_release_is_retried_until_released(self):
        self.failures = 2

        @locking.synchronized('x-{vol.id}')
        def work(vol):
            return 'done'

        self.assertEqual('done', work(Volume('v2')))
        # Still ours right after the failed release: not dropped.
        self.assertFalse(self.is_free('x-v2'))
        self.assertTrue(self.is_free('x-v2', wait=10))
        self.assertEqual(3, self.made['x-v2'].releases)

    def test_held_retries_a_failed_release_and_reraises(self):
        self.failures = 1
        with self.assertRaisesRegex(ValueError, 'inside'):
            with locking.held('h-2', 'h-1', 'h-2'):
                self.assertFalse(self.is_free('h-1'))
                raise ValueError('inside')
        self.assertEqual(['h-1', 'h-2'], [n for op, n in self.log
                                          if op == 'acquire'])
        self.assertTrue(self.is_free('h-1', wait=10))
        self.assertTrue(self.is_free('h-2', wait=10))

    def test_release_returning_false_stops_the_retry(self):
        self.failures, self.after = 1, False
        lock = self.get_lock('x-expired')
        self.assertTrue(lock.acquire())
        self.addCleanup(lock.lock.release)
        thread = locking.release(lock)
        self.assertIsNotNone(thread)
        thread.join(10)
        self.assertFalse(thread.is_alive())
        time.sleep(0.1)  # several backoff periods: no more attempts
        self.assertEqual(2, lock.releases)

    def test_successful_release_starts_no_retry(self):
        lock = self.get_lock('x-ok')
        self.assertTrue(lock.acquire())
        self.assertIsNone(locking.release(lock))
        self.assertEqual(1, lock.releases)
        self.assertTrue(self.is_free('x-ok'))

    def test_not_blocking_raises_when_held_elsewhere(self):
        other = self.real_get_lock('busy')
        self.assertTrue(other.acquire())
        self.addCleanup(other.release)
        with self.assertRaises(tooz_coordination.LockAcquireFailed):
            with locking.held('a-free', 'busy', blocking=False):
                self.fail('ran without the lock')
        self.assertTrue(self.is_free('a-free'))  # the first one released

    def test_driver_lock_released_after_backend_outage(self):
        self.failures = 1
        vol = self.volume()
        self.driver.create_volume(vol)
        name = locks.for_key(vol.id)
        self.assertTrue(self.is_free(name, wait=10))
        self.assertEqual(2, self.made[name].releases)
