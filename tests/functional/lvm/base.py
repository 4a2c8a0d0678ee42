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

"""A real volume group in the test guest for the LVM store's tests.

The store runs on this host exactly as in production: commands built by
``storage.lvmcmd``, checked and run by the privileged entry point
(in-process, privsep client mode off), reports parsed here.  Only the
executor seam is swapped: commands execute in the guest (real kernel,
device-mapper, LVM).  Each test process takes one of the guest's data
disks (a host lock file per disk) and makes its own VG on it, with a thin
pool and a small pool for the guard.

Environment: CINDER_EXT_LVM_GUEST (guest name, default ``lvmstore``).
"""

import fcntl
import os
import shlex
import time
import uuid

from oslo_config import cfg
import testtools

from cinder_ext import privileged
from cinder_ext.privileged import lvm as privileged_lvm
from cinder_ext.storage import executor
from cinder_ext.storage import lvm

MiB = 1024 ** 2
GUEST = os.environ.get('CINDER_EXT_LVM_GUEST', 'lvmstore')
DISKS = ['4G', '4G']
POOL_SIZE = 768 * MiB
SMALL_POOL_SIZE = 64 * MiB
BACKEND = 'lvm-functional'
DISK_WAIT = 3600

_state = {}


def guest():
    """The running guest (booted on first use) and this process's VG."""
    if not _state:
        from tests.guest import Guest
        g = Guest(GUEST, disks=DISKS, export=False).start()
        disk, lock = _take_disk(g)
        vg = 'cxt-%s' % uuid.uuid4().hex[:6]
        _make_vg(g, disk, vg)
        _state.update(guest=g, disk=disk, lock=lock, vg=vg)
    return _state['guest'], _state['vg']


def thin_pool_guest(name, prefix, pool_size, state):
    """Guest ``name`` (one 4G disk) and a VG ``<prefix>-<random>`` with a
    thin pool ``pool`` of ``pool_size`` bytes on a disk this process
    holds; made once, remembered in ``state``."""
    if not state:
        from tests.guest import Guest
        g = Guest(name, disks=['4G'], export=False).start()
        disk, lock = _take_disk(g)
        vg = '%s-%s' % (prefix, uuid.uuid4().hex[:6])
        sh(g, 'for v in $(pvs --noheadings -o vg_name %s 2>/dev/null);'
           ' do vgremove -ff -y $v; done; wipefs -a -q %s && '
           'pvcreate -q -ff -y %s && vgcreate -q %s %s && '
           'lvcreate -q -T %s/pool -L %db'
           % (disk, disk, disk, vg, disk, vg, pool_size))
        state.update(guest=g, vg=vg, lock=lock)
    return state['guest'], state['vg']


def _take_disk(g, timeout=DISK_WAIT):
    """A data disk no other test process holds (waits for one)."""
    deadline = time.monotonic() + timeout
    while True:
        for disk in g.disks:
            path = '/run/lock/cinder-ext-%s-%s.lock' % (
                g.name, os.path.basename(disk))
            lock = open(path, 'w')
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            return disk, lock  # held until this process exits
        if time.monotonic() > deadline:
            raise RuntimeError('every data disk of guest %s stayed in use '
                               'for %ss' % (g.name, timeout))
        time.sleep(1)


def sh(g, script, timeout=300):
    """Run a shell script in the guest; its stdout (raises on failure)."""
    rc, out, err = g.run(['sh', '-c', script], timeout=timeout)
    if rc != 0:
        raise AssertionError('guest command failed (%s): %s\n%s'
                             % (rc, script, err))
    return out


