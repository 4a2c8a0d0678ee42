"""Cinder volume driver for NFS exports and other mounted POSIX shares.

Volumes and snapshots are flat raw files named by Cinder's templates.
Snapshots, clones, volumes from snapshots and reverts are reflinks where
the share supports them (O(extents)) and sparse copies otherwise
(O(allocated)); nothing here costs O(size) except a fully allocated create
on a share that refuses fallocate.  Every critical section holds tooz locks
through Cinder's coordination (lock map in doc/locks.rst; ``locking``
retries a release that fails), so several cinder-volume services may serve
one backend.
"""

import contextlib

from cinder.common import constants
from cinder import coordination
from cinder import exception as cinder_exception
from cinder.i18n import _
from cinder.image import image_utils
from cinder import interface
from cinder.scheduler import sched_utils
from cinder import utils
from cinder.volume import configuration
from cinder.volume import driver
from cinder.volume import volume_utils
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import units
from tooz import coordination as tooz_coordination

from cinder_ext import coordination_check
from cinder_ext import exception
from cinder_ext import locks
from cinder_ext import opts
from cinder_ext.storage import shares as shares_mod
from cinder_ext.volume import errors
from cinder_ext.volume import locking
from cinder_ext.volume import manageable

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts(opts.cinder_ext_opts,
                   group=configuration.SHARED_CONF_GROUP)


def _file_ops(use_privsep):
    if use_privsep:
        from cinder_ext.privileged import fileops
        return fileops
    from cinder_ext.storage import fileio
    return fileio


