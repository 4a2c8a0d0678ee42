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

"""Volume to image, for both drivers: a volume's bytes are raw by
definition, whatever they look like, so they never choose how they are
read (Cinder's upload_volume would probe them with ``qemu-img info``)."""

from cinder.image import image_utils
from cinder.volume import volume_utils


def upload(context, volume, image_service, image_meta, path,
           run_as_root=True, volume_fd=None):
    """A raw upload streams ``path``; any other format is converted by us
    with ``-f raw`` (and ``qemu-img info -f raw``) into a temporary file,
    uploaded as that format so Cinder converts nothing again.  O(size)."""
    disk_format = image_meta['disk_format']
    if disk_format == 'raw' and image_meta.get(
            'container_format') != 'compressed':
        volume_utils.upload_volume(context, image_service, image_meta, path,
                                   volume, run_as_root=run_as_root,
                                   volume_fd=volume_fd)
        return
    image_utils.check_image_conversion_disable(
        disk_format, 'raw', image_meta['id'], upload=True)
    info = image_utils.qemu_img_info(path, img_format='raw',
                                     run_as_root=run_as_root)
    with image_utils.temporary_file(prefix='cinder_ext_upload_') as tmp:
        image_utils.convert_image(
            path, tmp, image_utils.fixup_disk_format(disk_format),
            src_format='raw', data=info, run_as_root=run_as_root,
            image_id=image_meta['id'])
        volume_utils.upload_volume(context, image_service, image_meta, tmp,
                                   volume, volume_format=disk_format,
                                   run_as_root=run_as_root)
