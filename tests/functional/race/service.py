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

"""A cinder-volume-like driver for one race process.

``setup`` builds what a cinder-volume service builds for this backend: the
configuration, Cinder's coordinator on the given tooz URL, the driver, its
start-up (which sweeps orphaned temporary files).  ``make_volume`` and
``make_snapshot`` give real (unsaved) Cinder objects.
"""

import logging
import time

from cinder import context as cinder_context
from cinder import coordination
from cinder import exception as cinder_exception
from cinder import objects
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_config import cfg

from cinder_ext import opts
from tests.functional.race import model
from tests.functional.race import probe

BACKEND = 'cinder-ext'


def setup(url, share, copy_method='auto', nolock=False, journal=None,
          worker=None):
    objects.register_all()
    cfg.CONF([], project='cinder', default_config_files=[])
    cfg.CONF.set_override('backend_url', url, group='coordination')
    conf = configuration.Configuration(cinder_driver.volume_opts,
                                       config_group=BACKEND)
    conf.append_config_values(opts.cinder_ext_opts)
    for key, value in {'cinder_ext_shares': [share],
                       'volume_backend_name': BACKEND,
                       'cinder_ext_use_privsep': False,
                       'cinder_ext_copy_method': copy_method}.items():
        cfg.CONF.set_override(key, value, group=BACKEND)
    coordination.COORDINATOR.start()
    from cinder_ext.volume import nfs
    drv = nfs.NfsDriver(configuration=conf)
    ctxt = cinder_context.get_admin_context()
    drv.do_setup(ctxt)
    for attempt in range(5):
        try:
            drv.check_for_setup_error()
            break
        except (cinder_exception.VolumeBackendAPIException,
                FileNotFoundError) as exc:
            # Another service's start-up sweep may remove this one's
            # write or reflink probe (a temporary file whose lock, keyed
            # "probe", nobody holds): a driver bug, recorded here.
            logging.warning('check_for_setup_error failed: %s', exc)
            if journal:
                model.append(journal, {
                    'w': worker, 'n': 0, 'op': 'startup', 'ok': False,
                    'clean': True, 'err': '%s: %s' % (type(exc).__name__, exc),
                    't0': time.time(),
                    't1': time.time(), 'inner': []})
            time.sleep(0.1)
    else:
        raise RuntimeError('check_for_setup_error keeps failing')
    if nolock:
        coordination.COORDINATOR.get_lock = probe.NoLock
    return drv, ctxt


def make_volume(ctxt, vid, size, share):
    vol = objects.Volume(context=ctxt, id=vid, size=size,
                         provider_location=share, volume_type_id=None,
                         _name_id=None, status='available',
                         host='race@cinder-ext#pool')
    return vol


def make_snapshot(ctxt, sid, volume):
    snap = objects.Snapshot(context=ctxt, id=sid, volume_id=volume.id,
                            volume_size=volume.size, status='available',
                            provider_location=volume.provider_location)
    snap.volume = volume
    return snap
