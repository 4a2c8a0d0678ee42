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
done): create 1 GiB, clone it, revert it to a snapshot (3.40), delete;
round i runs ours, then the anchor, so that other load on the host falls
on both alike.  Throughput: ``--workers`` clients for ``--seconds`` each
running create, snapshot, volume from snapshot, delete all three; completed
API operations per second, ours then the anchor.  One member per backend:
the shared-VG cluster is not part of the stack yet.  Rows as JSON:
operation, ours_s, anchor_s, ratio (anchor/ours; for throughput,
ours/anchor in ops/s), plus every repetition (``ours_all_s``,
``anchor_all_s``) or, for throughput, the operation counts and the
workers' errors of both sides (exit status 1 if any).  The stack's
credentials come from its openrc unless ``OS_AUTH_URL`` is set.

Under TCG each process start in the guest costs seconds.  Both services
run as root in the guest, so oslo.concurrency drops the anchor's root
helper: it runs each LVM command directly (``env LC_ALL=C lvs ...`` in its
log, no rootwrap), ours sends them to one privsep daemon.  Most of a
latency here is Cinder's own Python (API, scheduler, RPC, DB) under TCG
and a loaded host, not the driver.
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
# the anchor's cinder-volume in the guest (tools/stack/lvm start-service):
# pid /run/NAME.pid, log /var/log/NAME.log
ANCHOR_SERVICE = 'cinder-volume-lvm-anchor'
ANCHOR_LOG = '/var/log/%s.log' % ANCHOR_SERVICE
TIMEOUT = 900          # the anchor's start
# one operation: 5-40 s under TCG, but the anchor's thin revert (Cinder's
# generic one: temporary volume, two iSCSI attaches, dd of 1 GiB) took
# over 300 s on a loaded host
OP_TIMEOUT = 900


def lvm_tool(*argv, check=True):
    """tools/stack/lvm ARGV...: its output."""
    proc = subprocess.run([LVM_TOOL] + list(argv), text=True,
                          capture_output=True)
    if check and proc.returncode:
        sys.exit('tools/stack/lvm %s: %s%s' % (' '.join(argv), proc.stdout,
                                               proc.stderr))
    return proc.stdout


def guest(*argv, check=True):
    return lvm_tool('run', *argv, check=check)


def load_openrc():
    """The stack's admin credentials, unless OS_* are set already."""
    if os.environ.get('OS_AUTH_URL'):
        return
    with open(os.path.join(STATE, 'openrc')) as f:
        for line in f:
            if line.startswith('export OS_'):
                key, _, value = line[len('export '):].strip().partition('=')
                os.environ[key] = value


def anchor_conf_path():
    # a name the guest has never looked up (its 9p view caches lookups)
    return os.path.join(STATE, 'etc', 'cinder',
                        'volume-lvm-anchor-%d.conf' % os.getpid())


def start_anchor():
    disks = lvm_tool('data-disks').split()
    if len(disks) < 2:
        sys.exit('the LVM guest has one data disk: start the stack with '
                 'CINDER_EXT_STACK_LVM_DISK=12G,12G')
    guest('sh', '-c', 'vgs %s >/dev/null 2>&1 || { pvcreate -q %s && '
          'vgcreate -q %s %s; }' % (ANCHOR_VG, disks[1], ANCHOR_VG, disks[1]))
    guest_ip = lvm_tool('guest-ip').strip()
    conf = anchor_conf_path()
    with open(conf, 'w') as f:
        f.write('[DEFAULT]\nhost = %s\nenabled_backends = %s\n\n'
                '[%s]\nvolume_driver = cinder.volume.drivers.lvm.'
                'LVMVolumeDriver\nvolume_backend_name = %s\nvolume_group = '
                '%s\nlvm_type = thin\ntarget_helper = lioadm\n'
                'target_protocol = iscsi\ntarget_ip_address = %s\n'
                % (ANCHOR_HOST, ANCHOR_BACKEND, ANCHOR_BACKEND,
                   ANCHOR_BACKEND, ANCHOR_VG, guest_ip))
    lvm_tool('start-service', ANCHOR_SERVICE, conf)
    return conf


def stop_anchor(conf):
    lvm_tool('stop-service', ANCHOR_SERVICE, check=False)
    os.unlink(conf)


class Api:
    """Block storage calls through openstacksdk, waiting on states."""

    def __init__(self):
        self.conn = openstack.connect()
        self.bs = self.conn.block_storage

    def wait(self, kind, ident, want, gone=False):
        path = '/%s/%s' % (kind, ident)
        deadline = time.monotonic() + OP_TIMEOUT
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

    @staticmethod
    def check(resp, what):
        if not resp.ok:
            raise RuntimeError('%s: HTTP %s %s' % (what, resp.status_code,
                                                   resp.text[:300]))
        return resp

    def volume(self, vtype, **extra):
        body = {'volume': dict(size=1, volume_type=vtype, **extra)}
        resp = self.check(self.bs.post('/volumes', json=body), 'create')
        ident = resp.json()['volume']['id']
        self.wait('volumes', ident, 'available')
        return ident

    def snapshot(self, volume):
        body = {'snapshot': {'volume_id': volume}}
        resp = self.check(self.bs.post('/snapshots', json=body), 'snapshot')
        ident = resp.json()['snapshot']['id']
        self.wait('snapshots', ident, 'available')
        return ident

    def revert(self, volume, snapshot):
        self.check(self.bs.post('/volumes/%s/action' % volume,
                                json={'revert': {'snapshot_id': snapshot}},
                                microversion='3.40'), 'revert')
        # the manager saves the volume "available" before the snapshot
        self.wait('volumes', volume, 'available')
        self.wait('snapshots', snapshot, 'available')

    def delete(self, kind, ident):
        self.check(self.bs.delete('/%s/%s' % (kind, ident)), 'delete')
        self.wait(kind, ident, None, gone=True)


