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

"""The race checker on hand-made journals: no root, no services.

Each case is a journal a race could produce and a share in the state it
would leave; the checker must tell a violation from correct behaviour,
and say which.
"""

import os
import shutil
import tempfile

import testtools

from tests.functional.race import checker
from tests.functional.race import model

GiB = model.GiB
SRC = 'unmanaged-volume-0a'


def event(f, a, b, ok=True, **names):
    return dict(names, f=f, a=a, b=b, ok=ok)


def record(w, seq, op, ok, inner, **fields):
    return dict(fields, w=w, n=seq, seq=seq, op=op, ok=ok, inner=inner,
                clean=True, err=None, t0=inner[0]['a'] if inner else 0,
                t1=inner[-1]['b'] if inner else 0)


class CheckerTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.share = tempfile.mkdtemp(prefix='cinder-ext-checker-')
        self.addCleanup(shutil.rmtree, self.share)

    def make(self, name, pattern, size):
        path = os.path.join(self.share, name)
        with open(path, 'wb') as f:
            f.truncate(size)
        if pattern:
            model.write_pattern(path, pattern)

    def created(self, vid='0a', pattern='p0'):
        """A volume made and unmanaged (its file renamed to SRC)."""
        made = [event('create', 1.0, 1.1, name='volume-' + vid, size=GiB),
                event('write', 1.1, 1.2, name='volume-' + vid,
                      pattern=pattern)]
        return [
            record(0, 1, 'create', True, made, target=vid, size=1,
                   pattern=pattern),
            record(0, 2, 'unmanage', True, [
                event('rename', 2.0, 2.1, src='volume-' + vid, dst=SRC)],
                target=vid),
            record(1, 1, 'unmanage', True, [], target=vid),
        ]

    def manage(self, w, target, a, b, ok, rename_ok=None, err=None):
        rec = record(w, 3, 'manage', ok, [
            event('rename', a, b, ok=ok if rename_ok is None else rename_ok,
                  src=SRC, dst='volume-' + target)],
            target=target, src='0a', size=1, source=SRC)
        rec['err'] = err
        return rec

    def refused(self, w, target, a, b):
        return self.manage(w, target, a, b, False, err=(
            'ManageExistingInvalidReference: Manage existing volume failed '
            'due to invalid backend reference %s: not found' % SRC))

    def test_second_manage_refused_cleanly_is_explained(self):
        records = self.created() + [
            self.manage(0, '1b', 3.0, 3.2, True),
            self.refused(1, '2c', 3.1, 3.3)]
        self.make('volume-1b', 'p0', GiB)
        result = checker.check(self.share, records)
        self.assertEqual([], result['violations'])
        self.assertEqual(1, len(result['explained']))
        self.assertIn('manage race on %s' % SRC, result['explained'][0])
        self.assertIn('refused cleanly', result['explained'][0])

    def test_overlap_is_a_violation_when_the_driver_locks_the_source(self):
        records = self.created() + [
            self.manage(0, '1b', 3.0, 3.2, True),
            self.refused(1, '2c', 3.1, 3.3)]
        self.make('volume-1b', 'p0', GiB)
        result = checker.check(self.share, records,
                               manage_source_locked=True)
        self.assertEqual(1, len(result['violations']))
        self.assertIn('for_manage_source', result['violations'][0])
        self.assertEqual([], result['explained'])

    def test_both_manages_succeeding_is_a_violation(self):
        records = self.created() + [
            self.manage(0, '1b', 3.0, 3.2, True),
            self.manage(1, '2c', 3.1, 3.3, True)]
        self.make('volume-1b', 'p0', GiB)
        self.make('volume-2c', 'p0', GiB)
        result = checker.check(self.share, records)
        self.assertIn('both manages of %s succeeded' % SRC,
                      result['violations'][0])
        self.assertTrue(any('already gone' in v
                            for v in result['violations']))

    def test_refused_manage_that_left_a_file_is_a_violation(self):
        # Both links made (no RENAME_NOREPLACE), the loser's unlink failed:
        # it says it failed but its name holds the data.
        records = self.created() + [
            self.manage(0, '1b', 3.0, 3.2, True),
            self.refused(1, '2c', 3.1, 3.3)]
        self.make('volume-1b', 'p0', GiB)
        self.make('volume-2c', 'p0', GiB)
        result = checker.check(self.share, records)
        self.assertIn('stray file volume-2c (%d bytes)' % GiB,
                      result['violations'])

    def test_manage_failing_otherwise_is_a_violation(self):
        other = self.manage(1, '2c', 3.1, 3.3, False, err='OSError: EIO')
        records = self.created() + [self.manage(0, '1b', 3.0, 3.2, True),
                                    other]
        self.make('volume-1b', 'p0', GiB)
        result = checker.check(self.share, records)
        self.assertIn('manage outcomes', result['violations'][0])

    def test_lost_and_resurrected_files_are_violations(self):
        records = self.created() + [self.manage(0, '1b', 3.0, 3.2, True)]
        self.make(SRC, 'p0', GiB)  # the source is back; volume-1b lost
        result = checker.check(self.share, records)
        self.assertIn('lost: volume-1b', result['violations'])
        self.assertIn('stray file %s (%d bytes)' % (SRC, GiB),
                      result['violations'])
        self.assertIn('journal says volume-1b exists; share has none',
                      result['violations'])

    def test_killed_call_may_or_may_not_have_taken_effect(self):
        killed = record(2, 1, 'clone', None, [
            event('clone', 4.0, 4.5, ok=None, src='volume-0a',
                  dst='volume-3d', size=GiB, replace=False)],
            target='3d', src='0a', size=1, killed=True)
        base = [record(0, 1, 'create', True, [
            event('create', 1.0, 1.1, name='volume-0a', size=GiB),
            event('write', 1.1, 1.2, name='volume-0a', pattern='p0')],
            target='0a', size=1, pattern='p0'), killed]
        self.make('volume-0a', 'p0', GiB)
        result = checker.check(self.share, base)
        self.assertEqual([], result['violations'])  # it had not happened
        self.assertEqual([], result['branch'])
        self.make('volume-3d', 'p0', GiB)
        # It had happened, and Cinder's cleanup then deleted it.
        cleanup = record(3, 1, 'cleanup_delete', True, [
            event('remove', 6.0, 6.1, name='volume-3d', ret=True)],
            target='3d')
        os.unlink(os.path.join(self.share, 'volume-3d'))
        result = checker.check(self.share, base + [cleanup])
        self.assertEqual([], result['violations'])
        self.assertEqual([0], result['branch'])
        self.assertEqual(1, result['killed_ops'])

    def test_killed_call_with_wrong_content_is_still_caught(self):
        killed = record(2, 1, 'clone', None, [
            event('clone', 4.0, 4.5, ok=None, src='volume-0a',
                  dst='volume-3d', size=GiB, replace=False)],
            target='3d', src='0a', size=1, killed=True)
        records = [record(0, 1, 'create', True, [
            event('create', 1.0, 1.1, name='volume-0a', size=GiB),
            event('write', 1.1, 1.2, name='volume-0a', pattern='p0')],
            target='0a', size=1, pattern='p0'), killed]
        self.make('volume-0a', 'p0', GiB)
        self.make('volume-3d', 'torn', GiB)
        result = checker.check(self.share, records)
        # Neither outcome explains it: not cloned (then a stray file) nor
        # cloned (then the wrong content).
        self.assertEqual(1, len(result['violations']))
        self.assertIn('volume-3d', result['violations'][0])
        _files, replayed, _e = checker.replay(records, applied={0})
        self.assertEqual([], replayed)

    def test_file_left_after_cinder_deleted_its_volume_is_a_leak(self):
        # Killed after the clone was in place but before the driver
        # returned; Cinder's cleanup deleted the volume, the file stayed.
        key = '3d3d3d3d-0000-4000-8000-000000000000'
        killed = record(2, 1, 'clone', None, [
            event('clone', 4.0, 4.5, ok=None, src='volume-0a',
                  dst='volume-' + key, size=GiB, replace=False)],
            target=key, src='0a', size=1, killed=True)
        cleanup = record(3, 1, 'cleanup_delete', True, [
            event('remove', 6.0, 6.1, name='.cinder_ext-tmp-%s-0001abcd'
                  % key, ret=True)], target=key)
        records = [record(0, 1, 'create', True, [
            event('create', 1.0, 1.1, name='volume-0a', size=GiB),
            event('write', 1.1, 1.2, name='volume-0a', pattern='p0')],
            target='0a', size=1, pattern='p0'), killed, cleanup]
        self.make('volume-0a', 'p0', GiB)
        self.make('volume-' + key, 'p0', GiB)
        result = checker.check(self.share, records)
        # The half-made file it removed is no violation; the leak is.
        self.assertEqual(['leaked: volume-%s remains after 3/1 '
                          'cleanup_delete deleted it' % key],
                         result['violations'])
