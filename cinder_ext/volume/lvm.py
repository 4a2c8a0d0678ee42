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

"""Cinder volume driver for logical volumes of one LVM volume group.

Thin LVs (default): create, snapshot, clone, volume from snapshot and
revert are O(1) thin snapshots and renames.  Thick LVs: COW snapshots,
clones by one copy that skips zero blocks, deletes that wipe by
``cinder_ext_volume_clear`` without an O(size) write where the device can
zero or discard.  Attach goes through Cinder's own target helpers
(``target_helper``: lioadm, tgtadm, nvmet, ...), as with the in-tree
driver.  Locks, manage/unmanage with rename, listings and the stats'
shape come from the shared skeleton (``base.BaseDriver``).

The volume group is recorded in ``provider_id``: ``provider_location``
belongs to the target helper (the iSCSI/NVMe export).
"""

import math

from cinder import exception as cinder_exception
from cinder.image import image_utils
from cinder import interface
from oslo_log import log as logging
from oslo_utils import importutils
from oslo_utils import units

from cinder_ext import exception
from cinder_ext import locks
from cinder_ext import opts
from cinder_ext.storage import lvm as lvm_store
from cinder_ext.storage import lvmcmd
from cinder_ext.storage import lvmreport
from cinder_ext.volume import base
from cinder_ext.volume import errors
from cinder_ext.volume import images
from cinder_ext.volume import locking
from cinder_ext.volume import manageable

LOG = logging.getLogger(__name__)
_VOLUME_KINDS = ('thin', 'thick')


def portal_hosts(provider_location):
    """The addresses of the portals an export names, from Cinder's iSCSI
    location ("IP:PORT[;IP:PORT...],TID IQN LUN"); empty when it names
    none (another protocol, or no export)."""
    first = (provider_location or '').split(' ')[0]
    portals = first.split(',')[0].split(';')
    return {p.rsplit(':', 1)[0].strip('[]') for p in portals if ':' in p}


