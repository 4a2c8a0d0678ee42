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

"""Where a volume group's LVs are active: activation of the VgStore.

On a local VG, LVM leaves an LV active once activated, and so does the
store.  On a VG shared by several hosts under lvmlockd (``shared``),
activation follows the work: an LV is active on a host, exclusively
(``-aey``), only while that host writes, copies or exports it, and is
deactivated afterwards so that its lock is free for the next host.  A
COW snapshot is activated with its origin, under the origin's lock.
"""

import contextlib

from oslo_log import log as logging

from cinder_ext import exception
from cinder_ext.storage import lvmcmd

LOG = logging.getLogger(__name__)


class Activation:
    """Mixed into VgStore: uses its ``run``, ``_check``, ``lvs``,
    ``require``, ``path``, ``vg`` and ``shared``."""

    def activate(self, name, exclusive=None):
        """Activate (-K: also a thin snapshot); exclusive (the default on
        a shared VG): -aey, LvBusy while another host holds it."""
        self._check(name)
        exclusive = self.shared if exclusive is None else exclusive
        self.run('activate', name,
                 lvmcmd.activate(self.vg, name, exclusive))
        return self.path(name)

    def deactivate(self, name):
        self._check(name)
        self.run('deactivate', name, lvmcmd.deactivate(self.vg, name))

    def release(self, name):
        """Give a shared VG's LV back to the other hosts (-an); on a local
        VG nothing: its LVs stay active, as LVM leaves them."""
        if self.shared:
            self._deactivate_quietly(name)

    def _deactivate_quietly(self, name):
        try:
            self.deactivate(name)
        except exception.NotFound:
            pass
        except exception.CinderExtException as exc:
            # still active here: the next sweep (start-up) or use retries
            LOG.warning('Could not deactivate %s: %s', name, exc)

    @contextlib.contextmanager
    def active(self, name):
        """The LV (a COW snapshot: with its origin) active on this host
        for the block; yields its fresh Lv.  On a shared VG it is
        deactivated afterwards unless it was active here before (an
        export), so activation follows the work."""
        lv = self.require(name)
        # a COW snapshot shares its origin's lock and activation
        holder = lv.origin if lv.kind == 'cow-snapshot' else name
        if lv.major is not None:
            yield lv
            return
        self.activate(holder)
        try:
            yield self.require(name)
        finally:
            self.release(holder)

    def sweep_idle(self):
        """On a shared VG, deactivate this host's active LVs that nothing
        holds open: what a process that died mid-copy left, holding locks
        the other hosts need.  Exports are open (the target holds the
        device).  Call at start-up only.  Returns the names.  O(LVs)."""
        if not self.shared:
            return []
        idle = [lv.name for lv in self.lvs() if lv.active and not lv.open
                and lv.kind in ('thick', 'thin')]
        for name in idle:
            self._deactivate_quietly(name)
        return idle
