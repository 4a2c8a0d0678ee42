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

"""Cluster members racing on one shared VG, in two guests.

Two worker processes per guest (``worker``), each a cinder-volume member
of one cluster with its LVM commands in its guest and its locks in one
etcd (tools/coordination), draw clones, volumes from snapshots, reverts
and snapshots on two thick volumes at once.  With the driver's locks
every operation succeeds, every copy holds its source's data, and
afterwards no LV is active on either host, nothing half-made is left and
every volume holds its data.  With no-op locks (``--nolock``) the same
mix must break one of these (an operation refused because the other
host holds the LV, one deactivated under a copy on the same host, ...):
the test of the test.

Randomized: the seed is printed; CINDER_EXT_TEST_RACE_SEED=<seed>
replays the same draws.  CINDER_EXT_TEST_LVM_RACE_OPS sets the number of
operations per worker (default 5).  Needs root and CINDER_EXT_TEST_GUEST
(boots two guests), as tests/functional/lvm_shared.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from cinder_ext.storage import lvmcmd
from tests.functional.lvm_shared import test_lvmlockd as shared
from tests.functional.race import harness

ROOT = harness.REPO
COORDINATION = os.path.join(ROOT, 'tools', 'coordination')
COORD_DIR = '/tmp/cinder-ext-lvm-race-coordination'
OPS = int(os.environ.get('CINDER_EXT_TEST_LVM_RACE_OPS', 5))
WORKERS_PER_GUEST = 2
VOLUMES = 2
READY_TIMEOUT = 600
RUN_TIMEOUT = 3600


class LvmRaceTest(shared.SharedVgBase):
    prefix = 'lvmrace'
    shared_disk_size = '8G'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # an etcd of its own: the race stage (tools/run-tests race) starts
        # and stops the default one while this runs beside it
        env = dict(os.environ, CINDER_EXT_COORD_DIR=COORD_DIR,
                   CINDER_EXT_COORD_ETCD_PORT='23890',
                   CINDER_EXT_COORD_ETCD_PEER_PORT='23900')
        subprocess.run([COORDINATION, 'start', 'etcd'], check=True, env=env)
        cls.addClassCleanup(subprocess.run, [COORDINATION, 'stop', 'etcd'],
                            env=env)
        cls.url = subprocess.run([COORDINATION, 'url', 'etcd'], check=True,
                                 stdout=subprocess.PIPE, env=env,
                                 text=True).stdout.strip()

    def setUp(self):
        super().setUp()
        self.seed = harness.new_seed()
        print('%s seed=%s (%s=%s replays)' % (self.id(), self.seed,
                                              harness.SEED_ENV, self.seed))
        self.remove_all()
        self.addCleanup(self.remove_all)
        self.volumes = [self.make_volume(i) for i in range(VOLUMES)]

    def remove_all(self):
        self.assertEqual({}, self.remove_all_lvs(), 'LVs left after the race')

    def make_volume(self, i):
        """(volume id, snapshot id, digest): a 1 GiB thick LV with a 1 MiB
        pattern and a COW snapshot of it, inactive, as the driver names
        them."""
        vid = '00000000-0000-4000-8000-%012d' % i
        sid = '00000000-0000-4000-9000-%012d' % i
        lv = 'volume-%s' % vid
        self.check(self.a, 'lvcreate', '-an', '-Zn', '-L', '1G', '-n', lv,
                   shared.VG)
        self.assertEqual(0, self.activate(self.a, lv)[0])
        digest = self.write_random(self.a, lv)
        self.check(self.a, 'lvcreate', '-s', '-L', '128M', '-n',
                   '_snapshot-%s' % sid, '%s/%s' % (shared.VG, lv))
        self.assertEqual(0, self.activate(self.a, lv, 'n')[0])
        return vid, sid, digest

    def race(self, nolock):
        go = tempfile.mktemp(prefix='cinder-ext-lvm-race-go-')
        self.addCleanup(lambda: os.path.exists(go) and os.unlink(go))
        procs = []
        for n in range(WORKERS_PER_GUEST * len(self.guests)):
            guest = self.guests[n % len(self.guests)]
            argv = [sys.executable, '-m', 'tests.functional.lvm_race.worker',
                    '--guest', guest.name, '--vg', shared.VG, '--url',
                    self.url, '--seed', self.seed, '--worker', str(n),
                    '--ops', str(OPS), '--go', go]
            for vid, sid, digest in self.volumes:
                argv += ['--volume', '%s:%s:%s' % (vid, sid, digest)]
            if nolock:
                argv.append('--nolock')
            log = tempfile.NamedTemporaryFile(
                prefix='cinder-ext-lvm-race-w%d-' % n, suffix='.log')
            self.addCleanup(log.close)
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=log, text=True)
            self.addCleanup(proc.kill)
            procs.append((proc, log))
        deadline = time.monotonic() + READY_TIMEOUT
        for proc, log in procs:   # every start-up (and its sweep) is over
            line = proc.stdout.readline().strip()
            self.assertEqual('ready', line, self.tail(log))
            self.assertLess(time.monotonic(), deadline)
        open(go, 'w').close()
        lines = []
        for proc, log in procs:
            out, _ = proc.communicate(timeout=RUN_TIMEOUT)
            self.assertEqual(0, proc.returncode, self.tail(log))
            lines += [json.loads(x) for x in out.splitlines() if x.strip()]
        self.assertEqual(OPS * len(procs), len(lines))
        return lines

    @staticmethod
    def tail(log):
        with open(log.name, errors='replace') as f:
            return 'worker log:\n' + ''.join(f.readlines()[-30:])

    def violations(self, lines):
        found = []
        for line in lines:
            if not line['ok']:
                found.append('w%(w)d op %(n)d %(op)s failed: %(err)s' % line)
            elif 'digest' in line and line['digest'] != line['want']:
                found.append('w%(w)d op %(n)d %(op)s: the copy holds other '
                             'data' % line)
        want = {'volume-%s' % vid for vid, _, _ in self.volumes}
        want |= {'_snapshot-%s' % sid for _, sid, _ in self.volumes}
        for guest in self.guests:
            lvs = self.lvs(guest)
            active = sorted(n for n, lv in lvs.items() if lv.active)
            if active:
                found.append('active on %s afterwards: %s' % (guest.name,
                                                              active))
        lvs = self.lvs(self.a)
        if set(lvs) != want:
            found.append('LVs afterwards: %s more, %s missing' % (
                sorted(set(lvs) - want), sorted(want - set(lvs))))
        if any(lvmcmd.is_temporary(n) for n in lvs):
            found.append('half-made LVs left')
        for vid, _, digest in self.volumes:
            lv = 'volume-%s' % vid
            if lv in lvs and not lvs[lv].active:
                if self.activate(self.a, lv)[0] == 0:
                    if self.read_sha(self.a, lv) != digest:
                        found.append('%s holds other data' % lv)
                    self.activate(self.a, lv, 'n')
        for message in found:
            print('violation: %s' % message)
        return found

    def test_members_race_without_violations(self):
        lines = self.race(nolock=False)
        self.assertEqual([], self.violations(lines))
        print('%d operations by %d members, 0 violations' % (
            len(lines), WORKERS_PER_GUEST * len(self.guests)))

    def test_without_locks_the_race_shows(self):
        found = self.violations(self.race(nolock=True))
        self.assertNotEqual([], found, 'no-op locks, yet no violation: '
                            'the race does not test the locks')
