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

"""LvmDriver.copy_image_to_volume / copy_volume_to_image on real LVs.

The copies go through Cinder's image_utils and qemu-img on the LV's
device, which exists only in the test guest, so the driver runs there:
``image_probe.py`` does every case in one guest process (Glance is its
only stand-in) and reports sha256 sums; the assertions are here.  Each
run takes a new random seed for the image data, printed; replay with
CINDER_EXT_IMAGE_SEED=<seed>.
"""

import json
import os
import random
import unittest
import uuid

from tests.functional.lvm_extra import fixture

PROBE = os.path.join(fixture.HERE, 'image_probe.py')
PROBE_TIMEOUT = 900     # ~40 s of imports and ~2-3 min of copies in TCG
GiB = 1024 ** 3


class ImageCopyTest(unittest.TestCase):
    report = None

    @classmethod
    def setUpClass(cls):
        g, vg = fixture.guest()
        seed = int(os.environ.get('CINDER_EXT_IMAGE_SEED') or
                   random.SystemRandom().randrange(2 ** 32))
        print('image data seed: %d (CINDER_EXT_IMAGE_SEED replays it)'
              % seed)
        workdir = '/tmp/image-probe-%s' % uuid.uuid4().hex[:8]
        args = {'vg': vg, 'pool': fixture.POOL, 'seed': seed,
                'workdir': workdir}
        try:
            out, _err = g.execute(
                os.path.join(fixture.VENV_BIN, 'python'), PROBE,
                json.dumps(args), timeout=PROBE_TIMEOUT,
                env_variables={'PYTHONWARNINGS': 'ignore',
                               'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})
        finally:
            g.run(['rm', '-rf', workdir])
            fixture.remove_volumes(g, vg)
        cls.report = json.loads(out)
        print(json.dumps(cls.report, indent=1))

    def result(self, case):
        result = self.report.get(case)
        self.assertIsNotNone(result, 'case %s did not run' % case)
        self.assertNotIn('unexpected', result,
                         result.get('traceback', result.get('unexpected')))
        return result

    def assert_image_landed(self, case, kind):
        r = self.result(case)
        self.assertIsNone(r['error'])
        self.assertEqual(kind, r['kind'])
        # garbage written first was replaced, the zero hole included
        self.assertNotEqual(r['garbage_sha'], r['lv_sha'])
        self.assertEqual(self.report['image']['raw_sha'], r['lv_sha'])

    def test_raw_image_lands_byte_identical_on_a_thin_lv(self):
        self.assert_image_landed('raw_thin', 'thin')

    def test_raw_image_lands_byte_identical_on_a_thick_lv(self):
        self.assert_image_landed('raw_thick', 'thick')

    def test_qcow2_image_is_converted_to_raw(self):
        self.assertEqual('qcow2', self.report['image']['qcow2_format'])
        self.assert_image_landed('qcow2_thin', 'thin')

    def assert_refused(self, case, *words):
        r = self.result(case)
        self.assertIsNotNone(r['error'], 'the copy was not refused')
        self.assertEqual('ImageUnacceptable', r['error']['type'])
        for word in words:
            self.assertIn(word, r['error']['message'])
        self.assertEqual(r['garbage_sha'], r['lv_sha'], 'the LV changed')

    def test_image_bigger_than_the_volume_is_refused_lv_untouched(self):
        self.assert_refused('too_big', "doesn't fit", '2GB', '1GB')

    def test_image_whose_bytes_contradict_glance_is_refused(self):
        self.assert_refused('format_lie', "claimed to be 'raw'")

    def test_raw_upload_gives_back_the_lv_bytes(self):
        r = self.result('upload_raw')
        self.assertEqual((GiB, GiB), (r['upload_size'], r['lv_size']))
        self.assertEqual(r['lv_sha'], r['upload_sha'])

    def test_qcow2_upload_reads_the_lv_as_raw(self):
        """The LV starts with a qcow2 image's bytes: a qcow2 upload holds
        those bytes as data (a probe of the LV would have converted the
        24 MiB image they describe instead)."""
        r = self.result('upload_qcow2_header')
        self.assertEqual(r['lv_sha'], r['raw_upload_sha'])
        self.assertEqual(GiB, r['qcow2_virtual_size'])
        self.assertIsNone(r['qcow2_backing'])
        self.assertEqual(0, r['compare_rc'], r['compare_out'])
