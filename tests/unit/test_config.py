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

"""Options, the config generator entry point, and the rootwrap filters."""

import os
import sys

import fixtures

from oslo_rootwrap import wrapper
import testtools

from cinder_ext.backup import cinder_driver
from cinder_ext import opts
from cinder_ext import privileged
from cinder_ext.volume import lvm
from cinder_ext.volume import nfs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILTERS = os.path.join(REPO, 'etc', 'cinder', 'rootwrap.d')
BIN = os.path.dirname(sys.executable)


class OptionsTest(testtools.TestCase):

    def test_every_option_has_help(self):
        for group, options in opts.list_opts():
            for opt in options:
                self.assertGreater(len(opt.help or ''), 20, opt.name)

    def test_drivers_return_their_options(self):
        nfs_names = {o.name for o in nfs.NfsDriver.get_driver_options()}
        lvm_names = {o.name for o in lvm.LvmDriver.get_driver_options()}
        backup_names = {o.name for o in cinder_driver.CinderExtBackupDriver
                        .get_driver_options()}
        listed = {o.name for _g, os_ in opts.list_opts() for o in os_}
        self.assertEqual(nfs_names | lvm_names | backup_names, listed)
        self.assertIn('cinder_ext_backup_repository', backup_names)
        self.assertIn('cinder_ext_shares', nfs_names)
        self.assertIn('cinder_ext_volume_group', lvm_names)
        self.assertIn('cinder_ext_unmanaged_prefix', nfs_names & lvm_names)

    def test_entry_point_is_declared(self):
        with open(os.path.join(REPO, 'setup.cfg')) as f:
            self.assertIn('cinder_ext = cinder_ext.opts:list_opts', f.read())


class RootwrapFiltersTest(testtools.TestCase):
    """Every command the driver runs as root is allowed by its filters."""

    def setUp(self):
        super().setUp()
        # rootwrap appends a catch-all privsep-helper filter of its own;
        # judge the project's filters alone.
        self.filters = [f for f in wrapper.load_filters([FILTERS])
                        if f.name != 'privsep-helper']

    def allowed(self, cmd):
        try:
            wrapper.match_filter(self.filters, cmd, exec_dirs=[BIN, '/usr/bin',
                                                               '/bin'])
            return True
        except (wrapper.NoFilterMatched, wrapper.FilterMatchNotExecutable):
            return False

    def test_privsep_daemon_start_is_allowed(self):
        for context in (privileged.default, privileged.lvm_admin):
            cmd = context.helper_command('/tmp/tmpabc/privsep.sock')
            cmd = [c for c in cmd if c not in ('sudo',)]
            # cinder starts the helper with its config files on the
            # command line
            cmd[1:1] = ['--config-file', '/etc/cinder/cinder.conf']
            self.assertEqual('privsep-helper', cmd[0])
            self.assertTrue(self.allowed(cmd), cmd)

    def test_other_contexts_and_commands_are_refused(self):
        base = ['privsep-helper', '--config-file', '/etc/cinder/cinder.conf',
                '--privsep_context']
        self.assertFalse(self.allowed(
            base + ['os_brick.privileged.default', '--privsep_sock_path',
                    '/tmp/x']))
        self.assertFalse(self.allowed(
            base + ['cinder_ext.privileged.default', '--privsep_sock_path',
                    '/tmp/x', '--extra']))
        self.assertFalse(self.allowed(['rm', '-rf', '/']))


class SampleConfigTest(testtools.TestCase):

    def test_sample_is_current(self):
        """etc/cinder-ext.conf.sample is what tox -e genconfig writes."""
        from oslo_config import generator
        out = self.useFixture(fixtures.TempDir()).join('s')
        generator.main(['--config-file', os.path.join(
            REPO, 'etc', 'oslo-config-generator', 'cinder-ext.conf'),
            '--output-file', out])
        with open(out) as new, open(os.path.join(
                REPO, 'etc', 'cinder-ext.conf.sample')) as committed:
            self.assertEqual(committed.read(), new.read(),
                             'run tox -e genconfig')
