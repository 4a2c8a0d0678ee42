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

"""Parallel API load on the local stack's cluster, with a member killed.

Run through ``tools/stack/load`` (it passes the stack's openrc, share and
members).  Two phases, each with N concurrent clients, every client with
its own keystone session:

``load``
    each client runs a chain on its own volumes and on one shared source:
    create, snapshot of the source, clone of the source (larger), volume
    from that snapshot, extend, snapshot + revert, deletes.  Every
    operation must end as asked (available or deleted), nothing in an error
    state, and both members must have served creates (the host Cinder
    records is the member that ran the create).
``kill``
    the operations Cinder's worker cleanup knows how to recover (creates of
    every kind, snapshot create, delete), and the second member SIGKILLed
    once a third of them have finished.  Operations submitted after the
    kill must succeed (the first member serves them).  Once the dead member
    is reported down, ``POST /workers/cleanup`` for it must be taken by the
    cluster, which sets what it left ``creating`` to ``error`` and finishes
    its deletes; those are then deleted.

At the end everything the run made is deleted and the backend must hold
nothing of it, temporaries included: no file on the share (``--share``),
or no name that ``--names-cmd`` lists (e.g. the LVs of the LVM backend's
VG, ``tools/stack/load --lvm``).  Prints a summary; exits 1 if any
check fails.
"""

import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import threading
import time

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session

MICROVERSION = 'volume 3.40'    # 3.40: revert to snapshot; 3.24: cleanup
TRANSITIONAL = ('creating', 'extending', 'deleting', 'reverting',
                'downloading', 'attaching', 'detaching', 'retyping')


class Failed(Exception):
    """An operation ended in an error state or with an API error."""


class Stuck(Exception):
    """An operation did not finish in time."""


