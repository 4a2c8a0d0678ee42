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

"""One cluster member racing others on a shared VG (tests/functional/lvm_race).

    python -m tests.functional.lvm_race.worker --guest NAME --vg VG
        --url URL --seed S --worker N --ops K --go FILE
        --volume ID:SNAPSHOT_ID:DIGEST [...] [--nolock]

Builds what a cinder-volume member of the cluster builds (Cinder's
coordinator on the tooz URL, the LvmDriver, its start-up with the sweep
of this host's idle LVs), its commands run in the guest; prints "ready",
waits for the file ``--go`` (every member's start-up is over before any
operation starts), then runs K operations drawn from the seed on the
given volumes, each of which has a snapshot and holds a 1 MiB pattern of
a known digest.  One JSON line per operation on stdout: op, volume, ok,
err, digest (of the copy it made, where it made one).  ``--nolock``
replaces the coordinator's locks with no-op locks.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time
import uuid

from tests.functional.race import probe
from tests.functional.race import service

OPS = ('clone', 'from_snapshot', 'revert', 'snapshot')
MiB = 1024 ** 2


def setup(guest, vg, url, nolock):
    from cinder import context
    from cinder import coordination
    from cinder import objects
    from cinder.volume import configuration
    from cinder.volume import driver as cinder_driver
    from oslo_config import cfg

    from cinder_ext import opts
    from cinder_ext import privileged
    from cinder_ext.privileged import lvm as privileged_lvm
    from cinder_ext.storage import executor
    from cinder_ext.volume import lvm

    objects.register_all()
    backend, conf = 'lvm-race', cfg.CONF
    conf([], project='cinder', default_config_files=[])
    conf.set_override('backend_url', url, group='coordination')
    conf.set_override('enabled_backends', [backend])
    config = configuration.Configuration(cinder_driver.volume_opts,
                                         config_group=backend)
    config.append_config_values(opts.lvm_driver_opts)
    privileged_lvm.allowed_vgs()   # registers its option
    for name, value in ((privileged_lvm.VG_OPTION, vg),
                        ('cinder_ext_volume_group', vg),
                        ('cinder_ext_lvm_type', 'thick'),
                        ('cinder_ext_snapshot_reserve_percent', 10),
                        ('target_helper', 'fake'),
                        ('volume_backend_name', backend)):
        conf.set_override(name, value, group=backend)
    privileged.lvm_admin.set_client_mode(False)
    # a command that hangs (a lost lockspace) fails the worker, not the run
    executor.execute = lambda *a, **kw: guest.execute(*a, **dict(
        {'timeout': 900}, **kw))
    coordination.COORDINATOR.start()
    if nolock:
        coordination.COORDINATOR.get_lock = probe.NoLock
    drv = lvm.LvmDriver(configuration=config, cluster_name='lvm-race')
    ctxt = context.get_admin_context()
    drv.do_setup(ctxt)
    drv.check_for_setup_error()
    return drv, ctxt


def volume(ctxt, vid, vg):
    from cinder import objects
    return objects.Volume(context=ctxt, id=vid, size=1, provider_id=vg,
                          provider_location=None, volume_type_id=None,
                          _name_id=None,
                          status='available', host='race@lvm-race#lvm')


def snapshot(ctxt, sid, vol):
    snap = service.make_snapshot(ctxt, sid, vol)
    snap.provider_id = vol.provider_id   # where the LVM driver looks
    return snap


class Worker:

    def __init__(self, args, guest, drv, ctxt):
        self.args, self.guest, self.drv, self.ctxt = args, guest, drv, ctxt
        self.rng = random.Random('%s/%s' % (args.seed, args.worker))
        self.volumes = []
        for spec in args.volume:
            vid, sid, digest = spec.split(':')
            vol = volume(ctxt, vid, args.vg)
            self.volumes.append((vol, snapshot(ctxt, sid, vol), digest))

    def digest(self, vol):
        """sha256 of the first MiB of a volume this worker made."""
        name = self.drv._lv(vol)
        with self.drv.store.active(name):
            out, _err = self.guest.execute(
                'dd', 'if=%s' % self.drv.store.path(name), 'bs=1M',
                'count=1', 'iflag=direct', binary=True)
        return hashlib.sha256(out).hexdigest()

    def new_volume(self):
        return volume(self.ctxt, str(uuid.UUID(int=self.rng.getrandbits(
            128), version=4)), self.args.vg)

    def run_op(self, op, vol, snap):
        drv, result = self.drv, {}
        if op in ('clone', 'from_snapshot'):
            new = self.new_volume()
            if op == 'clone':
                drv.create_cloned_volume(new, vol)
            else:
                drv.create_volume_from_snapshot(new, snap)
            new.provider_id = self.args.vg
            try:
                result['digest'] = self.digest(new)
            finally:
                drv.delete_volume(new)
        elif op == 'revert':
            drv.revert_to_snapshot(self.ctxt, vol, snap)
        elif op == 'snapshot':
            extra = snapshot(self.ctxt, str(uuid.UUID(
                int=self.rng.getrandbits(128), version=4)), vol)
            drv.create_snapshot(extra)
            drv.delete_snapshot(extra)
        return result

    def run(self):
        for n in range(self.args.ops):
            op = self.rng.choice(OPS)
            vol, snap, digest = self.rng.choice(self.volumes)
            line = {'w': self.args.worker, 'n': n, 'op': op,
                    'volume': vol.id, 'want': digest, 't0': time.time()}
            try:
                line.update(self.run_op(op, vol, snap), ok=True)
            except Exception as exc:
                line.update(ok=False, err='%s: %s' % (type(exc).__name__,
                                                      exc))
            line['t1'] = time.time()
            print(json.dumps(line), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--guest', required=True)
    parser.add_argument('--vg', required=True)
    parser.add_argument('--url', required=True)
    parser.add_argument('--seed', required=True)
    parser.add_argument('--worker', type=int, required=True)
    parser.add_argument('--ops', type=int, required=True)
    parser.add_argument('--go', required=True)
    parser.add_argument('--volume', action='append', required=True)
    parser.add_argument('--nolock', action='store_true')
    args = parser.parse_args(argv)
    from tests.guest import Guest
    guest = Guest(args.guest).wait_ready(timeout=30)
    drv, ctxt = setup(guest, args.vg, args.url, args.nolock)
    print('ready', flush=True)
    while not os.path.exists(args.go):
        time.sleep(0.2)
    Worker(args, guest, drv, ctxt).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
