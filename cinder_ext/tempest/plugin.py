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
"""Tempest plugin entry point.

setup.cfg::

    [entry_points]
    tempest.test_plugins =
        cinder-ext = cinder_ext.tempest.plugin:CinderExtTempestPlugin
"""

import os

from tempest import config
from tempest.test_discover import plugins

from cinder_ext.tempest import config as project_config


class CinderExtTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        """Return (directory of the tests, top level directory)."""
        here = os.path.dirname(os.path.abspath(__file__))
        top_level = os.path.dirname(os.path.dirname(here))
        return os.path.join(here, 'tests'), top_level

    def register_opts(self, conf):
        config.register_opt_group(conf, project_config.cinder_ext_group,
                                  project_config.CinderExtGroup)

    def get_opt_lists(self):
        return [(project_config.cinder_ext_group.name,
                 project_config.CinderExtGroup)]
