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

"""The test guest's side of the LVM benchmark: one fresh VG, data in it,
and the executors that send every command of both drivers there.

The guest (tests/guest) has the real kernel with device-mapper that this
host lacks.  Both drivers run on this host; only their commands run in the
guest.  Each executor counts the commands it passes on, so a row can show
how many commands an operation took, and keeps the last argv lists, so the
run can show that the anchor's dd/lvcreate/lvremove went to the guest.
"""

import collections
import os
import random
import shlex
import sys
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MiB = 1024 ** 2
GiB = 1024 ** 3
VG = 'cxtbench'
POOL = VG + '-pool'        # the in-tree driver's fixed thin pool name
POOL_SIZE = '4g'
COMMAND_TIMEOUT = 900     # seconds; a 1 GiB dd takes 5-15 s
DATA_CHUNKS = 10           # 10 x 10 MiB = 100 MiB in a 1 GiB LV
DATA_CHUNK_MIB = 10
DATA_STRIDE_MIB = 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Recorder:
    """An execute (processutils contract) that runs in the guest and
    counts: ``count`` since the last ``reset``; ``recent`` argv lists."""

    def __init__(self, guest, label):
        self.guest, self.label = guest, label
        self.count = 0
        self.recent = collections.deque(maxlen=40)
        self.seen = collections.Counter()   # program name -> calls

    def reset(self):
        self.count = 0

    def __call__(self, *cmd, **kwargs):
        # The guest runs as root: no root helper (processutils would not
        # prepend one for root either).
        kwargs.pop('root_helper', None)
        kwargs.pop('run_as_root', None)
        # a command the guest never finishes fails the run, not hangs it
        kwargs.setdefault('timeout', COMMAND_TIMEOUT)
        argv = [str(c) for c in cmd]
        self.count += 1
        self.recent.append(argv)
        prog = argv[0] if argv[0] != 'env' else next(
            (a for a in argv[1:] if '=' not in a), 'env')
        self.seen[os.path.basename(prog)] += 1
        return self.guest.execute(*argv, **kwargs)


class GuestPath:
    """``os.path`` for the in-tree driver's module: ``exists`` of a
    device path is asked in the guest (the LV exists only there)."""

    def __init__(self, guest):
        self._guest = guest

    def exists(self, path):
        if not str(path).startswith('/dev/'):
            return os.path.exists(path)
        rc, _out, _err = self._guest.run(['test', '-e', str(path)])
        return rc == 0

    def __getattr__(self, name):
        return getattr(os.path, name)


class GuestOs:
    def __init__(self, guest):
        self.path = GuestPath(guest)

    def __getattr__(self, name):
        return getattr(os, name)


