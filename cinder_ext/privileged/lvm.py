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

"""Privileged entry point: LVM commands run as root in the privsep daemon.

The daemon accepts a command only on a volume group that its own
configuration names (``volume_group`` of an enabled backend) and only in a
shape ``storage.lvmcmd`` builds (allow-listed binaries and options, names
checked against LVM's rules); then it hands the command to the executor
seam, ``storage.executor``.
"""

from oslo_config import cfg

from cinder_ext import exception
from cinder_ext import privileged
from cinder_ext.privileged import roots
from cinder_ext.storage import executor
from cinder_ext.storage import lvmcmd

VG_OPTION = 'cinder_ext_volume_group'
_VG_OPT = cfg.StrOpt(VG_OPTION, help='Volume group of an LVM backend.')


def allowed_vgs(conf=None):
    """The volume groups of this host's backends, from cinder.conf."""
    return {group[VG_OPTION] for group in roots.backend_sections(
        conf or cfg.CONF, [_VG_OPT]) if group[VG_OPTION]}


def check_vg(vg):
    if not isinstance(vg, str) or vg not in allowed_vgs():
        raise exception.OutsideVolumeGroups(vg=vg)


@privileged.lvm_admin.entrypoint
def run(vg, argv):
    """Run one LVM (or wipe/copy) command on ``vg``: (stdout, stderr).

    Raises ``OutsideVolumeGroups`` / ``InvalidName`` for a refused command,
    ``ProcessExecutionError`` when it fails.
    """
    check_vg(vg)
    lvmcmd.check_argv(vg, argv)
    return executor.run(list(argv))
