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

"""The devstack plugin under devstack's own calls, with devstack's
functions stubbed: unstack keeps the volumes, clean removes them, and the
system packages come from bindep.txt with the right name per distribution.
"""

import os
import pwd
import re
import shutil
import subprocess
import tempfile

import testtools

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
DEVSTACK = os.path.join(TOP, 'devstack')
# devstack's functions as the plugin uses them; sudo runs the command.
STUBS = '''
set -e
function is_service_enabled { return 0; }
function echo_summary { :; }
function warn { :; }
function iniset { echo "iniset $*" >>"$CALLS"; }
function setup_develop { :; }
function pip_uninstall { echo "pip_uninstall $*" >>"$CALLS"; }
function install_package { echo "install_package $*" >>"$CALLS"; }
function define_plugin { :; }
function sudo { "$@"; }
function init_lvm_volume_group { echo "${FUNCNAME[0]} $*" >>"$CALLS"; }
function clean_lvm_volume_group { echo "${FUNCNAME[0]} $*" >>"$CALLS"; }
function lvs { echo "lvs $*" >>"$CALLS"; return 1; }
function lvcreate { echo "lvcreate $*" >>"$CALLS"; }
'''
# What devstack's unstack.sh and clean.sh do for this plugin: run its
# phase, and lib/cinder's cleanup_cinder (backend hooks).
PHASE = '''
source "$DEVSTACK/settings"
source "$DEVSTACK/plugin.sh" %(phase)s
cleanup_cinder_backend_cinder_ext cinder-ext
'''


class PluginTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix='cinder-ext-devstack-')
        self.addCleanup(shutil.rmtree, self.tmp)
        self.share = os.path.join(self.tmp, 'data', 'cinder-ext',
                                  'cinder-ext')
        os.makedirs(self.share)
        self.volume = os.path.join(self.share, 'volume-1')
        with open(self.volume, 'w') as f:
            f.write('data')
        self.calls = os.path.join(self.tmp, 'calls')
        open(self.calls, 'w').close()

    def phase(self, *phase, **settings):
        env = dict(os.environ, DEST=self.tmp, DATA_DIR=os.path.join(
            self.tmp, 'data'), DEVSTACK=DEVSTACK, CALLS=self.calls,
            STACK_USER=pwd.getpwuid(os.getuid()).pw_name,
            CINDER_CONF='/etc/cinder/cinder.conf', **settings,
            CINDER_ENABLED_BACKENDS='cinder_ext:cinder-ext',
            CINDER_EXT_ROOTWRAP_DIR=os.path.join(self.tmp, 'rootwrap.d'))
        subprocess.run(['bash', '-c', STUBS + PHASE % {
            'phase': ' '.join(phase)}], env=env, check=True,
            capture_output=True)
        with open(self.calls) as f:
            return f.read()

    def test_unstack_keeps_the_volumes(self):
        self.phase('unstack')
        self.assertTrue(os.path.exists(self.volume))

    def test_clean_removes_the_shares(self):
        calls = self.phase('clean')
        self.assertFalse(os.path.exists(self.share))
        self.assertIn('pip_uninstall cinder-ext', calls)

    def test_backup_driver_only_when_asked(self):
        calls = self.phase('stack', 'post-config')
        self.assertNotIn('backup_driver', calls)
        repo = os.path.join(self.tmp, 'data', 'cinder-ext-backups')
        calls = self.phase('stack', 'post-config', CINDER_EXT_BACKUP='True')
        self.assertIn('iniset /etc/cinder/cinder.conf DEFAULT backup_driver '
                      'cinder_ext.backup.cinder_driver.CinderExtBackupDriver',
                      calls)
        self.assertIn('iniset /etc/cinder/cinder.conf DEFAULT '
                      'cinder_ext_backup_repository %s' % repo, calls)
        self.assertTrue(os.path.isdir(repo))
        self.phase('clean', CINDER_EXT_BACKUP='True')
        self.assertFalse(os.path.exists(repo))

    def lvm(self, script, **settings):
        settings.setdefault('CINDER_ENABLED_BACKENDS',
                            'cinder_ext_lvm:lvm1')
        env = dict(os.environ, DEST=self.tmp, DEVSTACK=DEVSTACK,
                   CALLS=self.calls, DATA_DIR=os.path.join(self.tmp, 'data'),
                   CINDER_CONF='/etc/cinder/cinder.conf',
                   VOLUME_GROUP_NAME='stack-volumes',
                   VOLUME_BACKING_FILE_SIZE='24G',
                   CINDER_EXT_ROOTWRAP_DIR=os.path.join(self.tmp, 'rw.d'),
                   **settings)
        subprocess.run(['bash', '-c', STUBS + 'source "$DEVSTACK/settings"\n'
                        + script], env=env, check=True, capture_output=True)
        with open(self.calls) as f:
            return f.read()

    def test_lvm_backend_on_its_own_vg(self):
        calls = self.lvm('configure_cinder_backend_cinder_ext_lvm lvm1\n'
                         'init_cinder_backend_cinder_ext_lvm lvm1\n')
        conf = 'iniset /etc/cinder/cinder.conf lvm1 '
        self.assertIn(conf + 'volume_driver cinder_ext.volume.lvm.LvmDriver',
                      calls)
        self.assertIn(conf + 'cinder_ext_volume_group stack-volumes-lvm1',
                      calls)
        self.assertIn(conf + 'cinder_ext_thin_pool stack-volumes-lvm1-pool',
                      calls)
        self.assertIn('init_lvm_volume_group stack-volumes-lvm1 24G', calls)
        self.assertIn('lvcreate -q -T -l 95%FREE '
                      'stack-volumes-lvm1/stack-volumes-lvm1-pool', calls)
        calls = self.lvm('source "$DEVSTACK/plugin.sh" clean\n')
        self.assertIn('clean_lvm_volume_group stack-volumes-lvm1', calls)

    def test_lvm_backend_on_a_given_shared_vg(self):
        calls = self.lvm('configure_cinder_backend_cinder_ext_lvm lvm1\n'
                         'init_cinder_backend_cinder_ext_lvm lvm1\n'
                         'source "$DEVSTACK/plugin.sh" clean\n',
                         CINDER_EXT_LVM_VG='shared-vg')
        self.assertIn('cinder_ext_volume_group shared-vg', calls)
        self.assertNotIn('init_lvm_volume_group', calls)
        self.assertNotIn('clean_lvm_volume_group', calls)

    def test_no_package_named_for_one_distribution_only(self):
        calls = self.phase('stack', 'pre-install')
        self.assertNotIn('install_package', calls)

    def test_bindep_names_qemu_img_per_distribution(self):
        with open(os.path.join(DEVSTACK, 'files', 'bindep.txt')) as f:
            rules = {m.group(1): m.group(2) for m in re.finditer(
                r'^(\S+)\s+\[([^]]*)\]', f.read(), re.M)}
        self.assertEqual('platform:dpkg', rules['qemu-utils'])
        self.assertEqual('platform:rpm', rules['qemu-img'])