class Vg:
    """A fresh VG ``cxtbench`` with the thin pool ``cxtbench-pool`` on the
    guest's data disk, shared by both drivers."""

    def __init__(self, name, disk_size, seed):
        sys.path.insert(0, TOP)
        from tests.guest import Guest
        self.guest = Guest(name, disks=[disk_size], export=False)
        self.seed = seed
        self.rng = random.Random(seed)

    def start(self):
        started = time.monotonic()
        self.guest.start()
        log('guest %s up in %.0f s, disks %s' % (
            self.guest.name, time.monotonic() - started, self.guest.disks))
        return self

    def stop(self):
        self.guest.stop()

    def sh(self, script, timeout=900):
        rc, out, err = self.guest.run(['sh', '-c', script], timeout=timeout)
        if rc != 0:
            raise RuntimeError('guest: %s failed (%s): %s'
                               % (script, rc, err.strip()[-500:]))
        return out

    def queue_limits(self):
        dev = os.path.basename(self.guest.disks[0])
        out = self.sh('cd /sys/block/%s/queue && echo $(cat '
                      'discard_max_bytes write_zeroes_max_bytes)' % dev)
        discard, write_zeroes = (int(x) for x in out.split())
        return {'disk': self.guest.disks[0], 'discard_max_bytes': discard,
                'write_zeroes_max_bytes': write_zeroes}

    def make(self):
        disk = self.guest.disks[0]
        self.sh('vgremove -q -ff -y {vg} >/dev/null 2>&1; '
                'wipefs -a -q {d} && pvcreate -q -ff -y {d} && '
                'vgcreate -q {vg} {d} && lvcreate -q -T {vg}/{pool} -L {sz}'
                .format(d=disk, vg=VG, pool=POOL, sz=POOL_SIZE))
        # The data every source holds: one random file, made once.
        seed = self.rng.getrandbits(32)
        self.sh('python3 -c "import random,sys; r=random.Random(%d); '
                'sys.stdout.buffer.write(r.randbytes(%d))" '
                '> /tmp/bench-lvm-data' % (seed, DATA_CHUNK_MIB * MiB))

    def lv_names(self):
        out = self.sh('lvs --noheadings -o lv_name %s' % VG)
        return [n.strip() for n in out.split() if n.strip()]

    def remove_all_but_pool(self):
        """Everything the run made: snapshots first, then the rest."""
        for _ in range(3):
            rows = [line.split() for line in self.sh(
                'lvs --noheadings -o lv_name,lv_attr %s' % VG).splitlines()
                if line.strip()]
            victims = [n for n, attr in rows if n != POOL and
                       not n.startswith('[') and not attr.startswith('o')]
            if not victims:
                return
            self.guest.run(['lvremove', '-f', '-y'] +
                           ['%s/%s' % (VG, n) for n in victims],
                           timeout=900)

    def dev(self, lv):
        return '/dev/%s/%s' % (VG, lv)

    def fill(self, lv):
        """100 MiB of data: 10 MiB at every 100 MiB of the LV."""
        self.activate(lv)
        self.sh('for i in $(seq 0 %d); do dd if=/tmp/bench-lvm-data of=%s '
                'bs=1M seek=$((i * %d)) oflag=direct conv=notrunc '
                'status=none || exit 1; done'
                % (DATA_CHUNKS - 1, shlex.quote(self.dev(lv)),
                   DATA_STRIDE_MIB))

    def scribble(self, lv):
        """Overwrite the first chunk (after a snapshot, before a revert)."""
        self.activate(lv)
        self.sh('head -c %d /dev/urandom | dd of=%s bs=1M oflag=direct '
                'conv=notrunc status=none'
                % (DATA_CHUNK_MIB * MiB, shlex.quote(self.dev(lv))))

    def activate(self, lv):
        self.sh('lvchange -q -ay -K %s/%s' % (VG, lv))

    def same(self, a, b):
        """None if LVs ``a`` and ``b`` hold the same bytes, else why."""
        for lv in (a, b):
            self.activate(lv)
        rc, out, err = self.guest.run(
            ['cmp', self.dev(a), self.dev(b)], timeout=900)
        if rc == 0:
            return None
        return 'differs from %s: %s' % (a, (out + err).strip()[:200])

    def size(self, lv):
        out = self.sh('lvs --noheadings --units b --nosuffix -o lv_size '
                      '%s/%s' % (VG, lv))
        return int(out.strip())

    def make_volumes(self, count, size='1g'):
        """``count`` thin LVs not named as Cinder's (both drivers may then
        offer them), in one lvm shell (about 0.8 s each under TCG)."""
        names = ['legacy-%s' % self._uuid() for _ in range(count)]
        script = ''.join('lvcreate -q -T %s/%s -V %s -n %s\n'
                         % (VG, POOL, size, n) for n in names)
        rc, _out, err = self.guest.run(['lvm'], input=script, timeout=3600)
        missing = set(names) - set(self.lv_names())
        if missing:
            raise RuntimeError('lvm shell left %d LVs uncreated (rc %s): %s'
                               % (len(missing), rc, err[-500:]))
        return names

    def _uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
