#!/usr/bin/env python3
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

"""The LVM driver against Cinder's in-tree LVMVolumeDriver, through the
same Cinder API, in one run.

Needs the local stack with its LVM guest booted on two data disks::

    CINDER_EXT_STACK_LVM_DISK=12G,12G tools/stack/up --no-demo
    /var/lib/cinder-ext-stack/venv/client/bin/python \\
        bench/bench_lvm_api.py [--json PATH] [--repeat N] [--seconds S]

The stack's LVM backend (``cinder-ext-lvm@lvm``: LvmDriver, thin) uses the
guest's first disk.  This script makes a VG on the second and starts a
second cinder-volume in the guest for the anchor (``cinder-ext-lvm-anchor
@lvm-intree``: cinder.volume.drivers.lvm.LVMVolumeDriver, ``lvm_type =
thin``, the same LIO helper), with a volume type of its own; it stops that
service at the end.  Both run on the same kernel, disk type and Cinder.

Latency (median of ``--repeat``, API call to the state the API reports
done): create 1 GiB, clone it, revert it to a snapshot (3.40), delete.
Throughput: ``--workers`` clients for ``--seconds`` each running create,
snapshot, volume from snapshot, delete all three; completed API operations
per second.  One member per backend: the shared-VG cluster is not part of
the stack yet.  Rows as JSON: operation, ours_s, anchor_s, ratio
(anchor/ours; for throughput, ours/anchor in ops/s).

Under TCG each process start in the guest costs seconds: the anchor runs
every LVM command through rootwrap (a Python start per command), ours
through one privsep daemon, so the ratio here is larger than on hardware.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import openstack

STATE = os.environ.get('CINDER_EXT_STACK_DIR', '/var/lib/cinder-ext-stack')
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LVM_TOOL = os.path.join(TOP, 'tools', 'stack', 'lvm')
OURS = 'cinder-ext-lvm'
ANCHOR = 'intree-lvm'
ANCHOR_BACKEND = 'lvm-intree'
ANCHOR_HOST = 'cinder-ext-lvm-anchor'
ANCHOR_VG = 'cinder-intree'
ANCHOR_LOG = '/var/log/cinder-volume-lvm-anchor.log'
ANCHOR_PID = '/run/cinder-volume-lvm-anchor.pid'
GUEST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
TIMEOUT = 900


def guest(*argv, check=True):
    proc = subprocess.run([LVM_TOOL, 'run'] + list(argv), text=True,
                          capture_output=True)
    if check and proc.returncode:
        sys.exit('in the guest: %s: %s' % (' '.join(argv), proc.stderr))
    return proc.stdout


def anchor_conf_path():
    # a name the guest has never looked up (its 9p view caches lookups)
    return os.path.join(STATE, 'etc', 'cinder',
                        'volume-lvm-anchor-%d.conf' % os.getpid())


def start_anchor():
    disks = guest('sh', '-c', 'for d in /sys/block/vd*; do case $(cat '
                  '$d/serial) in data*) echo /dev/${d##*/};; esac; done')
    disks = disks.split()
    if len(disks) < 2:
        sys.exit('the LVM guest has one data disk: start the stack with '
                 'CINDER_EXT_STACK_LVM_DISK=12G,12G')
    guest('sh', '-c', 'vgs %s >/dev/null 2>&1 || { pvcreate -q %s && '
          'vgcreate -q %s %s; }' % (ANCHOR_VG, disks[1], ANCHOR_VG, disks[1]))
    conf = anchor_conf_path()
    with open(conf, 'w') as f:
        f.write('[DEFAULT]\nhost = %s\nenabled_backends = %s\nlog_file = '
                '%s\n\n[%s]\nvolume_driver = cinder.volume.drivers.lvm.'
                'LVMVolumeDriver\nvolume_backend_name = %s\nvolume_group = '
                '%s\nlvm_type = thin\ntarget_helper = lioadm\n'
                'target_protocol = iscsi\ntarget_ip_address = 10.0.2.15\n'
                % (ANCHOR_HOST, ANCHOR_BACKEND, ANCHOR_LOG, ANCHOR_BACKEND,
                   ANCHOR_BACKEND, ANCHOR_VG))
    venv = os.path.join(STATE, 'venv', 'cinder', 'bin')
    etc = os.path.join(STATE, 'etc', 'cinder')
    guest('sh', '-c', 'cd / && env -i PATH=%s:%s HOME=/root LC_ALL=C '
          'setsid %s/cinder-volume --config-file %s/cinder.conf '
          '--config-file %s/volume-lvm.conf --config-file %s '
          '>>%s.out 2>&1 </dev/null & echo $! >%s'
          % (venv, GUEST_PATH, venv, etc, etc, conf, ANCHOR_LOG, ANCHOR_PID))
    return conf


def stop_anchor(conf):
    guest('sh', '-c', 'kill $(cat %s)' % ANCHOR_PID, check=False)
    os.unlink(conf)


class Api:
    """Block storage calls through openstacksdk, waiting on states."""

    def __init__(self):
        self.conn = openstack.connect()
        self.bs = self.conn.block_storage

    def wait(self, kind, ident, want, gone=False):
        path = '/%s/%s' % (kind, ident)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            resp = self.bs.get(path)
            if gone and resp.status_code == 404:
                return
            status = resp.json()[kind[:-1]]['status'] if resp.ok else None
            if status == want and not gone:
                return
            if status and status.startswith('error'):
                raise RuntimeError('%s %s went to %s' % (kind, ident, status))
            time.sleep(0.25)
        raise RuntimeError('%s %s: not %s in time' % (kind, ident, want))

    def volume(self, vtype, **extra):
        body = {'volume': dict(size=1, volume_type=vtype, **extra)}
        ident = self.bs.post('/volumes', json=body).json()['volume']['id']
        self.wait('volumes', ident, 'available')
        return ident

    def snapshot(self, volume):
        body = {'snapshot': {'volume_id': volume}}
        ident = self.bs.post('/snapshots', json=body).json()['snapshot']['id']
        self.wait('snapshots', ident, 'available')
        return ident

    def revert(self, volume, snapshot):
        self.bs.post('/volumes/%s/action' % volume,
                     json={'revert': {'snapshot_id': snapshot}},
                     microversion='3.40')
        self.wait('volumes', volume, 'available')

    def delete(self, kind, ident):
        self.bs.delete('/%s/%s' % (kind, ident))
        self.wait(kind, ident, None, gone=True)


def timed(call, *args, **kwargs):
    start = time.monotonic()
    result = call(*args, **kwargs)
    return time.monotonic() - start, result


def latencies(api, vtype, repeat):
    times = {'create': [], 'clone': [], 'snapshot_revert': [], 'delete': []}
    for _ in range(repeat):
        t, vol = timed(api.volume, vtype)
        times['create'].append(t)
        t, clone = timed(api.volume, vtype, source_volid=vol)
        times['clone'].append(t)
        snap = api.snapshot(vol)
        t, _ = timed(api.revert, vol, snap)
        times['snapshot_revert'].append(t)
        api.delete('snapshots', snap)
        api.delete('volumes', clone)
        t, _ = timed(api.delete, 'volumes', vol)
        times['delete'].append(t)
    return {op: statistics.median(ts) for op, ts in times.items()}


def throughput(vtype, workers, seconds):
    """Completed API operations per second over ``seconds``."""
    done, errors = [], []
    stop_at = time.monotonic() + seconds

    def worker():
        api = Api()
        try:
            while time.monotonic() < stop_at:
                vol = api.volume(vtype)
                snap = api.snapshot(vol)
                from_snap = api.volume(vtype, snapshot_id=snap)
                api.delete('volumes', from_snap)
                api.delete('snapshots', snap)
                api.delete('volumes', vol)
                done.append(6)
        except Exception as exc:   # reported, and the row is not written
            errors.append(repr(exc))

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError('mixed workload on %s: %s' % (vtype, errors))
    return sum(done) / (time.monotonic() - started)


def ensure_anchor_type(api):
    if not api.conn.block_storage.find_type(ANCHOR):
        api.conn.block_storage.create_type(
            name=ANCHOR, extra_specs={'volume_backend_name': ANCHOR_BACKEND})


def wait_anchor_pool(api):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        pools = api.bs.get('/scheduler-stats/get_pools').json()['pools']
        if any(p['name'].startswith(ANCHOR_HOST + '@') for p in pools):
            return
        time.sleep(5)
    sys.exit('the anchor cinder-volume did not come up; see %s in the '
             'guest' % ANCHOR_LOG)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', help='write the rows here too')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--seconds', type=int, default=120)
    opts = parser.parse_args()
    api = Api()
    conf = start_anchor()
    try:
        ensure_anchor_type(api)
        wait_anchor_pool(api)
        ours, anchor = (latencies(api, t, opts.repeat) for t in (OURS,
                                                                 ANCHOR))
        rows = [{'operation': op, 'ours_s': round(ours[op], 2),
                 'anchor_s': round(anchor[op], 2),
                 'ratio': round(anchor[op] / ours[op], 1)} for op in ours]
        ours_ops, anchor_ops = (throughput(t, opts.workers, opts.seconds)
                                for t in (OURS, ANCHOR))
        rows.append({'operation': 'mixed_ops_per_s_1_member',
                     'ours_s': round(ours_ops, 3),
                     'anchor_s': round(anchor_ops, 3),
                     'ratio': round(ours_ops / max(anchor_ops, 1e-9), 1)})
    finally:
        stop_anchor(conf)
    for row in rows:
        print(json.dumps(row))
    if opts.json:
        with open(opts.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
