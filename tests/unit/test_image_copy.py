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
import json
import os
import subprocess

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

    def test_upload_never_lets_the_volume_bytes_choose_their_format(self):
        """A volume that starts with a qcow2 header is still a raw disk:
        a qcow2 upload holds the volume's bytes, not the image its header
        describes."""
        header_file = os.path.join(self.share, 'conversion', 'hdr.qcow2')
        os.makedirs(os.path.dirname(header_file), exist_ok=True)
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                        header_file, '24M'], check=True)
        with open(header_file, 'rb') as f:
            header = f.read()
        vol = self.created_volume(size=1)
        with open(self.path(vol.name), 'r+b') as f:
            f.write(header)
        self.images.add('img-3', b'', disk_format='qcow2')
        self.driver.copy_volume_to_image(
            self.ctxt, vol, self.images,
            {'id': 'img-3', 'disk_format': 'qcow2',
             'container_format': 'bare', 'name': 'img-3'})
        uploaded = os.path.join(self.share, 'conversion', 'up.qcow2')
        with open(uploaded, 'wb') as f:
            f.write(self.images.data['img-3'])
        info = json.loads(subprocess.run(
            ['qemu-img', 'info', '-f', 'qcow2', '--output', 'json',
             uploaded], check=True, capture_output=True).stdout)
        self.assertEqual(base.GiB, info['virtual-size'])
        self.assertNotIn('backing-filename', info)
        subprocess.run(['qemu-img', 'compare', '-q', '-f', 'raw', '-F',
                        'qcow2', self.path(vol.name), uploaded], check=True)
