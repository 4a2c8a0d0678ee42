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

"""Image to volume and back through cinder's image_utils and qemu-img."""

import copy
import os

from cinder import privsep

from tests import base

MiB = base.MiB


class MemoryImageService:
    """Glance, kept in memory: the one boundary these tests stand in for."""

    def __init__(self):
        self.images, self.data = {}, {}
        self.temp_images = None  # cinder caches its downloads here

    def add(self, image_id, data, disk_format='raw'):
        self.images[image_id] = {
            'id': image_id, 'status': 'active', 'size': len(data),
            'disk_format': disk_format, 'container_format': 'bare',
            'properties': {}, 'name': image_id}
        self.data[image_id] = data

    def show(self, context, image_id):
        return copy.deepcopy(self.images[image_id])

    def download(self, context, image_id, data=None):
        data.write(self.data[image_id])

    def update(self, context, image_id, metadata, data=None, **kwargs):
        self.images[image_id].update(metadata)
        if data is not None:
            self.data[image_id] = (data.read() if hasattr(data, 'read')
                                   else b''.join(data))
        return self.show(context, image_id)


class ImageCopyTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        # The share belongs to this test's user: no root, no privsep.
        self.driver = self.make_driver(cinder_ext_use_privsep=False)
        self.override_config('image_conversion_dir',
                             os.path.join(self.share, 'conversion'))
        self.images = MemoryImageService()
        # cinder's image_utils inspects image data through cinder's own
        # privsep context: run it in-process, as the test's user.
        privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(privsep.sys_admin_pctxt.set_client_mode, True)

    def test_image_to_volume_to_image(self):
        payload = os.urandom(3 * MiB)
        self.images.add('img-1', payload)
        vol = self.created_volume(size=1)
        self.driver.copy_image_to_volume(self.ctxt, vol, self.images,
                                         'img-1')
        path = self.path(vol.name)
        self.assertEqual(base.GiB, os.path.getsize(path))
        with open(path, 'rb') as f:
            self.assertEqual(payload, f.read(len(payload)))
        # Sparse: the 1 GiB file holds about the 3 MiB of the image.
        self.assertLess(os.stat(path).st_blocks * 512, 8 * MiB)

        self.images.add('img-2', b'', disk_format='raw')
        self.driver.copy_volume_to_image(
            self.ctxt, vol, self.images,
            {'id': 'img-2', 'disk_format': 'raw', 'container_format': 'bare',
             'name': 'img-2'})
        uploaded = self.images.data['img-2']
        self.assertEqual(base.GiB, len(uploaded))
        self.assertEqual(payload, uploaded[:len(payload)])
