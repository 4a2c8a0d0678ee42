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

"""The command line, run in-process through main() and as a module."""

import io
import json
import os
import subprocess
import sys
from unittest import mock

from cinder_ext.backup import cli
from tests.unit.backup import helpers

MiB = helpers.MiB


class CliTest(helpers.TempDirTest):

    def setUp(self):
        super().setUp()
        self.repo = self.path('repo')
        self.src = self.path('vol')
        helpers.make_sparse(self.src, 8 * MiB, [(MiB, 300000)], self.rng)

    def run_cli(self, *args):
        out = io.StringIO()
        err = io.StringIO()
        with mock.patch('sys.stdout', out), mock.patch('sys.stderr', err):
            try:
                code = cli.main(list(args) + ['--repo', self.repo])
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue(), err.getvalue()

    def json_lines(self, text):
        return [json.loads(line) for line in text.splitlines()]

    def test_full_cycle_with_json(self):
        self.assertEqual(0, self.run_cli('init', '--chunk-size', '1M')[0])
        code, out, _ = self.run_cli('backup', self.src, '--backup-id', 'b1',
                                    '--json')
        self.assertEqual(0, code)
        result = self.json_lines(out)[-1]
        self.assertEqual(('result', 'b1', 'full'), (
            result['event'], result['backup_id'],
            result['change_detection']))
        code, out, _ = self.run_cli('backup', self.src, '--incremental',
                                    '--backup-id', 'b2', '--json')
        self.assertEqual('b1', self.json_lines(out)[-1]['parent_id'])
        code, out, _ = self.run_cli('list', '--json')
        self.assertEqual(['b1', 'b2'],
                         [r['backup_id'] for r in self.json_lines(out)])
        code, out, _ = self.run_cli('verify', '--deep', '--compare',
                                    self.src)
        self.assertEqual((0, '0 problem(s)\n'), (code, out))
        target = self.path('restored')
        self.assertEqual(0, self.run_cli('restore', 'b2', target)[0])
        self.assertEqual(helpers.sha256_file(self.src),
                         helpers.sha256_file(target))
        code, out, _ = self.run_cli('prune', '--keep-last', '1', '--json')
        self.assertEqual([], self.json_lines(out)[-1]['removed'])
        self.assertEqual(0, self.run_cli('delete', 'b2')[0])
        code, out, _ = self.run_cli('gc', '--grace', '0', '--json')
        self.assertEqual(0, self.json_lines(out)[-1]['chunks_removed'])

    def test_text_output_uses_human_sizes(self):
        self.run_cli('init')
        code, out, _ = self.run_cli('backup', self.src, '--backup-id', 'b1')
        self.assertIn('size: 8.0 MiB', out)
        code, out, _ = self.run_cli('show', 'b1')
        self.assertIn('backup_id: b1', out)

    def test_exit_codes_and_clear_errors(self):
        code, _, err = self.run_cli('list')
        self.assertEqual(1, code)
        self.assertIn('is not a cinder-ext backup repository', err)
        self.run_cli('init')
        code, _, err = self.run_cli('show', 'nope')
        self.assertEqual((1, True), (code, 'Backup nope does not exist'
                                     in err))
        self.assertEqual(2, self.run_cli('prune')[0])  # no keep rule
        self.assertEqual(2, self.run_cli('frobnicate')[0])
        code, out, _ = self.run_cli('show', 'nope', '--json')
        self.assertEqual('BackupNotFound', self.json_lines(out)[0]['error'])

    def test_verify_exit_3_on_corruption(self):
        self.run_cli('init')
        self.run_cli('backup', self.src, '--backup-id', 'b1')
        chunks = self.path('repo', 'chunks')
        sub = os.listdir(chunks)[0]
        name = os.listdir(os.path.join(chunks, sub))[0]
        with open(os.path.join(chunks, sub, name), 'r+b') as f:
            f.seek(100)
            f.write(b'\xff\x00\xff')
        code, out, _ = self.run_cli('verify', '--deep')
        self.assertEqual(3, code)
        self.assertIn('PROBLEM backup b1 chunk %s offset 0' % name, out)
        code, _, err = self.run_cli('restore', 'b1', self.path('out'))
        self.assertEqual(3, code)
        self.assertIn(name, err)

    def test_encrypted_needs_key(self):
        key = self.path('key')
        with open(key, 'wb') as f:
            f.write(os.urandom(32))
        self.assertEqual(2, self.run_cli('init', '--encryption', 'hkdf')[0])
        self.assertEqual(0, self.run_cli('init', '--encryption', 'hkdf',
                                         '--key-file', key)[0])
        code, _, err = self.run_cli('list')
        self.assertEqual(1, code)
        self.assertIn('is encrypted', err)
        wrong = self.path('wrong')
        with open(wrong, 'wb') as f:
            f.write(b'nope')
        code, _, err = self.run_cli('list', '--key-file', wrong)
        self.assertIn('does not open', err)
        self.assertEqual(0, self.run_cli('backup', self.src, '--key-file',
                                         key)[0])

    def test_module_help_runs(self):
        result = subprocess.run(
            [sys.executable, '-m', 'cinder_ext.backup.cli', 'verify',
             '--help'], capture_output=True, text=True, check=True)
        self.assertIn('--deep', result.stdout)
        self.assertIn('exit codes', result.stdout)
