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

"""Two instances attached to one disk image see one volume group.

The ground for a shared VG (lvmlockd is not used here: the test takes
turns, so no LV is active for writing on both guests at once).
"""

import hashlib
import json
import random
import unittest
import uuid

from tests.functional import guest as fixture
from tests.guest import Guest

MiB = 1024 ** 2


class SharedDiskTest(unittest.TestCase):
    def setUp(self):
        self.a = fixture.guest(self)
        shared = [d for d in self.a.spec()['disks'] if d.get('shared')]
        if not shared:
            self.skipTest('the guest in use has no shared disk')
        self.b = Guest(self.a.name + '-b', export=False,
                       shared_disks=[(shared[0]['path'], 0)])
        self.addCleanup(fixture.discard, self.b)
        self.b.start()
        self.vg = 'cegshared%s' % uuid.uuid4().hex[:6]
        self.dev_a, self.dev_b = self.a.disks[-1], self.b.disks[-1]

    def test_vg_made_on_one_guest_is_used_on_the_other(self):
        seed = random.randrange(2 ** 32)
        print('seed %d' % seed)
        data = random.Random(seed).randbytes(MiB)
        self.a.execute('pvcreate', '-ff', '-y', self.dev_a)
        self.a.execute('vgcreate', self.vg, self.dev_a)
        self.addCleanup(self.a.run, ['pvremove', '-ff', '-y', self.dev_a])
        self.addCleanup(self.a.run, ['vgremove', '-f', self.vg])
        self.a.execute('lvcreate', '-an', '-Zn', '-L', '8M', '-n', 'lv',
                       self.vg)
        out = self.b.execute('lvs', '--reportformat', 'json', '-o',
                             'lv_name,vg_name,devices', self.vg)[0]
        lvs = json.loads(out)['report'][0]['lv']
        self.assertEqual(['lv'], [lv['lv_name'] for lv in lvs])
        self.assertTrue(lvs[0]['devices'].startswith(self.dev_b))
        # Written on b, read on a: one disk, not two copies of it.
        self.b.execute('lvchange', '-ay', '%s/lv' % self.vg)
        self.b.execute('dd', 'of=/dev/%s/lv' % self.vg, 'bs=1M',
                       'oflag=direct', 'conv=fsync', process_input=data)
        self.b.execute('lvchange', '-an', '%s/lv' % self.vg)
        self.a.execute('lvchange', '-ay', '%s/lv' % self.vg)
        out = self.a.execute('dd', 'if=/dev/%s/lv' % self.vg, 'bs=1M',
                             'count=1', 'iflag=direct', binary=True)[0]
        self.a.execute('lvchange', '-an', '%s/lv' % self.vg)
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         hashlib.sha256(out).hexdigest())


if __name__ == '__main__':
    unittest.main()
