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

"""The two drivers of the LVM benchmark, behind one small interface.

``Ours``: cinder_ext.volume.lvm.LvmDriver, in-process privileged layer
(privsep client mode off, as in the functional tests), its executor seam
(``cinder_ext.storage.executor.execute``) pointed at the guest.

``Anchor``: cinder's in-tree LVMVolumeDriver with ``execute=`` the guest's
(it hands that to cinder.brick's LVM as ``executor=`` and to its target
helper).  The in-tree code also runs commands it is not given an executor
for: cinder.brick's static LVM queries (``putils.execute``) and
``volume_utils.clear_volume`` / ``check_for_odirect_support``
(``cinder.utils.execute`` -> ``processutils.execute``): ``install`` points
``processutils.execute`` at the guest too, so none of them can run on this
host.  ``_clear_volume`` checks ``os.path.exists(dev)`` before its dd: the
driver module's ``os`` asks the guest for /dev paths.
"""

from bench_nfs import new_volume  # noqa: F401  (re-exported)

from lvm import guest as lguest

BACKENDS = {('ours', 'thin'): 'bench_ours_thin',
            ('ours', 'thick'): 'bench_ours_thick',
            ('anchor', 'thin'): 'bench_anchor_thin',
            ('anchor', 'thick'): 'bench_anchor_thick'}


def install(vg, ours_exec, anchor_exec):
    """Route both drivers' commands to the guest; register the backends
    (the privileged layer accepts only the VGs of enabled_backends)."""
    from cinder.volume.drivers import lvm as intree_lvm
    from oslo_concurrency import processutils
    from oslo_config import cfg

    from cinder_ext import privileged
    from cinder_ext.privileged import lvm as privileged_lvm
    from cinder_ext.storage import executor
    for context in (privileged.default,
                    getattr(privileged, 'lvm_admin', None)):
        if context is not None:
            context.set_client_mode(False)
    executor.execute = ours_exec
    processutils.execute = anchor_exec
    intree_lvm.os = lguest.GuestOs(vg.guest)
    ours = sorted(g for (who, _), g in BACKENDS.items() if who == 'ours')
    privileged_lvm.allowed_vgs()   # registers enabled_backends
    cfg.CONF.set_override('enabled_backends', ours)
    privileged_lvm.allowed_vgs()   # registers the VG option per backend
    for group in ours:
        cfg.CONF.set_override(privileged_lvm.VG_OPTION, lguest.VG,
                              group=group)


def _conf(group, opt_lists, overrides):
    from cinder.volume import configuration
    from cinder.volume import driver
    from oslo_config import cfg
    conf = configuration.Configuration(driver.volume_opts,
                                       config_group=group)
    for opts in opt_lists:
        conf.append_config_values(opts)
    for key, value in overrides.items():
        cfg.CONF.set_override(key, value, group=group)
    return conf


class Subject:
    who = None

    def __init__(self, ctxt, kind, execute):
        self.ctxt, self.kind, self.execute = ctxt, kind, execute
        self.group = BACKENDS[self.who, kind]
        self.label = '%s-%s' % (self.who, kind)

    def lv(self, obj):
        name = obj.name
        return '_' + name if name.startswith('snapshot') else name

    def create(self, vol):
        vol.update(self.driver.create_volume(vol) or {})

    def delete(self, vol):
        self.driver.delete_volume(vol)

    def clone(self, vol, src):
        vol.update(self.driver.create_cloned_volume(vol, src) or {})

    def snapshot(self, snap):
        snap.update(self.driver.create_snapshot(snap) or {})

    def delete_snapshot(self, snap):
        self.driver.delete_snapshot(snap)

    def listing(self):
        return self.driver.get_manageable_volumes(
            [], None, 1000, 0, ['size'], ['desc'])

    def stats(self):
        return self.driver.get_volume_stats(refresh=True)


class Ours(Subject):
    who = 'ours'

    def __init__(self, ctxt, kind, execute):
        super().__init__(ctxt, kind, execute)
        from cinder_ext import opts
        from cinder_ext.volume import lvm
        conf = _conf(self.group, [opts.lvm_driver_opts], {
            'cinder_ext_volume_group': lguest.VG,
            'cinder_ext_thin_pool': lguest.POOL,
            'cinder_ext_lvm_type': kind,
            'cinder_ext_volume_clear': 'auto',   # the default
            'target_helper': 'fake',
            'volume_backend_name': self.group})
        self.driver = lvm.LvmDriver(configuration=conf, host='bench')
        self.driver.do_setup(ctxt)
        self.driver.check_for_setup_error()

    def revert(self, vol, snap):
        self.driver.revert_to_snapshot(self.ctxt, vol, snap)


class Anchor(Subject):
    who = 'anchor'

    def __init__(self, ctxt, kind, execute):
        super().__init__(ctxt, kind, execute)
        from cinder.volume.drivers import lvm
        conf = _conf(self.group, [lvm.volume_opts], {
            'volume_group': lguest.VG,
            'lvm_type': 'thin' if kind == 'thin' else 'default',
            'lvm_conf_file': 'None',
            'target_helper': 'fake',
            'volume_backend_name': self.group})
        # volume_clear (zero), volume_clear_size (0: all),
        # volume_dd_blocksize (1M): cinder's defaults.
        self.driver = lvm.LVMVolumeDriver(configuration=conf, host='bench',
                                          execute=execute)
        self.driver.do_setup(ctxt)
        self.driver.check_for_setup_error()

    def revert(self, vol, snap):
        """What cinder's volume manager does (_revert_to_snapshot, then
        _revert_to_snapshot_generic when the driver raises
        NotImplementedError, as the in-tree driver does for thin LVs),
        minus the attach of both volumes (the LVs are local paths here)
        and the capabilities RPC (sparse_copy_volume is the driver's)."""
        from cinder.objects import fields
        from cinder.volume import volume_utils
        from oslo_utils import units
        try:
            self.driver.revert_to_snapshot(self.ctxt, vol, snap)
            return
        except (NotImplementedError, AttributeError):
            pass
        temp = self.driver._create_temp_volume_from_snapshot(
            self.ctxt, vol, snap, volume_options={
                'display_name': '[revert] temporary volume created from '
                                'snapshot %s' % snap.id},
            status=fields.VolumeStatus.IN_USE)
        volume_utils.copy_volume(
            self.driver.local_path(temp), self.driver.local_path(vol),
            int(temp['size']) * units.Ki,
            self.driver.configuration.volume_dd_blocksize,
            sparse=bool(self.driver._sparse_copy_volume))
        self.driver.delete_volume(temp)
        temp.destroy()