def _make_vg(g, disk, vg):
    # whatever an earlier run left on this disk goes first
    old = sh(g, 'pvs --noheadings -o vg_name %s 2>/dev/null || true'
             % disk).split()
    for name in old:
        sh(g, 'vgremove -ff -y %s' % shlex.quote(name))
    sh(g, 'wipefs -a -q %s && pvcreate -q -ff -y %s && vgcreate -q %s %s '
       '&& lvcreate -q -T %s/pool -L %db && lvcreate -q -T %s/small -L %db'
       % (disk, disk, vg, disk, vg, POOL_SIZE, vg, SMALL_POOL_SIZE))


class LvmTestCase(testtools.TestCase):
    """A VgStore on the guest's VG; LVs made by a test are removed."""

    def setUp(self):
        super().setUp()
        self.guest, self.vg = guest()
        privileged.lvm_admin.set_client_mode(False)
        self.addCleanup(privileged.lvm_admin.set_client_mode, True)
        self.patch(executor, 'execute', self.guest.execute)
        privileged_lvm.allowed_vgs()
        cfg.CONF.set_override('enabled_backends', [BACKEND])
        self.addCleanup(cfg.CONF.clear_override, 'enabled_backends')
        privileged_lvm.allowed_vgs()
        cfg.CONF.set_override(privileged_lvm.VG_OPTION, self.vg, group=BACKEND)
        self.addCleanup(cfg.CONF.clear_override, privileged_lvm.VG_OPTION,
                        group=BACKEND)
        self.key = str(uuid.uuid4())
        self.store = self.make_store()
        self.addCleanup(self.remove_test_lvs)

    def make_store(self, **kwargs):
        kwargs.setdefault('pool', 'pool')
        return lvm.VgStore(self.vg, **kwargs)

    def name(self, prefix='volume'):
        return '%s-%s' % (prefix, uuid.uuid4())

    def remove_test_lvs(self):
        """Everything but the pools, origins' snapshots first."""
        for _ in range(3):
            names = sh(self.guest, 'lvs --noheadings -o lv_name,lv_attr %s'
                       % self.vg).split('\n')
            rows = [line.split() for line in names if line.strip()]
            victims = [n for n, attr in rows if n not in ('pool', 'small')
                       and not attr.startswith('o')]
            if not victims:
                return
            self.guest.run(['lvremove', '-f', '-y'] +
                           ['%s/%s' % (self.vg, n) for n in victims])

    # -- data in the guest ------------------------------------------------

    def dev(self, name):
        return '/dev/%s/%s' % (self.vg, name)

    def write(self, name, offset_mib, count_mib):
        """Write random data; returns its sha256."""
        # a file of its own: other test processes share the guest's /tmp
        return sh(self.guest, 'p=$(mktemp) && dd if=/dev/urandom bs=1M '
                  'count=%d iflag=fullblock status=none of=$p && dd if=$p '
                  'of=%s bs=1M seek=%d oflag=direct conv=notrunc status=none '
                  '&& sha256sum < $p && rm -f $p'
                  % (count_mib, self.dev(name), offset_mib)).split()[0]

    def sha(self, name, offset_mib=0, count_mib=None):
        count = '' if count_mib is None else 'count=%d' % count_mib
        return sh(self.guest, 'dd if=%s bs=1M skip=%d %s iflag=direct '
                  'status=none | sha256sum'
                  % (self.dev(name), offset_mib, count)).split()[0]

    def zero_sha(self, count_mib):
        return sh(self.guest, 'head -c %d /dev/zero | sha256sum'
                  % (count_mib * MiB)).split()[0]

    def assert_zero(self, name, offset_mib, count_mib):
        self.assertEqual(self.zero_sha(count_mib),
                         self.sha(name, offset_mib, count_mib))

    def hold_open(self, name, seconds=60):
        """Keep ``name`` open in the guest; returns a closer."""
        pid = int(sh(self.guest, 'sleep %d < %s >/dev/null 2>&1 & echo $!'
                     % (seconds, self.dev(name))))

        def close():
            self.guest.run(['sh', '-c', 'kill %d; sleep 0.2' % pid])
        self.addCleanup(close)
        return close