@interface.volumedriver
class NfsDriver(driver.ManageableVD, driver.ManageableSnapshotsVD,
                driver.BaseVD):
    """Raw files on NFS or POSIX shares, copied by reflink."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'cinder-ext_CI'
    VENDOR = 'cinder-ext'
    SUPPORTS_ACTIVE_ACTIVE = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(opts.cinder_ext_opts)
        self.shares = None
        self._namer = None

    @staticmethod
    def get_driver_options():
        return opts.cinder_ext_opts

    # -- setup ------------------------------------------------------------

    def do_setup(self, context):
        conf = self.configuration
        self._check_cluster_locks()
        try:
            self.shares = shares_mod.Shares(
                conf.cinder_ext_shares,
                _file_ops(conf.cinder_ext_use_privsep),
                conf.cinder_ext_mount_point_base,
                mount_options=conf.cinder_ext_mount_options,
                root_helper=utils.get_root_helper(),
                execute=processutils.execute,
                copy_method=conf.cinder_ext_copy_method)
        except exception.ShareUnavailable as exc:
            raise cinder_exception.InvalidConfigurationValue(
                option='cinder_ext_shares', value=exc.msg)
        # Without privsep the shares belong to the service user, and so
        # do qemu-img's reads and writes of image data.
        self._root = conf.cinder_ext_use_privsep
        self._namer = manageable.Namer(CONF.volume_name_template,
                                       CONF.snapshot_name_template,
                                       conf.cinder_ext_unmanaged_prefix)

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
        stores, failed = self.shares.stores()
        for exc in failed.values():
            LOG.warning('%s', exc.msg)
        if not stores:
            raise cinder_exception.VolumeBackendAPIException(
                data=_('No share of cinder_ext_shares is usable.'))
        for store in stores:
            try:
                store.check_writable()
                LOG.info('Share %(share)s at %(root)s: reflink %(ref)s',
                         {'share': store.share, 'root': store.root,
                          'ref': store.reflink})
            except exception.CinderExtException as exc:
                raise cinder_exception.VolumeBackendAPIException(
                    data=exc.msg)
            self._sweep(store)

    def _sweep(self, store):
        """Remove files half-made by an operation whose lock is free.

        An operation in progress on another service holds the lock whose
        key its temporary file carries, so only orphans are removed.
        """
        for name, key in store.temp_files():
            try:
                with locking.held(locks.for_key(key), blocking=False):
                    self._remove_temp(store, name)
            except tooz_coordination.LockAcquireFailed:
                continue
            except tooz_coordination.ToozError as exc:
                LOG.warning('Not sweeping %(name)s: %(err)s',
                            {'name': name, 'err': exc})

    @staticmethod
    def _remove_temp(store, name):
        LOG.info('Removing %(name)s left half-made on %(share)s',
                 {'name': name, 'share': store.share})
        store.remove(name)

    def _remove_half_made(self, key):
        """Remove the temporary files of a create that never finished.

        An object without a share was never completed: its service died
        in the create (Cinder's cleanup then set it to error) or the create
        failed.  Its files carry its id, and we hold its lock, so no live
        operation owns them.  O(files on the shares), only on this path.
        """
        stores, _failed = self.shares.stores()
        for store in stores:
            for name, temp_key in store.temp_files():
                if temp_key == key:
                    self._remove_temp(store, name)

    # -- helpers ----------------------------------------------------------

    def _store_of(self, obj):
        if not obj.provider_location:
            raise exception.NotFound(name=obj.name, location='any share')
        return self.shares.store(obj.provider_location)

    def _thick(self, volume):
        specs = {}
        if volume.volume_type_id:
            try:
                specs = volume.volume_type.extra_specs or {}
            except Exception:
                specs = {}
        provisioning = specs.get('provisioning:type')
        if provisioning in ('thin', 'thick'):
            return provisioning == 'thick'
        return not self.configuration.cinder_ext_sparse_volumes

    def _over_subscription(self, usage):
        conf = self.configuration
        capability = {
            'max_over_subscription_ratio':
                conf.safe_get('max_over_subscription_ratio'),
            'thin_provisioning_support': True,
            'total_capacity_gb': usage['total'] / units.Gi,
            'free_capacity_gb': usage['free'] / units.Gi,
            'provisioned_capacity_gb': usage['provisioned'] / units.Gi,
        }
        return sched_utils.calculate_max_over_subscription_ratio(
            capability, conf.safe_get('max_over_subscription_ratio') or 20.0)

    def _room(self, usage, size, thick):
        """Why ``size`` bytes do not fit a share's usage, or None."""
        reserved = usage['total'] * (
            self.configuration.safe_get('reserved_percentage') or 0) / 100.0
        if usage['free'] - reserved < (size if thick else 1):
            return 'free %d bytes, reserved %d' % (usage['free'], reserved)
        limit = (usage['total'] - reserved) * self._over_subscription(usage)
        if usage['provisioned'] + size > limit:
            return 'provisioned %d + %d bytes exceeds %d' % (
                usage['provisioned'], size, limit)
        return None

    def _place(self, size, thick, make):
        """Run ``make(store)`` on the first share with room.

        The share lock covers the capacity check and the file's creation,
        so concurrent creates on any service cannot oversubscribe a share:
        O(shares) checks, each O(files) without reading data.
        """
        stores, failed = self.shares.stores()
        reasons = {spec: exc.msg for spec, exc in failed.items()}
        for store in sorted(stores, key=lambda s: -s.capacity()['free']):
            with locking.held(locks.for_share(store.share)):
                reason = self._room(store.usage(), size, thick)
                if reason is None:
                    make(store)
                    return store
            reasons[store.share] = reason
        raise exception.NoShareFits(size=size // units.Gi, reason='; '.join(
            '%s: %s' % pair for pair in sorted(reasons.items())))

    # -- volumes ----------------------------------------------------------

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def create_volume(self, volume):
        size, thick = volume.size * units.Gi, self._thick(volume)
        store = self._place(size, thick, lambda store: store.create(
            volume.name, size, thick, volume.id))
        LOG.debug('Created %s on %s', volume.name, store.share)
        return {'provider_location': store.share}

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def delete_volume(self, volume):
        if not volume.provider_location:
            self._remove_half_made(volume.id)
            return
        if not self._store_of(volume).remove(volume.name):
            LOG.info('Volume %s was already gone.', volume.name)

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def extend_volume(self, volume, new_size):
        self._store_of(volume).extend(volume.name, new_size * units.Gi,
                                      self._thick(volume))

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def create_cloned_volume(self, volume, src_vref):
        return self._copy_to_new_volume(volume, src_vref, src_vref.id)

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def create_volume_from_snapshot(self, volume, snapshot):
        return self._copy_to_new_volume(volume, snapshot, snapshot.id)

    def _copy_to_new_volume(self, volume, source, source_key):
        """Reflink or sparse copy, on the source's share (reflink cannot
        cross filesystems); a larger volume grows in O(1)."""
        store = self._store_of(source)
        with self._pinned(store, source.name, source_key, volume.id) as pin:
            store.copy(pin, volume.name, volume.size * units.Gi,
                       self._thick(volume), volume.id)
        return {'provider_location': store.share}

    @contextlib.contextmanager
    def _pinned(self, store, name, source_key, key):
        """Hard-link the source under its lock, then copy without the lock.

        The link keeps the source's inode whatever a delete, revert or
        unmanage of the source does meanwhile, so the source's lock is
        held for O(1) instead of the whole copy, and clones of one source
        run in parallel.  The link is a temporary file keyed by ``key``,
        which the caller holds, so the start-up sweep leaves it alone.
        """
        with locking.held(locks.for_key(source_key)):
            pinned = store.pin(name, key)
        try:
            yield pinned
        finally:
            store.remove(pinned)

    @locking.synchronized(locks.VOLUME, locks.SNAPSHOT)
    @errors.translate
    def revert_to_snapshot(self, context, volume, snapshot):
        """Replace the volume by a copy of the snapshot, atomically."""
        store = self._store_of(snapshot)
        store.copy(snapshot.name, volume.name, volume.size * units.Gi,
                   self._thick(volume), volume.id, replace=True)

    # -- snapshots --------------------------------------------------------

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    @errors.translate
    def create_snapshot(self, snapshot):
        volume = snapshot.volume
        store = self._store_of(volume)
        if volume.status == 'in-use' and not store.reflink:
            # Only a reflink is taken at one instant; a copy of a file that
            # a guest writes meanwhile would be torn.
            raise exception.ReflinkUnsupported(
                location=store.share,
                reason='a snapshot of an attached volume needs reflink')
        store.copy(volume.name, snapshot.name,
                   snapshot.volume_size * units.Gi, False, snapshot.id,
                   tag=volume.name)
        return {'provider_location': store.share}

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    @errors.translate
    def delete_snapshot(self, snapshot):
        if not snapshot.provider_location:
            self._remove_half_made(snapshot.id)
        location = snapshot.provider_location or (
            snapshot.volume.provider_location if snapshot.volume else None)
        if not location:
            LOG.warning('Snapshot %s has no share; nothing to delete.',
                        snapshot.id)
            return
        if not self.shares.store(location).remove(snapshot.name):
            LOG.info('Snapshot %s was already gone.', snapshot.name)

    # -- manage / unmanage ------------------------------------------------

    def _manage_source(self, existing_ref, only_store=None):
        """(store, path, size_gb) of a manage reference, or refuse it."""
        try:
            store, path = manageable.resolve(self.shares, existing_ref,
                                             only_store)
            kind, _id = self._namer.managed_id(path.rsplit('/', 1)[-1])
            if kind:
                raise cinder_exception.ManageExistingAlreadyManaged(
                    volume_ref=existing_ref.get('source-name'))
            reason, size_gb = manageable.check(store, path)
        except exception.CinderExtException as exc:
            raise errors.invalid_reference(existing_ref, exc)
        if reason:
            raise errors.invalid_reference(existing_ref, reason)
        return store, path, size_gb

    def manage_existing_get_size(self, volume, existing_ref):
        return self._manage_source(existing_ref)[2]

    @locking.synchronized(locks.VOLUME)
    def manage_existing(self, volume, existing_ref):
        store, path, size_gb = self._manage_source(existing_ref)
        self._rename_for_manage(store, path, volume.name, existing_ref)
        with errors.translated("manage_existing"):
            # Cinder records the size rounded up to GiB; the file follows.
            store.extend(volume.name, size_gb * units.Gi, False)
        return {'provider_location': store.share}

    def _rename_for_manage(self, store, path, name, existing_ref):
        try:
            store.rename(path, name)
        except exception.CinderExtException as exc:
            raise errors.invalid_reference(existing_ref, exc)

    @locking.synchronized(locks.VOLUME)
    @errors.translate
    def unmanage(self, volume):
        self._unmanage(volume)

    def _unmanage(self, obj):
        if not obj.provider_location:
            return
        store = self._store_of(obj)
        target = self._namer.unmanaged(obj.name)
        try:
            store.rename(obj.name, target)
        except exception.NotFound:
            LOG.warning('%s is gone from %s; nothing to rename.',
                        obj.name, store.share)
            return
        LOG.info('Unmanaged %(name)s: renamed to %(target)s on %(share)s',
                 {'name': obj.name, 'target': target, 'share': store.share})

    def _snapshot_source(self, snapshot, existing_ref):
        try:
            volume_store = self._store_of(snapshot.volume)
        except exception.CinderExtException as exc:
            raise errors.invalid_reference(existing_ref, exc)
        return self._manage_source(existing_ref, only_store=volume_store)

    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        return self._snapshot_source(snapshot, existing_ref)[2]

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    def manage_existing_snapshot(self, snapshot, existing_ref):
        store, path, _size = self._snapshot_source(snapshot, existing_ref)
        self._rename_for_manage(store, path, snapshot.name, existing_ref)
        return {'provider_location': store.share}

    @locking.synchronized(locks.SNAPSHOT, locks.SNAPSHOT_SOURCE)
    @errors.translate
    def unmanage_snapshot(self, snapshot):
        self._unmanage(snapshot)

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
        entries = manageable.listing(self.shares.stores()[0], self._namer,
                                     ids, kind)
        return volume_utils.paginate_entries_list(entries, marker, limit,
                                                  offset, sort_keys,
                                                  sort_dirs)

    # -- connections and images -------------------------------------------

    @errors.translate
    def initialize_connection(self, volume, connector):
        store = self._store_of(volume)
        if self.shares.is_nfs(store.share):
            data = {'export': store.share, 'name': volume.name,
                    'format': 'raw'}
            if self.configuration.cinder_ext_mount_options:
                data['options'] = self.configuration.cinder_ext_mount_options
            return {'driver_volume_type': 'nfs', 'data': data,
                    'mount_point_base': self.shares.mount_point_base()}
        return {'driver_volume_type': 'local',
                'data': {'device_path': store.path(volume.name),
                         'format': 'raw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        pass

    def create_export(self, context, volume, connector):
        pass

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        pass

    def local_path(self, volume):
        return self._store_of(volume).path(volume.name)

    @errors.translate
    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        store = self._store_of(volume)
        image_utils.fetch_to_raw(context, image_service, image_id,
                                 store.path(volume.name),
                                 self.configuration.volume_dd_blocksize,
                                 size=volume.size, run_as_root=self._root,
                                 disable_sparse=disable_sparse)
        # The conversion left the image's own size; grow to the volume's
        # without ever asking qemu-img to probe the written bytes.
        store.extend(volume.name, volume.size * units.Gi, self._thick(volume))

    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        volume_utils.upload_volume(context, image_service, image_meta,
                                   self.local_path(volume), volume,
                                   run_as_root=self._root)

    # -- stats ------------------------------------------------------------

    def _update_volume_stats(self):
        """Capacity of the reachable shares: statvfs and one directory
        scan each, O(files) without reading data."""
        conf = self.configuration
        total = free = provisioned = 0
        stores, _failed = self.shares.stores()
        for store in stores:
            try:
                usage = store.usage()
            except exception.CinderExtException as exc:
                LOG.warning('No stats from %(share)s: %(err)s',
                            {'share': store.share, 'err': exc.msg})
                continue
            reserved = usage['total'] * (
                conf.safe_get('reserved_percentage') or 0) / 100.0
            total += usage['total']
            free += max(usage['free'] - reserved, 0)
            provisioned += usage['provisioned']
        self._stats = {
            'volume_backend_name':
                conf.safe_get('volume_backend_name') or 'cinder-ext',
            'vendor_name': self.VENDOR,
            'driver_version': self.VERSION,
            'storage_protocol': constants.NFS,
            'total_capacity_gb': round(total / units.Gi, 2),
            'free_capacity_gb': round(free / units.Gi, 2),
            'provisioned_capacity_gb': round(provisioned / units.Gi, 2),
            'reserved_percentage': conf.safe_get('reserved_percentage') or 0,
            'max_over_subscription_ratio':
                conf.safe_get('max_over_subscription_ratio'),
            'thin_provisioning_support': True,
            'thick_provisioning_support': True,
            'sparse_copy_volume': True,
            'online_extend_support': True,
            'multiattach': False,
            'QoS_support': False,
            'reflink_support': bool(stores) and all(
                s.reflink for s in stores),
            'shares': len(stores),
        }

    # -- lock hygiene -----------------------------------------------------

    @classmethod
    def clean_volume_file_locks(cls, volume_id):
        coordination.synchronized_remove(locks.for_key(volume_id))

    @classmethod
    def clean_snapshot_file_locks(cls, snapshot_id):
        coordination.synchronized_remove(locks.for_key(snapshot_id))
