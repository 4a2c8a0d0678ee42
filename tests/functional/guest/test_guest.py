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

"""The guest's command channel, its executor contract and its LVM."""

import hashlib
import json
import random
import subprocess
import threading
import unittest
import uuid

from oslo_concurrency import processutils

from tests.functional import guest as fixture

MiB = 1024 ** 2


class ChannelTest(unittest.TestCase):
    def setUp(self):
        self.guest = fixture.guest(self)

    def test_run_returns_rc_output_and_takes_input(self):
        rc, out, err = self.guest.run(
            ['sh', '-c', 'cat; echo to-err >&2; exit 7'], input='in\n')
        self.assertEqual((7, 'in\n', 'to-err\n'), (rc, out, err))

    def test_binary_output_survives(self):
        data = bytes(range(256)) * 64
        rc, out, _err = self.guest.run(['cat'], input=data, text=False)
        self.assertEqual((0, data), (rc, out))

    def test_concurrent_callers_get_their_own_answers(self):
        results, errors = {}, []

        def call(i):
            try:
                results[i] = self.guest.run(
                    ['sh', '-c', 'sleep 0.$((%d %% 3)); echo %d' % (i, i)])
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], errors)
        self.assertEqual({i: (0, '%d\n' % i, '') for i in range(12)}, results)

    def test_timeout_kills_the_command_in_the_guest(self):
        marker = '%d.%d' % (random.randrange(100, 200),
                            random.randrange(10 ** 6))
        reply = self.guest.run_reply(['sleep', marker], timeout=1)
        self.assertTrue(reply.get('timeout'))
        rc, _out, _err = self.guest.run(['pgrep', '-f', 'sleep ' + marker])
        self.assertEqual(1, rc)


class ExecuteContractTest(unittest.TestCase):
    """guest.execute behaves as processutils.execute does on the host."""

    def setUp(self):
        self.guest = fixture.guest(self)

    def test_same_results_as_processutils(self):
        cases = [
            (('echo', 'a', 1), {}),
            (('cat',), {'process_input': 'xyz'}),
            (('cat',), {'process_input': b'\x00\xff', 'binary': True}),
            (('sh', '-c', 'exit 3'), {'check_exit_code': [0, 3]}),
            (('sh', '-c', 'exit 3'), {'check_exit_code': False}),
            (('printenv', 'A', 'LC_ALL'),
             {'env_variables': {'LC_ALL': 'C', 'A': 'b'}}),
            (('pwd',), {'cwd': '/tmp'}),
            (('echo $((1+2))',), {'shell': True}),
            (('true',), {'run_as_root': True, 'root_helper': 'sudo'}),
        ]
        for cmd, kwargs in cases:
            local = processutils.execute(*cmd, **dict(
                kwargs, run_as_root=False))
            self.assertEqual(local, self.guest.execute(*cmd, **kwargs),
                             (cmd, kwargs))

    def test_failure_raises_process_execution_error(self):
        with self.assertRaises(processutils.ProcessExecutionError) as ctx:
            self.guest.execute('sh', '-c', 'echo o; echo e >&2; exit 5')
        exc = ctx.exception
        self.assertEqual((5, 'o\n', 'e\n', 'sh -c echo o; echo e >&2; exit 5'),
                         (exc.exit_code, exc.stdout, exc.stderr, exc.cmd))
        with self.assertRaises(processutils.ProcessExecutionError):
            self.guest.execute('sh', '-c', 'exit 0', check_exit_code=[2])

    def test_missing_program_and_timeout(self):
        self.assertRaises(OSError, self.guest.execute, '/no/such/program')
        self.assertRaises(subprocess.TimeoutExpired, self.guest.execute,
                          'sleep', '10', timeout=1)
        self.assertRaises(processutils.UnknownArgumentError,
                          self.guest.execute, 'true', bogus=1)


