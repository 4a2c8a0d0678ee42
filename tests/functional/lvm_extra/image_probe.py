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

"""Run IN the guest (venv python): LvmDriver's image copies on real LVs.

The driver runs where its LVs are, with its real executor (LVM and
qemu-img as root in the guest) and Cinder's own image_utils.  The one
stand-in is Glance: ``FakeGlance.download`` writes a real image file (raw,
or qcow2 made by ``qemu-img convert``) and ``update`` streams what the
driver uploads into a file.  Every case runs in this one process (importing
cinder costs ~40 s under TCG) and reports sha256 sums and errors as one
JSON object on stdout; the host-side test (test_image.py) judges them.

argv[1]: JSON {"vg", "pool", "seed", "workdir"}.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import traceback
import uuid

MiB = 1024 ** 2
GiB = 1024 ** 3
IMAGE_MIB = 24          # image size: random data around a zero hole
CHUNK = 4 * MiB


def sha_file(path, length=None):
    digest = hashlib.sha256()
    left = length
    with open(path, 'rb') as f:
        while left is None or left > 0:
            block = f.read(CHUNK if left is None else min(CHUNK, left))
            if not block:
                break
            digest.update(block)
            if left is not None:
                left -= len(block)
    return digest.hexdigest()


def sh(*argv):
    return subprocess.run(argv, check=True, capture_output=True,
                          text=True).stdout


class FakeGlance:
    """The outermost boundary: images are files, uploads are captured."""

    temp_images = None      # image_utils.TemporaryImages keeps state here

    def __init__(self, workdir):
        self.workdir = workdir
        self.images = {}
        self.uploads = {}

    def add(self, path, disk_format, container_format='bare'):
        image_id = str(uuid.uuid4())
        self.images[image_id] = {
            'id': image_id, 'status': 'active', 'path': path,
            'disk_format': disk_format, 'container_format': container_format,
            'size': os.path.getsize(path), 'properties': {}}
        return image_id

    def show(self, context, image_id):
        meta = dict(self.images[image_id])
        meta.pop('path')
        return meta

    def download(self, context, image_id, data=None):
        with open(self.images[image_id]['path'], 'rb') as src:
            while True:
                block = src.read(CHUNK)
                if not block:
                    break
                data.write(block)

    def update(self, context, image_id, image_meta, data=None,
               purge_props=True, store_id=None, base_image_ref=None):
        # Raw uploads are the volume's size: hashed, not kept (the
        # guest's /tmp is RAM); other formats are kept for qemu-img.
        keep = self.images[image_id]['disk_format'] != 'raw'
        path = os.path.join(self.workdir, 'upload-%s' % image_id)
        digest, size = hashlib.sha256(), 0
        with open(path if keep else os.devnull, 'wb') as out:
            while True:
                block = data.read(CHUNK)
                if not block:
                    break
                digest.update(block)
                size += len(block)
                out.write(block)
        self.uploads[image_id] = {'path': path, 'sha': digest.hexdigest(),
                                  'size': size}
        return self.images.get(image_id, {})


def setup(args):
    from cinder import coordination
    from cinder import objects
    import cinder.privsep
    from cinder.volume import configuration
    from cinder.volume import driver as cinder_driver
    from oslo_config import cfg

    from cinder_ext import opts
    from cinder_ext import privileged
    from cinder_ext.privileged import lvm as privileged_lvm
    from cinder_ext.volume import lvm

    objects.register_all()
    conf = cfg.CONF
    conf([], project='cinder', default_config_files=[])
    backend = 'lvm-image'
    conf.set_override('enabled_backends', [backend])
    conf.set_override('image_conversion_dir', args['workdir'])
    conf.set_override('state_path', args['workdir'])
    conf.set_override('backend_url', 'file://%s/locks' % args['workdir'],
                      group='coordination')
    # As root in the guest: privileged code runs in this process.
    privileged.lvm_admin.set_client_mode(False)
    cinder.privsep.sys_admin_pctxt.set_client_mode(False)
    privileged_lvm.allowed_vgs()        # registers its option
    conf.set_override(privileged_lvm.VG_OPTION, args['vg'], group=backend)
    drv_conf = configuration.Configuration(cinder_driver.volume_opts,
                                           config_group=backend)
    drv_conf.append_config_values(opts.lvm_driver_opts)
    for key, value in {'cinder_ext_volume_group': args['vg'],
                       'cinder_ext_thin_pool': args['pool'],
                       'cinder_ext_lvm_type': 'thin',
                       'target_helper': 'fake',
                       'volume_backend_name': backend}.items():
        conf.set_override(key, value, group=backend)
    coordination.COORDINATOR.start()
    from cinder import context
    ctxt = context.get_admin_context()
    drv = lvm.LvmDriver(configuration=drv_conf)
    drv.do_setup(ctxt)
    drv.check_for_setup_error()
    return ctxt, drv


class Probe:
    def __init__(self, args):
        self.args = args
        self.workdir = args['workdir']
        self.ctxt, self.drv = setup(args)
        self.glance = FakeGlance(self.workdir)
        self.rng = random.Random(args['seed'])
        self.report = {'seed': args['seed']}

    # -- volumes ----------------------------------------------------------

    def volume(self, thick=False):
        from cinder import objects
        vol = objects.Volume(
            context=self.ctxt, id=str(uuid.uuid4()), size=1,
            _name_id=None, status='creating', multiattach=False,
            glance_metadata={},
            volume_type_id=str(uuid.uuid4()) if thick else None,
            volume_type=objects.VolumeType(
                context=self.ctxt, extra_specs={'provisioning:type': 'thick'}
                if thick else {}))
        vol.update(self.drv.create_volume(vol))
        return vol

    def dev(self, vol):
        return self.drv.local_path(vol)

    def lv_kind(self, vol):
        return self.drv.store.lv(self.drv._lv(vol)).kind

    def fill(self, vol, length):
        """Garbage the copy must overwrite (or, if refused, keep)."""
        data = self.rng.randbytes(length)
        with open(self.dev(vol), 'r+b') as f:
            f.write(data)
            os.fsync(f.fileno())
        return hashlib.sha256(data).hexdigest()

    # -- images -----------------------------------------------------------

    def make_images(self):
        """raw: random MiBs around a zero hole; qcow2: the same data
        converted by qemu-img; big: a qcow2 of 2 GiB virtual size."""
        raw = os.path.join(self.workdir, 'image.raw')
        with open(raw, 'wb') as f:
            for mib in range(IMAGE_MIB):
                hole = IMAGE_MIB // 3 <= mib < 2 * IMAGE_MIB // 3
                f.write(bytes(MiB) if hole else self.rng.randbytes(MiB))
        qcow2 = os.path.join(self.workdir, 'image.qcow2')
        sh('qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2)
        big = os.path.join(self.workdir, 'big.qcow2')
        sh('qemu-img', 'create', '-q', '-f', 'qcow2', big, '2G')
        self.raw, self.qcow2, self.big = raw, qcow2, big
        self.report['image'] = {
            'raw_sha': sha_file(raw), 'size': IMAGE_MIB * MiB,
            'qcow2_format': json.loads(sh(
                'qemu-img', 'info', '--output=json', qcow2))['format']}

    # -- cases ------------------------------------------------------------

    def case(self, name, func):
        started = time.monotonic()
        try:
            result = func()
        except Exception as exc:
            result = {'unexpected': '%s: %s' % (type(exc).__name__, exc),
                      'traceback': traceback.format_exc()}
        result['seconds'] = round(time.monotonic() - started, 1)
        self.report[name] = result

    def fetch(self, vol, image_id):
        """copy_image_to_volume; its error (type, message) or None."""
        try:
            self.drv.copy_image_to_volume(self.ctxt, vol, self.glance,
                                          image_id)
        except Exception as exc:
            return {'type': type(exc).__name__, 'message': str(exc)}
        return None

    def image_onto(self, thick, path, disk_format):
        vol = self.volume(thick)
        garbage = self.fill(vol, IMAGE_MIB * MiB)
        error = self.fetch(vol, self.glance.add(path, disk_format))
        return vol, {'kind': self.lv_kind(vol), 'error': error,
                     'garbage_sha': garbage,
                     'lv_sha': sha_file(self.dev(vol), IMAGE_MIB * MiB)}

    def raw_thin(self):
        self.raw_vol, result = self.image_onto(False, self.raw, 'raw')
        return result

    def raw_thick(self):
        return self.image_onto(True, self.raw, 'raw')[1]

    def qcow2_thin(self):
        return self.image_onto(False, self.qcow2, 'qcow2')[1]

    def refused(self, path, disk_format):
        vol = self.volume()
        garbage = self.fill(vol, IMAGE_MIB * MiB)
        error = self.fetch(vol, self.glance.add(path, disk_format))
        return {'error': error, 'garbage_sha': garbage,
                'lv_sha': sha_file(self.dev(vol), IMAGE_MIB * MiB)}

    def too_big(self):
        return self.refused(self.big, 'qcow2')

    def format_lie(self):
        return self.refused(self.qcow2, 'raw')

    def upload(self, vol, disk_format):
        image_id = self.glance.add(self.raw, disk_format)   # the record
        meta = {'id': image_id, 'disk_format': disk_format,
                'container_format': 'bare', 'name': 'upload'}
        self.drv.copy_volume_to_image(self.ctxt, vol, self.glance, meta)
        return self.glance.uploads[image_id]

    def upload_raw(self):
        vol = self.raw_vol
        captured = self.upload(vol, 'raw')
        return {'upload_sha': captured['sha'],
                'upload_size': captured['size'],
                'lv_sha': sha_file(self.dev(vol)),
                'lv_size': int(sh('blockdev', '--getsize64',
                                  self.dev(vol)))}

    def upload_qcow2_header(self):
        """A volume whose bytes begin with a qcow2 image: as raw, those
        bytes are data; a qcow2 upload must hold them, not the image
        they describe."""
        vol = self.volume()
        with open(self.qcow2, 'rb') as src, open(self.dev(vol), 'r+b') as f:
            shutil.copyfileobj(src, f)
            os.fsync(f.fileno())
        raw_up = self.upload(vol, 'raw')
        captured = self.upload(vol, 'qcow2')
        info = json.loads(sh('qemu-img', 'info', '-f', 'qcow2',
                             '--output=json', captured['path']))
        compare = subprocess.run(
            ['qemu-img', 'compare', '-f', 'qcow2', '-F', 'raw',
             captured['path'], self.dev(vol)], capture_output=True,
            text=True)
        return {'raw_upload_sha': raw_up['sha'],
                'lv_sha': sha_file(self.dev(vol)),
                'qcow2_virtual_size': info['virtual-size'],
                'qcow2_backing': info.get('backing-filename'),
                'compare_rc': compare.returncode,
                'compare_out': (compare.stdout + compare.stderr).strip()}

    def run(self):
        self.make_images()
        self.case('raw_thin', self.raw_thin)
        self.case('raw_thick', self.raw_thick)
        self.case('qcow2_thin', self.qcow2_thin)
        self.case('too_big', self.too_big)
        self.case('format_lie', self.format_lie)
        if hasattr(self, 'raw_vol'):
            self.case('upload_raw', self.upload_raw)
        self.case('upload_qcow2_header', self.upload_qcow2_header)
        return self.report


def main():
    args = json.loads(sys.argv[1])
    os.makedirs(args['workdir'], exist_ok=True)
    started = time.monotonic()
    report = Probe(args).run()
    report['total_seconds'] = round(time.monotonic() - started, 1)
    json.dump(report, sys.stdout)


if __name__ == '__main__':
    main()
