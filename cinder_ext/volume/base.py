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

"""The driver skeleton that every cinder-ext backend shares.

It knows Cinder and nothing of storage: Cinder's naming templates, the
lock map (doc/locks.rst) taken through ``locking.synchronized`` / ``held``,
manage and unmanage with a rename that never clobbers a name, the
manageable listings with reasons, the refusal of node-local locks in a
cluster, error translation at one point and the shape of the stats.  A
backend subclass adds a store and implements the ``_do_*`` hooks below,
each of which works on storage names and raises ``cinder_ext.exception``
errors; the skeleton turns those into Cinder's exceptions.
"""

from cinder import coordination
from cinder import exception as cinder_exception
from cinder.volume import driver
from cinder.volume import volume_utils
from oslo_config import cfg
from oslo_log import log as logging
from tooz import coordination as tooz_coordination

from cinder_ext import coordination_check
from cinder_ext import exception
from cinder_ext import locks
from cinder_ext.volume import errors
from cinder_ext.volume import locking
from cinder_ext.volume import manageable

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class ManageSource:
    """What a manage reference resolved to on the backend."""

    def __init__(self, location, path, size_gb):
        self.location = location  # share or volume group: provider_location
        self.path = path          # the object's name there
        self.size_gb = size_gb


class BaseDriver(driver.ManageableVD, driver.ManageableSnapshotsVD,
                 driver.BaseVD):
    """Locks, naming, manage, listings and stats for one backend store."""

    VENDOR = 'cinder-ext'
    CI_WIKI_NAME = 'cinder-ext_CI'
    SUPPORTS_ACTIVE_ACTIVE = True
    DRIVER_OPTS = []   # the backend's own options, with help text
    STORAGE_PROTOCOL = None
    # Where a volume or snapshot records the share or volume group that
    # holds it; set only once the object is complete, so an object
    # without it was never made (or its create died half-way).
    LOCATION_FIELD = 'provider_location'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(self.DRIVER_OPTS)
        self._namer = None

    @classmethod
    def get_driver_options(cls):
        return cls.DRIVER_OPTS

    # -- setup ------------------------------------------------------------

    def do_setup(self, context):
        self._check_cluster_locks()
        self._namer = manageable.Namer(
            self._storage_name(CONF.volume_name_template),
            self._storage_name(CONF.snapshot_name_template),
            self.configuration.cinder_ext_unmanaged_prefix)
        self._do_setup(context)

    def _check_cluster_locks(self):
        """In a cluster, refuse locks that hold within one node only."""
        if not self.cluster_name:
            return
        lock_dir = coordination_check.node_local_lock_dir(
            CONF.coordination.backend_url)
        if lock_dir:
            raise cinder_exception.InvalidConfigurationValue(
                option='[coordination] backend_url',
                value='%s (cluster %s: the lock directory %s is not on a '
                      'filesystem shared by the cluster\'s nodes; use etcd, '
                      'redis or zookeeper)' % (CONF.coordination.backend_url,
                                               self.cluster_name, lock_dir))

    def check_for_setup_error(self):
        self._do_check_setup()
        # Whatever is found on the storage is input, not truth: nothing
        # left there may stop the backend from starting.
        try:
            half_made = list(self._do_half_made())
        except exception.CinderExtException as exc:
            LOG.warning('Not sweeping half-made objects: %s', exc.msg)
            return
        for key, description, remove in half_made:
            self._sweep_one(key, description, remove)

    @staticmethod
    def _sweep_one(key, description, remove):
        """Remove an object half-made by an operation whose lock is free:
        one in progress on another service holds the lock of ``key``."""
        try:
            with locking.held(locks.for_key(key), blocking=False):
                LOG.info('Removing %s, left half-made', description)
                remove()
        except tooz_coordination.LockAcquireFailed:
            return
        except (tooz_coordination.ToozError,
                exception.CinderExtException) as exc:
            LOG.warning('Not sweeping %(what)s: %(err)s',
                        {'what': description, 'err': exc})

    @staticmethod
    def _storage_name(name):
        """The name the storage gives a Cinder name (or name template)."""
        return name

    @staticmethod
    def _provisioning(volume):
        """'thin' or 'thick' from the volume type's provisioning:type
        extra spec, or None."""
        specs = {}
        if volume.volume_type_id:
            try:
                specs = volume.volume_type.extra_specs or {}
            except Exception:   # a type deleted meanwhile: the default
                specs = {}
        provisioning = specs.get('provisioning:type')
        return provisioning if provisioning in ('thin', 'thick') else None

    def _location(self, obj):
        return getattr(obj, self.LOCATION_FIELD, None)

    def _located(self, location):
        return {self.LOCATION_FIELD: location}

    def _remove_half_made(self, key, name=None):
        """Remove what a create that never finished left (we hold the
        lock of ``key``, so no live operation owns it): temporaries, and
        ``name`` where a create, clone or manage put it in place but died
        before Cinder recorded its location.  O(objects), on this path
        only."""
        for half_key, description, remove in self._do_half_made():
            if half_key == key:
                LOG.info('Removing %s, left half-made', description)
                remove()
        if name is not None:
            for location in self._do_remove_everywhere(
                    self._storage_name(name)):
                LOG.info('Removed %(name)s from %(where)s: its create or '
                         'manage never finished', {'name': name,
                                                   'where': location})

    # -- volumes ----------------------------------------------------------

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def create_volume(self, volume):
        return self._located(self._do_create(volume))

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def delete_volume(self, volume):
        if not self._location(volume):
            self._remove_half_made(volume.id, volume.name)
            return
        if not self._do_delete(volume):
            LOG.info('Volume %s was already gone.', volume.name)

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def extend_volume(self, volume, new_size):
        self._do_extend(volume, new_size)

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def create_cloned_volume(self, volume, src_vref):
        self._refuse_torn_copy(src_vref, 'clone')
        return self._located(self._do_copy_to_new_volume(
            volume, src_vref, src_vref.id))

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def create_volume_from_snapshot(self, volume, snapshot):
        return self._located(self._do_copy_to_new_volume(
            volume, snapshot, snapshot.id))

    @locking.synchronized(locks.VOLUME, locks.SNAPSHOT)
    @errors.translate
    def revert_to_snapshot(self, context, volume, snapshot):
        self._do_revert(volume, snapshot)

    def _refuse_torn_copy(self, volume, what):
        """A copy of an attached volume is consistent only when taken at
        one instant; a copy that a guest writes into meanwhile is torn."""
        if volume.status == 'in-use' and not self._do_instant_copy(volume):
            raise exception.InstantCopyUnsupported(
                location=self._location(volume),
                reason='a %s of an attached volume needs one' % what)

    # -- snapshots --------------------------------------------------------

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    @errors.translate
    def create_snapshot(self, snapshot):
        self._refuse_torn_copy(snapshot.volume, 'snapshot')
        return self._located(self._do_snapshot(snapshot))

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    @errors.translate
    def delete_snapshot(self, snapshot):
        location = self._location(snapshot)
        if not location:
            self._remove_half_made(snapshot.id)
            location = (self._location(snapshot.volume)
                        if snapshot.volume else None)
        if not location:
            LOG.warning('Snapshot %s has no location; nothing to delete.',
                        snapshot.id)
            return
        if not self._do_delete_snapshot(snapshot, location):
            LOG.info('Snapshot %s was already gone.', snapshot.name)

    # -- manage / unmanage ------------------------------------------------

    def _manage_source(self, existing_ref, volume=None):
        """The ManageSource of a reference, or ManageExistingInvalidRef.

        ``volume``: a snapshot's source must lie where its volume does.
        """
        try:
            source = self._do_resolve(existing_ref, volume)
            kind, _id = self._namer.managed_id(source.path.rsplit('/', 1)[-1])
            if kind:
                raise cinder_exception.ManageExistingAlreadyManaged(
                    volume_ref=existing_ref.get('source-name'))
            reason = self._do_check_source(source)
        except exception.CinderExtException as exc:
            raise errors.invalid_reference(existing_ref, exc)
        if reason:
            raise errors.invalid_reference(existing_ref, reason)
        return source

    def manage_existing_get_size(self, volume, existing_ref):
        return self._manage_source(existing_ref).size_gb

    @locking.synchronized(locks.VOLUME)
    def manage_existing(self, volume, existing_ref):
        return self._take(self._manage_source(existing_ref),
                          self._storage_name(volume.name), existing_ref,
                          grow=True)

    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        return self._manage_source(existing_ref, snapshot.volume).size_gb

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    def manage_existing_snapshot(self, snapshot, existing_ref):
        return self._take(self._manage_source(existing_ref, snapshot.volume),
                          self._storage_name(snapshot.name), existing_ref,
                          grow=False)

    def _take(self, source, name, existing_ref, grow):
        """Rename the source to Cinder's name under the source's own lock,
        so two manages of one object never interleave; the second finds
        it gone.  A failed grow renames it back."""
        with locking.held(locks.for_manage_source(source.location,
                                                  source.path)):
            try:
                self._do_rename(source.location, source.path, name)
            except exception.CinderExtException as exc:
                raise errors.invalid_reference(existing_ref, exc)
            if grow:
                try:
                    with errors.translated('manage_existing'):
                        # Cinder records the size rounded up to GiB.
                        self._do_grow_managed(source.location, name,
                                              source.size_gb)
                except Exception:
                    with errors.translated('manage_existing rollback'):
                        self._do_rename(source.location, name, source.path)
                    raise
        return self._located(source.location)

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def unmanage(self, volume):
        self._unmanage(volume)

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    @errors.translate
    def unmanage_snapshot(self, snapshot):
        self._unmanage(snapshot)

    def _unmanage(self, obj):
        location = self._location(obj)
        if not location:
            return
        target = self._namer.unmanaged(obj.name)
        try:
            # under the lock a manage of ``target`` takes: a manage never
            # sees the name while this rename makes it
            with locking.held(locks.for_manage_source(location, target)):
                self._do_rename(location, self._storage_name(obj.name),
                                target)
        except exception.NotFound:
            LOG.warning('%s is gone from %s; nothing to rename.',
                        obj.name, location)
            return
        LOG.info('Unmanaged %(name)s: renamed to %(target)s on %(where)s',
                 {'name': obj.name, 'target': target, 'where': location})

    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset,
                               sort_keys, sort_dirs):
        return self._manageable(cinder_volumes, 'volume', marker, limit,
                                offset, sort_keys, sort_dirs)

    def get_manageable_snapshots(self, cinder_snapshots, marker, limit,
                                 offset, sort_keys, sort_dirs):
        return self._manageable(cinder_snapshots, 'snapshot', marker, limit,
                                offset, sort_keys, sort_dirs)

    @errors.translate
    def _manageable(self, cinder_objects, kind, marker, limit, offset,
                    sort_keys, sort_dirs):
        ids = {obj['id'] for obj in cinder_objects}
        entries = [manageable.judge(candidate, self._namer, ids)
                   for candidate in self._do_candidates(kind)]
        return volume_utils.paginate_entries_list(entries, marker, limit,
                                                  offset, sort_keys,
                                                  sort_dirs)

    # -- stats ------------------------------------------------------------

    def _update_volume_stats(self):
        conf = self.configuration
        stats = {
            'volume_backend_name':
                conf.safe_get('volume_backend_name') or 'cinder-ext',
            'vendor_name': self.VENDOR,
            'driver_version': self.VERSION,
            'storage_protocol': self.STORAGE_PROTOCOL,
            # Free space is reported whole: Cinder's CapacityFilter takes
            # the reserved percentage off itself.
            'reserved_percentage': conf.safe_get('reserved_percentage') or 0,
            'max_over_subscription_ratio':
                conf.safe_get('max_over_subscription_ratio'),
            'thin_provisioning_support': True,
            'thick_provisioning_support': True,
            'online_extend_support': True,
            'QoS_support': False,
        }
        stats.update(self._do_stats())
        self._stats = stats

    # -- lock hygiene -----------------------------------------------------

    @classmethod
    def clean_volume_file_locks(cls, volume_id):
        coordination.synchronized_remove(locks.for_key(volume_id))

    @classmethod
    def clean_snapshot_file_locks(cls, snapshot_id):
        coordination.synchronized_remove(locks.for_key(snapshot_id))