class LvmTest(unittest.TestCase):
    """Thin and thick LVM on the guest's virtio disks, with data."""

    def setUp(self):
        self.guest = fixture.guest(self)
        self.seed = random.randrange(2 ** 32)
        print('seed %d' % self.seed)
        self.random = random.Random(self.seed)
        self.vg = 'cegvg%s' % uuid.uuid4().hex[:6]
        disks = self.guest.disks
        self.assertGreaterEqual(len(disks), 2)
        self.lvm('vgcreate', self.vg, *disks[:2])
        self.addCleanup(self.remove_vg, disks[:2])

    def remove_vg(self, disks):
        self.guest.run(['vgremove', '-f', self.vg])
        self.guest.run(['pvremove', '-f'] + disks)

    def lvm(self, *cmd):
        return self.guest.execute(*cmd, env_variables={'LC_ALL': 'C'})[0]

    def lvs(self):
        out = self.lvm('lvs', '--reportformat', 'json', '--units', 'b',
                       '--nosuffix', '-o', 'lv_name,lv_attr,lv_size,origin,'
                       'pool_lv,data_percent', self.vg)
        return {lv['lv_name']: lv for lv in json.loads(out)['report'][0]['lv']}

    def write(self, lv, size=MiB, offset_mib=0):
        data = self.random.randbytes(size)
        self.guest.execute('dd', 'of=/dev/%s/%s' % (self.vg, lv), 'bs=1M',
                           'seek=%d' % offset_mib, 'oflag=direct',
                           'conv=fsync,notrunc', process_input=data)
        return hashlib.sha256(data).hexdigest()

    def read(self, lv, size=MiB, offset_mib=0):
        out, _err = self.guest.execute(
            'dd', 'if=/dev/%s/%s' % (self.vg, lv), 'bs=1M',
            'skip=%d' % offset_mib, 'count=%d' % (size // MiB),
            'iflag=direct', binary=True)
        return hashlib.sha256(out).hexdigest()

    def test_thin_pool_volume_snapshot_remove(self):
        self.lvm('lvcreate', '-L', '256M', '-T', '%s/pool' % self.vg)
        self.lvm('lvcreate', '-V', '1G', '-T', '%s/pool' % self.vg, '-n', 'v')
        before = self.write('v', offset_mib=3)
        self.lvm('lvcreate', '-s', '-n', 's', '%s/v' % self.vg)
        self.lvm('lvchange', '-ay', '-K', '%s/s' % self.vg)
        after = self.write('v', offset_mib=3)
        self.assertNotEqual(before, after)
        self.assertEqual(after, self.read('v', offset_mib=3))
        self.assertEqual(before, self.read('s', offset_mib=3))
        lvs = self.lvs()
        self.assertEqual('t', lvs['pool']['lv_attr'][0])
        self.assertEqual(('V', 'pool', ''), (lvs['v']['lv_attr'][0],
                                             lvs['v']['pool_lv'],
                                             lvs['v']['origin']))
        self.assertEqual(('V', 'v'), (lvs['s']['lv_attr'][0],
                                      lvs['s']['origin']))
        self.assertEqual(str(1024 * MiB), lvs['v']['lv_size'])
        self.assertGreater(float(lvs['pool']['data_percent']), 0)
        self.lvm('lvremove', '-y', '%s/s' % self.vg)
        self.lvm('lvremove', '-y', '%s/v' % self.vg)
        self.assertEqual(['pool'], sorted(self.lvs()))

    def test_thick_volume_cow_snapshot_and_merge(self):
        self.lvm('lvcreate', '-L', '64M', '-n', 't', self.vg)
        before = self.write('t')
        self.lvm('lvcreate', '-s', '-L', '32M', '-n', 'ts', '%s/t' % self.vg)
        after = self.write('t')
        self.assertEqual(before, self.read('ts'))
        self.assertEqual(after, self.read('t'))
        lvs = self.lvs()
        self.assertEqual(('s', 't'), (lvs['ts']['lv_attr'][0],
                                      lvs['ts']['origin']))
        self.assertEqual('o', lvs['t']['lv_attr'][0])
        # Revert as the in-tree driver does: merge the snapshot back.
        self.lvm('lvconvert', '--merge', '%s/ts' % self.vg)
        self.assertEqual(before, self.read('t'))
        self.assertEqual(['t'], sorted(self.lvs()))

    def test_only_data_disks_are_visible_to_lvm(self):
        out = self.lvm('pvs', '--reportformat', 'json', '-o', 'pv_name')
        pvs = {pv['pv_name'] for pv in json.loads(out)['report'][0]['pv']}
        self.assertEqual(set(self.guest.disks[:2]), pvs & set(
            self.guest.disks[:2]))
        self.assertTrue(all(p.startswith('/dev/vd') for p in pvs), pvs)
        export_dev = self.guest.execute('findmnt', '-n', '-o', 'SOURCE',
                                        '/export')[0].strip()
        rc, _out, err = self.guest.run(['pvcreate', export_dev])
        self.assertNotEqual(0, rc, err)


if __name__ == '__main__':
    unittest.main()
