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
"""An LvmDriver on this host whose commands run in a test guest.

What the driver tests share: the privileged entry point in-process, the
executor seam (and, for Cinder's target helpers, ``cinder.utils.execute``)
pointed at the guest, the VG allowed for the backend, and the driver built
from a backend section and set up as cinder-volume would.
"""

from cinder import context
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver

from cinder_ext import opts
from cinder_ext import privileged
from cinder_ext.privileged import lvm as privileged_lvm
from cinder_ext.storage import executor
from cinder_ext.volume import lvm


def use_guest(testcase, guest, vg, backend, cinder_commands=False):
    """The driver's commands run in ``guest``; with ``cinder_commands``
    Cinder's too (cinder-rtstool runs where LIO is)."""
    privileged.lvm_admin.set_client_mode(False)
    testcase.addCleanup(privileged.lvm_admin.set_client_mode, True)
    testcase.patch('cinder_ext.storage.executor.execute', guest.execute)
    testcase.assertEqual(executor.execute, guest.execute)
    if cinder_commands:
        testcase.patch('cinder.utils.execute', guest.execute)
    testcase.override_config('enabled_backends', [backend])
    privileged_lvm.allowed_vgs()   # registers its option
    testcase.override_config(privileged_lvm.VG_OPTION, vg, group=backend)


def make_driver(testcase, backend, settings, cluster_name=None):
    """LvmDriver of the backend section ``settings``, set up and checked."""
    conf = configuration.Configuration(cinder_driver.volume_opts,
                                       config_group=backend)
    conf.append_config_values(opts.lvm_driver_opts)
    for key, value in dict(settings, volume_backend_name=backend).items():
        testcase.override_config(key, value, group=backend)
    drv = lvm.LvmDriver(configuration=conf, cluster_name=cluster_name)
    drv.do_setup(context.get_admin_context())
    drv.check_for_setup_error()
    return drv