@interface.volumedriver
class LvmDriver(base.BaseDriver):
    """Thin or thick LVs, exported by Cinder's target helpers."""

    VERSION = '1.0.0'
    DRIVER_OPTS = opts.lvm_driver_opts
    LOCATION_FIELD = 'provider_id'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = None
        helper = self.configuration.safe_get('target_helper') or 'lioadm'
        self.target_driver = importutils.import_object(
            self.target_mapping[helper], configuration=self.configuration,
            executor=self._execute)
        self.protocol = (self.target_driver.storage_protocol or
                         self.target_driver.protocol)

    @property
    def STORAGE_PROTOCOL(self):
        return self.protocol

    # -- setup ------------------------------------------------------------

    def _do_setup(self, context):
        conf = self.configuration
        thin = conf.cinder_ext_lvm_type == 'thin'
        with errors.translated('setup'):
            self.store = lvm_store.VgStore(
                conf.cinder_ext_volume_group,
                pool=conf.cinder_ext_thin_pool if thin else None,
                thin=thin, wipe=conf.cinder_ext_volume_clear,
                cow_percent=conf.cinder_ext_snapshot_reserve_percent,
                pool_data_limit=conf.cinder_ext_pool_data_limit,
                pool_metadata_limit=conf.cinder_ext_pool_metadata_limit)

    def _do_check_setup(self):
        try:
            vg = self.store.check()
        except exception.CinderExtException as exc:
            raise cinder_exception.VolumeBackendAPIException(data=exc.msg)
        if self.cluster_name and not lvmreport.is_shared(vg):
            # Members on other hosts would write LVs this host's
            # device-mapper does not know, and never see each other's.
            raise cinder_exception.InvalidConfigurationValue(
                option='cinder_ext_volume_group',
                value='%s (cluster %s: the VG is local to this host, lock '
                      'type %s; an active/active LVM backend needs a VG '
                      'every member sees, shared under lvmlockd: vgcreate '
                      '--shared, lock type sanlock or dlm)' % (
                          vg.name, self.cluster_name, vg.lock_type))
        if self.cluster_name and self.store.pool is not None:
            # lvmlockd keeps a thin pool, with all its thin LVs, active on
            # one host at a time: the other members could serve none.
            raise cinder_exception.InvalidConfigurationValue(
                option='cinder_ext_lvm_type',
                value='thin (cluster %s on shared VG %s: lvmlockd lets a '
                      'thin pool and its thin LVs be active on one host at '
                      'a time; an active/active LVM backend uses thick LVs)'
                      % (self.cluster_name, vg.name))
        # On a shared VG, LVs a dead process of this host left active hold
        # locks the other members need; exports stay (the target holds them)
        idle = self.store.sweep_idle()
        if idle:
            LOG.info('Deactivated idle LVs of shared VG %(vg)s: %(lvs)s',
                     {'vg': vg.name, 'lvs': ', '.join(idle)})

    def _do_half_made(self):
        """What interrupted operations left: a half-made LV is removed; an
        LV a revert moved aside goes back to its name while that is free.
        O(LVs), one report."""
        for name, key, restore_to in self.store.temporaries():
            yield (key, 'LV %s in %s' % (name, self.store.vg),
                   lambda n=name, r=restore_to: self.store.settle_temporary(
                       n, r))

    # -- helpers ----------------------------------------------------------

    def _thin(self, volume):
        return (self.store.pool is not None and
                self._provisioning(volume) != 'thick')

    @staticmethod
    def _storage_name(name):
        """LVM refuses names starting "snapshot" (or "pvmove"): such a
        Cinder name gets a leading underscore, as in the in-tree driver,
        so snapshots it made are found under the same names."""
        return '_' + name if name.startswith(('snap', 'pvmove')) else name

    def _lv(self, obj):
        return self._storage_name(obj.name)

    def _check_location(self, obj):
        location = self._location(obj)
        if location and location != self.store.vg:
            raise exception.NotFound(name=self._lv(obj), location=location)

    # -- volumes and snapshots (hooks of base.BaseDriver) -----------------

    def _do_create(self, volume):
        self.store.create(self._lv(volume), volume.size * units.Gi,
                          thin=self._thin(volume))
        return self.store.vg

    def _do_remove_everywhere(self, name):
        return [self.store.vg] if self.store.delete(name) else []

    def _do_delete(self, volume):
        self._check_location(volume)
        return self.store.delete(self._lv(volume))

    def _do_extend(self, volume, new_size):
        self._check_location(volume)
        self.store.extend(self._lv(volume), new_size * units.Gi)
        self.target_driver.extend_target(volume)

    def _do_instant_copy(self, volume):
        # Thin snapshots and COW snapshots are both taken at one instant;
        # a copy of an open thick LV reads such a snapshot.
        return True

    def _do_copy_to_new_volume(self, volume, source, source_key):
        """Thin: a thin snapshot of the source, O(1).  Thick: one copy
        skipping zero blocks, under the source's lock (its LV cannot be
        pinned as a file can) and, for a snapshot, its origin's."""
        self._check_location(source)
        keys = [locks.for_key(source_key)]
        origin = getattr(source, 'volume_id', None)
        if origin:
            # A snapshot's origin too: a COW snapshot is activated with
            # its origin, under the origin's one lvmlockd lock, so work on
            # either must not overlap (doc/locks.rst).
            keys.append(locks.for_key(origin))
        with locking.held(*keys):
            self.store.clone(self._lv(source), self._lv(volume),
                             volume.size * units.Gi, volume.id,
                             thin=self._thin(volume))
        return self.store.vg

    def _do_revert(self, volume, snapshot):
        self._check_location(volume)
        self.store.revert(self._lv(volume), self._lv(snapshot), volume.id)

    def _do_snapshot(self, snapshot):
        self._check_location(snapshot.volume)
        self.store.snapshot(self._lv(snapshot.volume), self._lv(snapshot))
        return self.store.vg

    def _do_delete_snapshot(self, snapshot, location):
        if location != self.store.vg:
            raise exception.NotFound(name=snapshot.name, location=location)
        return self.store.delete(self._lv(snapshot))

    # -- manage (hooks of base.BaseDriver) --------------------------------

    def _do_resolve(self, existing_ref, volume):
        """``source-name`` is an LV name of the volume group, checked
        against LVM's name rules before any command sees it."""
        name = existing_ref.get('source-name') if isinstance(
            existing_ref, dict) else None
        if not name or not isinstance(name, str):
            raise exception.InvalidName(name=existing_ref,
                                        reason='source-name is required')
        lvmcmd.check_name(name)
        if volume is not None:
            self._check_location(volume)
        lv = self.store.lv(name)
        if lv is None:
            raise exception.NotFound(name=name, location=self.store.location)
        return base.ManageSource(self.store.vg, name,
                                 int(math.ceil(lv.size / units.Gi)) or 1)

    def _judge_lv(self, lv, want_snapshot):
        """Why an LV must not be managed (as a volume or a snapshot)."""
        if lvmcmd.is_temporary(lv.name):
            return 'a half-made LV of an operation in progress'
        if lv.kind in ('pool', 'internal', 'other'):
            return 'it is a %s LV' % ('thin pool' if lv.kind == 'pool'
                                      else 'LVM-internal')
        if lv.open:
            return 'it is open'
        is_snapshot = lv.kind == 'cow-snapshot' or bool(
            lv.kind == 'thin' and lv.origin)
        if want_snapshot and not is_snapshot:
            return 'it is not a snapshot'
        if not want_snapshot:
            if lv.kind == 'cow-snapshot':
                return 'it is a COW snapshot'
            if lv.cow_origin:
                return 'it is the origin of COW snapshots'
        return None

    def _do_check_source(self, source):
        lv = self.store.lv(source.path)
        if lv is None:
            return 'it does not exist'
        # A snapshot is managed with a volume; anything else as a volume.
        want_snapshot = lv.kind == 'cow-snapshot'
        return self._judge_lv(lv, want_snapshot)

    def _do_rename(self, location, src, dst):
        if location != self.store.vg:
            raise exception.NotFound(name=src, location=location)
        self.store.rename(src, dst)

    def _do_grow_managed(self, location, name, size_gb):
        lv = self.store.lv(name)
        if lv is not None and lv.size < size_gb * units.Gi:
            self.store.extend(name, size_gb * units.Gi)

    def _do_candidates(self, kind):
        """From one ``lvs`` report: O(LVs), no command per LV."""
        want_snapshot = kind == 'snapshot'
        found = []
        for lv in self.store.lvs():
            if lv.kind in ('pool', 'internal') or lv.name.startswith('['):
                continue
            is_snapshot = lv.kind == 'cow-snapshot' or bool(
                lv.kind == 'thin' and lv.origin)
            if is_snapshot != want_snapshot:
                continue
            found.append(manageable.candidate(
                lv.name, {'source-name': lv.name},
                int(math.ceil(lv.size / units.Gi)) or 1,
                lambda lv=lv: self._judge_lv(lv, want_snapshot),
                {'volume_group': self.store.vg, 'kind': lv.kind,
                 'attr': lv.attr},
                {'source-name': lv.origin} if want_snapshot else None))
        return found

    # -- exports and connections (Cinder's target helpers) ----------------

    @errors.translate
    def create_export(self, context, volume, connector):
        path = self.store.activate(self._lv(volume))
        export = self.target_driver.create_export(context, volume, path)
        return {'provider_location': export['location'],
                'provider_auth': export['auth']}

    def _exported_elsewhere(self, volume):
        """On a shared VG, whether another member's target exports the
        volume: its portal is not one of this host's addresses."""
        hosts = portal_hosts(volume.provider_location)
        ours = {self.configuration.safe_get('target_ip_address')}
        ours.update(self.configuration.safe_get(
            'target_secondary_ip_addresses') or [])
        return bool(hosts) and not hosts & ours

    @errors.translate
    def ensure_export(self, context, volume):
        """At start-up, for each in-use volume of the backend.  On a
        shared VG every member is asked about every volume of the cluster:
        one exported by another member (its portal, or its LV locked by
        that host) is left to it, not taken over or marked in error."""
        name = self._lv(volume)
        if self.store.shared and self._exported_elsewhere(volume):
            LOG.debug('%s is exported by another member', name)
            return
        try:
            path = self.store.activate(name)
        except exception.LvBusy as exc:
            if not self.store.shared:
                raise
            LOG.info('Not re-exporting %(lv)s: %(err)s',
                     {'lv': name, 'err': exc.msg})
            return
        return self.target_driver.ensure_export(context, volume, path)

    def remove_export(self, context, volume):
        self.target_driver.remove_export(context, volume)
        # on a shared VG the LV's lock goes back to the other members
        self.store.release(self._lv(volume))

    def initialize_connection(self, volume, connector):
        return self.target_driver.initialize_connection(volume, connector)

    def validate_connector(self, connector):
        return self.target_driver.validate_connector(connector)

    def terminate_connection(self, volume, connector, **kwargs):
        """As the in-tree driver: one export per volume; keep it while
        another attachment of a multiattach volume uses it from the same
        host."""
        def same_connector(attach):
            return (attach.connector and self.target_driver
                    .are_same_connector(attach.connector, connector))

        attachments = volume.volume_attachment
        if volume.multiattach and sum(
                1 for a in filter(same_connector, attachments)) > 1:
            return True
        self.target_driver.terminate_connection(volume, connector, **kwargs)
        return len(attachments) > 1

    @errors.translate
    def local_path(self, volume):
        return self.store.path(self._lv(volume))

    # -- images -----------------------------------------------------------

    @errors.translate
    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        """Cinder's fetch_to_raw on the LV's device: the image is
        downloaded, its format checked against Glance's and its virtual
        size against the volume's (refused before the LV is written), then
        ``qemu-img convert -O raw`` onto the device.  O(image size)."""
        name = self._lv(volume)
        with self.store.active(name):
            image_utils.fetch_to_raw(context, image_service, image_id,
                                     self.store.path(name),
                                     self.configuration.volume_dd_blocksize,
                                     size=volume.size,
                                     disable_sparse=disable_sparse)

    @errors.translate
    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        """A raw upload streams the LV's bytes; any other format is our own
        conversion with ``-f raw`` into a temporary file, so the bytes a
        user wrote never choose how they are read (Cinder's upload_volume
        would probe them).  O(size)."""
        name = self._lv(volume)
        with self.store.active(name):
            images.upload(context, volume, image_service, image_meta,
                          self.store.path(name))

    # -- stats ------------------------------------------------------------

    def _do_stats(self):
        """VG and thin pool capacity from one vgs and one lvs report."""
        try:
            stats = self.store.stats()
        except exception.CinderExtException as exc:
            LOG.warning('No stats from %(vg)s: %(err)s',
                        {'vg': self.store.vg, 'err': exc.msg})
            return {'total_capacity_gb': 0, 'free_capacity_gb': 0,
                    'provisioned_capacity_gb': 0}
        if self.store.pool is not None and 'pool_size' in stats:
            total, free = stats['pool_size'], stats['pool_free']
        else:
            total, free = stats['vg_size'], stats['vg_free']
        result = {
            'total_capacity_gb': round(total / units.Gi, 2),
            'free_capacity_gb': round(free / units.Gi, 2),
            'provisioned_capacity_gb': round(
                stats['provisioned'] / units.Gi, 2),
            'total_volumes': stats['lv_count'],
            'multiattach': True,
            'sparse_copy_volume': self.store.pool is not None,
            'volume_group': self.store.vg,
            'vg_free_capacity_gb': round(stats['vg_free'] / units.Gi, 2),
        }
        if 'pool_size' in stats:
            result.update(
                thin_pool=self.store.pool,
                pool_data_percent=stats['pool_data_percent'],
                pool_metadata_percent=stats['pool_metadata_percent'])
        return result