class Api:
    """One client: its own keystone session and connection pool."""

    def __init__(self, timeout):
        env = os.environ
        auth = v3.Password(
            auth_url=env['OS_AUTH_URL'], username=env['OS_USERNAME'],
            password=env['OS_PASSWORD'], project_name=env['OS_PROJECT_NAME'],
            user_domain_name=env['OS_USER_DOMAIN_NAME'],
            project_domain_name=env['OS_PROJECT_DOMAIN_NAME'])
        self.session = ks_session.Session(auth=auth)
        self.endpoint = {'service_type': 'volumev3', 'interface': 'public',
                         'region_name': env.get('OS_REGION_NAME')}
        self.timeout = timeout

    def call(self, method, path, body=None):
        resp = self.session.request(
            path, method, endpoint_filter=self.endpoint, json=body,
            headers={'OpenStack-API-Version': MICROVERSION},
            raise_exc=False)
        if resp.status_code == 404 and method == 'GET':
            return None
        if resp.status_code >= 400:
            raise Failed('%s %s: %s %s' % (method, path, resp.status_code,
                                           resp.text[:300]))
        return resp.json() if resp.content else None

    def show(self, kind, rid):
        found = self.call('GET', '/%ss/%s' % (kind, rid))
        return found and found[kind]

    def wait(self, kind, rid, want, timeout=None):
        """Wait for ``want`` ('deleted' for gone); return the last view."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            view = self.show(kind, rid)
            status = view['status'] if view else 'deleted'
            if status == want:
                return view
            if status.startswith('error'):
                raise Failed('%s %s is %s' % (kind, rid, status))
            if time.monotonic() > deadline:
                raise Stuck('%s %s still %s' % (kind, rid, status))
            time.sleep(0.5)

    def create_volume(self, name, size, **source):
        body = {'volume': dict(name=name, size=size, **source)}
        vid = self.call('POST', '/volumes', body)['volume']['id']
        return vid

    def create_snapshot(self, name, volume_id):
        body = {'snapshot': {'name': name, 'volume_id': volume_id,
                             'force': False}}
        return self.call('POST', '/snapshots', body)['snapshot']['id']

    def action(self, volume_id, body):
        self.call('POST', '/volumes/%s/action' % volume_id, body)

    def delete(self, kind, rid):
        self.call('DELETE', '/%ss/%s' % (kind, rid))


class Run:
    """The shared books of one phase: operations, resources, the kill."""

    def __init__(self, args, phase):
        self.args = args
        self.phase = phase
        self.prefix = 'load-%s-%d' % (phase, os.getpid())
        self.lock = threading.Lock()
        self.ops = []
        self.resources = {}           # id -> kind
        self.killed_at = None

    def made(self, kind, rid):
        with self.lock:
            self.resources[rid] = kind

    def op(self, api, client, name, start, wait):
        """Run one operation: ``start`` submits, ``wait`` waits for it."""
        t0 = time.monotonic()
        record = {'client': client, 'op': name, 't0': t0, 'ok': False,
                  'after_kill': self.killed_at is not None}
        try:
            result = start()
            record['id'] = result
            view = wait(result)
            record['ok'] = True
            record['host'] = (view or {}).get('os-vol-host-attr:host')
            return result
        except (Failed, Stuck) as exc:
            record['error'] = '%s: %s' % (type(exc).__name__, exc)
            raise
        finally:
            record['t1'] = time.monotonic()
            with self.lock:
                self.ops.append(record)
            self.maybe_kill()

    def maybe_kill(self):
        if self.phase != 'kill' or self.args.kill_member is None:
            return
        with self.lock:
            if (self.killed_at is not None
                    or len(self.ops) < self.args.kill_after):
                return
            self.killed_at = time.monotonic()
        print('-- %d operations done: killing member %d' %
              (self.args.kill_after, self.args.kill_member), flush=True)
        call_member_tool(self.args, 'kill')

    # -- operations ------------------------------------------------------

    def create(self, api, client, tag, size=1, **source):
        def start():
            extra = dict(source)
            if not source and self.args.volume_type:
                extra['volume_type'] = self.args.volume_type
            vid = api.create_volume('%s-%s' % (self.prefix, tag), size,
                                    **extra)
            self.made('volume', vid)
            return vid
        return self.op(api, client, 'create' + (
            '_' + next(iter(source)) if source else ''), start,
            lambda vid: api.wait('volume', vid, 'available'))

    def snapshot(self, api, client, tag, volume_id):
        def start():
            sid = api.create_snapshot('%s-%s' % (self.prefix, tag),
                                      volume_id)
            self.made('snapshot', sid)
            return sid
        return self.op(api, client, 'snapshot', start,
                       lambda sid: api.wait('snapshot', sid, 'available'))

    def extend(self, api, client, vid, size):
        return self.op(
            api, client, 'extend',
            lambda: api.action(vid, {'os-extend': {'new_size': size}}) or vid,
            lambda vid: self.wait_size(api, vid, size))

    def revert(self, api, client, vid, sid):
        return self.op(
            api, client, 'revert',
            lambda: api.action(vid, {'revert': {'snapshot_id': sid}}) or vid,
            lambda vid: api.wait('volume', vid, 'available'))

    def delete(self, api, client, kind, rid):
        return self.op(api, client, 'delete_' + kind,
                       lambda: api.delete(kind, rid) or rid,
                       lambda rid: api.wait(kind, rid, 'deleted'))

    @staticmethod
    def wait_size(api, vid, size, timeout=None):
        """Wait until the volume is available at ``size``: Stuck after
        ``timeout`` (the client's --timeout) in all, not per wait."""
        deadline = time.monotonic() + (timeout or api.timeout)
        while True:
            view = api.wait('volume', vid, 'available', timeout=max(
                0.1, deadline - time.monotonic()))
            if view['size'] == size:
                return view
            if time.monotonic() > deadline:
                raise Stuck('volume %s available at %s GiB, not %s' % (
                    vid, view['size'], size))
            time.sleep(0.5)


def chain_load(run, api, client, source):
    """Ten operations on own volumes and on the shared source."""
    own = run.create(api, client, 'c%d-own' % client)
    snap = run.snapshot(api, client, 'c%d-src-snap' % client, source)
    run.create(api, client, 'c%d-clone' % client, size=2, source_volid=source)
    from_snap = run.create(api, client, 'c%d-from-snap' % client,
                           snapshot_id=snap)
    run.extend(api, client, own, 2)
    own_snap = run.snapshot(api, client, 'c%d-own-snap' % client, own)
    run.revert(api, client, own, own_snap)
    run.delete(api, client, 'snapshot', own_snap)
    run.delete(api, client, 'volume', from_snap)
    run.delete(api, client, 'snapshot', snap)


KILL_CHAIN_OPS = 7


def chain_kill(run, api, client, source):
    """Seven recoverable operations (creates, snapshot create, delete)."""
    own = run.create(api, client, 'c%d-own' % client)
    snap = run.snapshot(api, client, 'c%d-src-snap' % client, source)
    clone = run.create(api, client, 'c%d-clone' % client, size=2,
                       source_volid=source)
    run.create(api, client, 'c%d-from-snap' % client, snapshot_id=snap)
    run.snapshot(api, client, 'c%d-own-snap' % client, own)
    run.create(api, client, 'c%d-late' % client)
    run.delete(api, client, 'volume', clone)


def run_phase(args, phase, chain):
    run = Run(args, phase)
    setup = Api(args.timeout)
    source = run.create(setup, -1, 'source')
    with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
        futures = [pool.submit(chain, run, Api(args.timeout), client, source)
                   for client in range(args.clients)]
        for future in futures:
            try:
                future.result()
            except (Failed, Stuck):
                pass        # recorded in run.ops; the checks judge it
    return run, setup


def service_state(api, host):
    services = api.call('GET', '/os-services?binary=cinder-volume')
    for service in services['services']:
        if service['host'] == host:
            return service['state']
    raise Failed('no cinder-volume service %s' % host)


def recover(run, api, args, problems):
    """Have the cluster clean up after the killed member."""
    dead = args.hosts[args.kill_member - 1]
    deadline = time.monotonic() + args.down_timeout
    while service_state(api, dead) != 'down':
        if time.monotonic() > deadline:
            problems.append('%s not reported down after %ds' %
                            (dead, args.down_timeout))
            return
        time.sleep(2)
    answer = api.call('POST', '/workers/cleanup',
                      {'host': dead, 'binary': 'cinder-volume',
                       'is_up': False})
    cleaning = [s['host'] for s in answer['cleaning']]
    print('-- workers/cleanup for %s: cleaning %s, unavailable %s' % (
        dead, cleaning, [s['host'] for s in answer['unavailable']]))
    if dead not in cleaning:
        problems.append('cleanup for %s not taken: %s' % (dead, answer))
    settle(run, api, problems)


def call_member_tool(args, verb):
    """``--member-tool VERB N`` for the member the run kills."""
    subprocess.run(shlex.split(args.member_tool) + [
        verb, str(args.kill_member)], check=True)


def restart(args):
    """Start the killed member again before the deletes: on a shared VG
    the LVs its dead process left active stay locked by its host until
    its start-up deactivates them."""
    print('-- starting member %d again' % args.kill_member, flush=True)
    call_member_tool(args, 'start')


def settle(run, api, problems):
    """Wait until no resource of the run is in a transitional state."""
    deadline = time.monotonic() + run.args.timeout
    pending = dict(run.resources)
    while pending and time.monotonic() < deadline:
        for rid, kind in list(pending.items()):
            view = api.show(kind, rid)
            if not view or view['status'] not in TRANSITIONAL:
                del pending[rid]
        time.sleep(1)
    for rid, kind in pending.items():
        problems.append('%s %s stuck in %s' % (
            kind, rid, api.show(kind, rid)['status']))


def in_flight_at_kill(run):
    """Ids of the operations the kill may have interrupted."""
    if run.killed_at is None:
        return set()
    return {o.get('id') for o in run.ops
            if o['t0'] <= run.killed_at and not o['ok']}


def teardown(run, api, problems):
    """Delete what the run left; anything not available, other than what
    the kill interrupted, is a problem."""
    excused = in_flight_at_kill(run)
    for kind in ('snapshot', 'volume'):
        ids = [rid for rid, k in run.resources.items() if k == kind]
        for rid in ids:
            view = api.show(kind, rid)
            if view is None:
                continue
            if view['status'] != 'available' and rid not in excused:
                problems.append('%s %s ended %s' % (kind, rid,
                                                    view['status']))
            try:
                api.delete(kind, rid)
            except Failed as exc:
                problems.append(str(exc))
        for rid in ids:
            try:
                api.wait(kind, rid, 'deleted')
            except (Failed, Stuck) as exc:
                problems.append(str(exc))


def backend_names(args):
    """What the backend holds: the share's files, or --names-cmd's lines."""
    if args.share:
        return os.listdir(args.share)
    out = subprocess.run(args.names_cmd, shell=True, check=True,
                         capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def check_leftovers(runs, args, problems):
    ids = set()
    for run in runs:
        ids.update(run.resources)
    for name in sorted(backend_names(args)):
        # (the share's temporaries are dot files, the VG's are not)
        if name.lstrip('.').startswith('cinder_ext-tmp-'):
            problems.append('temporary left on the backend: %s' % name)
        elif any(rid in name for rid in ids):
            problems.append('a deleted resource\'s data left: %s' % name)


def report(run):
    ok = [o for o in run.ops if o['ok']]
    hosts = {}
    for o in ok:
        if o['op'].startswith('create') and o.get('host'):
            member = o['host'].split('@')[0]
            hosts[member] = hosts.get(member, 0) + 1
    span = (max(o['t1'] for o in run.ops) - min(o['t0'] for o in run.ops)
            if run.ops else 0)
    print('phase %s: %d operations, %d ok, %d failed, %.0f s; creates by '
          'member: %s' % (run.phase, len(run.ops), len(ok),
                          len(run.ops) - len(ok), span,
                          json.dumps(hosts, sort_keys=True)))
    for o in run.ops:
        if not o['ok']:
            print('   not ok: client %(client)d %(op)s %(error)s' % o)
    return hosts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clients', type=int, default=8)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument('--share', help='the NFS backend\'s share')
    where.add_argument('--names-cmd', help='a shell command listing the '
                       'backend\'s objects, a name a line')
    parser.add_argument('--volume-type', help='of the volumes it makes '
                        '(default: the default type)')
    parser.add_argument('--hosts', required=True, nargs='+',
                        help='the members\' service hosts, e.g. h1@backend')
    parser.add_argument('--member-tool', required=True)
    parser.add_argument('--kill-member', type=int, default=2)
    parser.add_argument('--kill-after', type=int,
                        help='operations done before the kill (default: a '
                        'third of the phase\'s)')
    parser.add_argument('--timeout', type=int, default=120,
                        help='seconds an operation may take')
    parser.add_argument('--down-timeout', type=int, default=120)
    parser.add_argument('--phases', nargs='+', default=['load', 'kill'])
    parser.add_argument('--restart-killed', action='store_true',
                        help='start the killed member again after the '
                        'cleanup, before the deletes')
    args = parser.parse_args()
    if args.kill_after is None:
        args.kill_after = args.clients * KILL_CHAIN_OPS // 3
    admin = Api(args.timeout)
    with unlimited_quota(admin):
        return run_checks(args)


class unlimited_quota:
    """Lift the project's volume quotas for the run (8 clients exceed the
    defaults), and put them back after."""

    KEYS = ('volumes', 'snapshots', 'gigabytes')

    def __init__(self, api):
        self.api = api
        self.path = '/os-quota-sets/%s' % api.session.get_project_id()

    def __enter__(self):
        quotas = self.api.call('GET', self.path)['quota_set']
        self.saved = {key: quotas[key] for key in self.KEYS}
        self.api.call('PUT', self.path,
                      {'quota_set': {key: -1 for key in self.KEYS}})

    def __exit__(self, *exc):
        self.api.call('PUT', self.path, {'quota_set': self.saved})


def run_checks(args):
    problems = []
    runs = []

    if 'load' in args.phases:
        run, api = run_phase(args, 'load', chain_load)
        runs.append(run)
        hosts = report(run)
        if len(run.ops) < 50:
            problems.append('load: only %d operations' % len(run.ops))
        problems.extend('load: client %(client)d %(op)s: %(error)s' % o
                        for o in run.ops if not o['ok'])
        members = {h.split('@')[0] for h in args.hosts}
        if set(hosts) != members:
            problems.append('load: creates served by %s, not by every '
                            'member of %s' % (sorted(hosts), sorted(members)))
        teardown(run, api, problems)

    if 'kill' in args.phases:
        run, api = run_phase(args, 'kill', chain_kill)
        runs.append(run)
        report(run)
        if run.killed_at is None:
            problems.append('kill: the member was never killed')
        else:
            before = [o for o in run.ops if o['t1'] < run.killed_at]
            problems.extend('kill: client %(client)d %(op)s failed before '
                            'the kill: %(error)s' % o
                            for o in before if not o['ok'])
            late = [o for o in run.ops if o['t0'] > run.killed_at + 1]
            dead = args.hosts[args.kill_member - 1].split('@')[0]
            if not any(o['ok'] for o in late):
                problems.append('kill: no operation submitted after the '
                                'kill succeeded')
            problems.extend(
                'kill: operation after the kill failed: %(op)s %(error)s'
                % o for o in late if not o['ok'])
            problems.extend(
                'kill: %s created on the dead member' % o['id']
                for o in late if (o.get('host') or '').startswith(dead))
            recover(run, api, args, problems)
            if args.restart_killed:
                restart(args)
        teardown(run, api, problems)

    check_leftovers(runs, args, problems)
    print('checks: %s' % ('all passed' if not problems else
                          '%d problems' % len(problems)))
    for problem in problems:
        print('PROBLEM: %s' % problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
