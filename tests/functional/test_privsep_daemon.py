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

"""The real privsep daemon refuses everything outside its shares.

A client process reads a cinder.conf, starts ``privsep-helper`` as the
service would and calls the entry points; the daemon works out the share
roots from the same file.  Needs root.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

BACKEND = 'cinder-ext'


class PrivsepDaemonTest(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest('the privsep daemon needs root')
        self.top = tempfile.mkdtemp(prefix='cinder-ext-privsep-')
        self.addCleanup(shutil.rmtree, self.top)
        self.share = os.path.join(self.top, 'share')
        self.outside = os.path.join(self.top, 'outside')
        os.mkdir(self.share)
        os.mkdir(self.outside)
        with open(os.path.join(self.outside, 'secret'), 'w') as f:
            f.write('secret')
        with open(os.path.join(self.share, 'volume-a'), 'wb') as f:
            f.write(b'a' * 8192)
        os.symlink(os.path.join(self.outside, 'secret'),
                   os.path.join(self.share, 'volume-link'))
        self.conf = os.path.join(self.top, 'cinder.conf')
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nenabled_backends = %s\nstate_path = %s\n'
                    '[%s]\ncinder_ext_shares = %s\n'
                    % (BACKEND, self.top, BACKEND, self.share))

    def call(self, *calls):
        top = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        proc = subprocess.run(
            [sys.executable, '-m', 'tests.functional.privsep_client',
             self.conf], input=json.dumps(calls).encode(), cwd=top,
            capture_output=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr.decode()[-2000:])
        return json.loads(proc.stdout)

    def test_configured_share_is_served(self):
        key = str(uuid.uuid4())
        results = self.call(['create', self.share, 'volume-b', 4096, False,
                             key],
                            ['inspect', self.share, 'volume-a', 10 ** 9],
                            ['open_regular', self.share, 'volume-a', False])
        self.assertEqual({'ok': 'sparse'}, results[0])
        self.assertEqual(4096, results[1]['ok']['header'])  # capped
        # The descriptor handed over is the file itself.
        self.assertEqual(os.path.join(self.share, 'volume-a'),
                         results[2]['ok'])
        self.assertTrue(os.path.exists(os.path.join(self.share,
                                                    'volume-b')))

    def test_everything_else_is_refused(self):
        key = str(uuid.uuid4())
        results = self.call(
            ['inspect', self.outside, 'secret'],
            ['remove', self.outside, 'secret'],
            ['create', self.outside, 'volume-x', 1, False, key],
            ['write_probe', self.outside],
            ['scan', '/etc'],
            ['inspect', self.share + '/../outside', 'secret'],
            ['remove', self.share, '../outside/secret'],
            ['remove', self.share, '.cinder_ext-tmp-x/secret'],
            ['open_regular', self.share, 'volume-link', False],
            ['inspect', self.share, 'volume-link'])
        errors = [r.get('error') for r in results]
        self.assertEqual(['OutsideShares'] * 6 + ['InvalidName'] * 2 +
                         ['NotRegularFile'] * 2, errors, results)
        with open(os.path.join(self.outside, 'secret')) as f:
            self.assertEqual('secret', f.read())
        self.assertEqual(['secret'], os.listdir(self.outside))