def timed(call, *args, **kwargs):
    start = time.monotonic()
    result = call(*args, **kwargs)
    return time.monotonic() - start, result


OPERATIONS = ('create', 'clone', 'snapshot_revert', 'delete')


def latency_round(api, vtype, times):
    """One of each operation on ``vtype``, appended to ``times[op]``."""
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


def latencies(api, repeat):
    """Medians per operation, ours and the anchor's.

    Round i runs ours, then the anchor: load on this host during the run
    (other jobs) falls on both sides alike.
    """
    times = {vtype: {op: [] for op in OPERATIONS} for vtype in (OURS, ANCHOR)}
    failed = {OURS: [], ANCHOR: []}
    for i in range(repeat):
        for vtype in (OURS, ANCHOR):
            print('round %d/%d: %s' % (i + 1, repeat, vtype), file=sys.stderr,
                  flush=True)
            try:
                latency_round(api, vtype, times[vtype])
            except RuntimeError as exc:
                # e.g. a volume left in "creating" by a lost RPC: what the
                # round timed before it counts, the rest is missing
                print('round %d/%d: %s failed: %s'
                      % (i + 1, repeat, vtype, exc), file=sys.stderr,
                      flush=True)
                failed[vtype].append(str(exc))
            # so far, in case the run is cut short
            print('times so far: %s' % json.dumps(times), file=sys.stderr,
                  flush=True)
    return times, failed


def throughput(vtype, workers, seconds):
    """(completed API operations per second over ``seconds``, their count,
    the workers' errors)."""
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
        except Exception as exc:   # in the row; the exit status says so
            errors.append(repr(exc))

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ops = sum(done)
    return ops / (time.monotonic() - started), ops, errors


def unlimited_quota(api):
    """Volumes, snapshots, gigabytes unlimited for the bench's project
    (the default 10 volumes: two workers and what a cut-short run left)."""
    project = api.conn.current_project_id
    api.check(api.bs.put('/os-quota-sets/%s' % project, json={
        'quota_set': {'volumes': -1, 'snapshots': -1, 'gigabytes': -1}}),
        'quota')


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
    load_openrc()
    api = Api()
    unlimited_quota(api)
    conf = start_anchor()
    rows = []
    try:
        ensure_anchor_type(api)
        wait_anchor_pool(api)
        times, failed = latencies(api, opts.repeat)
        for op in OPERATIONS:
            if not times[OURS][op] or not times[ANCHOR][op]:
                rows.append({'operation': op, 'ours_s': None,
                             'anchor_s': None, 'ratio': None,
                             'ours_all_s': times[OURS][op],
                             'anchor_all_s': times[ANCHOR][op]})
                continue
            ours = statistics.median(times[OURS][op])
            anchor = statistics.median(times[ANCHOR][op])
            rows.append({'operation': op, 'ours_s': round(ours, 2),
                         'anchor_s': round(anchor, 2),
                         'ratio': round(anchor / ours, 1),
                         'ours_all_s': [round(t, 2) for t in times[OURS][op]],
                         'anchor_all_s': [round(t, 2)
                                          for t in times[ANCHOR][op]]})
        if failed[OURS] or failed[ANCHOR]:
            rows.append({'operation': 'failed_rounds',
                         'ours_errors': failed[OURS],
                         'anchor_errors': failed[ANCHOR]})
        # one after the other, both in the row even if one side failed
        mixed = {}
        for vtype in (OURS, ANCHOR):
            print('mixed workload: %s' % vtype, file=sys.stderr, flush=True)
            mixed[vtype] = throughput(vtype, opts.workers, opts.seconds)
            print('mixed workload: %s: %s' % (vtype, mixed[vtype]),
                  file=sys.stderr, flush=True)
        (ours_rate, ours_n, ours_err), (anchor_rate, anchor_n, anchor_err) = (
            mixed[OURS], mixed[ANCHOR])
        rows.append({'operation': 'mixed_ops_per_s_1_member',
                     'ours_s': round(ours_rate, 3),
                     'anchor_s': round(anchor_rate, 3),
                     'ratio': round(ours_rate / max(anchor_rate, 1e-9), 1),
                     'ours_ops': ours_n, 'anchor_ops': anchor_n,
                     'ours_errors': ours_err, 'anchor_errors': anchor_err})
    finally:
        stop_anchor(conf)
        for row in rows:
            print(json.dumps(row))
        if opts.json:
            with open(opts.json, 'w') as f:
                json.dump(rows, f, indent=1)
    if any(row.get('ours_errors') or row.get('anchor_errors') for row in rows):
        sys.exit('failed rounds or mixed workload errors (in the rows)')


if __name__ == '__main__':
    main()
