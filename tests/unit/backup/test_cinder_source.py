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

"""Finding a volume or snapshot by its Cinder id from cinder.conf, with
real share directories."""

import os
import uuid

from cinder_ext.backup import cinder_source
from cinder_ext.backup import exception
from cinder_ext import locks
from tests.unit.backup import helpers

CONF_TEMPLATE = """
[DEFAULT]
enabled_backends = %(backend)s
%(extra)s
[%(backend)s]
volume_driver = %(driver)s
cinder_ext_shares = %(shares)s
cinder_ext_volume_group = cinder-volumes
"""


class LocateTest(helpers.TempDirTest):

    def setUp(self):
        super().setUp()
        self.shares = [os.path.join(self.dir, 's1'),
                       os.path.join(self.dir, 's2')]
        for share in self.shares:
            os.mkdir(share)
        self.conf = self.write_conf()

    def write_conf(self, driver=cinder_source.NFS_DRIVER, extra='',
                   backend='be1'):
        path = os.path.join(self.dir, 'cinder-%s.conf' % uuid.uuid4().hex)
        with open(path, 'w') as f:
            f.write(CONF_TEMPLATE % {
                'backend': backend, 'driver': driver, 'extra': extra,
                'shares': ','.join(self.shares)})
        return path

    def make(self, share, name):
        path = os.path.join(share, name)
        with open(path, 'wb') as f:
            f.truncate(1024)
        return path

    def test_volume_on_the_second_share(self):
        vid = str(uuid.uuid4())
        path = self.make(self.shares[1], 'volume-%s' % vid)
        found = cinder_source.locate(self.conf, 'be1', volume_id=vid)
        self.assertEqual(path, found.path)
        self.assertEqual(locks.for_key(vid), found.lock_name)
        self.assertEqual(cinder_source.BASE_PREFIX + vid, found.base_name)
        self.assertEqual('volume', found.kind)

    def test_snapshot_and_name_templates(self):
        sid = str(uuid.uuid4())
        conf = self.write_conf(extra='snapshot_name_template = snap_%s')
        path = self.make(self.shares[0], 'snap_%s' % sid)
        found = cinder_source.locate(conf, 'be1', snapshot_id=sid)
        self.assertEqual(path, found.path)
        self.assertEqual('snapshot', found.kind)

    def test_missing_object_is_a_clear_error(self):
        with self.assertRaises(exception.SourceError) as ctx:
            cinder_source.locate(self.conf, 'be1', volume_id='abc')
        self.assertIn('not found on backend be1', str(ctx.exception))

    def test_a_link_or_directory_is_not_a_volume(self):
        vid = str(uuid.uuid4())
        outside = self.make(self.dir, 'secret')
        os.symlink(outside, os.path.join(self.shares[0], 'volume-%s' % vid))
        os.mkdir(os.path.join(self.shares[1], 'volume-%s' % vid))
        self.assertRaises(exception.SourceError, cinder_source.locate,
                          self.conf, 'be1', volume_id=vid)

    def test_found_twice_is_refused(self):
        vid = str(uuid.uuid4())
        for share in self.shares:
            self.make(share, 'volume-%s' % vid)
        with self.assertRaises(exception.SourceError) as ctx:
            cinder_source.locate(self.conf, 'be1', volume_id=vid)
        self.assertIn('several shares', str(ctx.exception))

    def test_bad_arguments(self):
        self.assertRaises(exception.InvalidArgument, cinder_source.locate,
                          self.conf, 'be1')
        self.assertRaises(exception.InvalidArgument, cinder_source.locate,
                          self.conf, 'be1', volume_id='a', snapshot_id='b')
        self.assertRaises(exception.InvalidArgument, cinder_source.locate,
                          self.conf, 'other', volume_id='a')
        self.assertRaises(exception.InvalidArgument, cinder_source.locate,
                          os.path.join(self.dir, 'missing.conf'), 'be1',
                          volume_id='a')
        conf = self.write_conf(driver='cinder.volume.drivers.nfs.NfsDriver')
        self.assertRaises(exception.InvalidArgument, cinder_source.locate,
                          conf, 'be1', volume_id='a')

    def test_lvm_backend_without_the_lv(self):
        conf = self.write_conf(driver=cinder_source.LVM_DRIVER)
        self.assertRaises(exception.SourceError, cinder_source.locate,
                          conf, 'be1', snapshot_id=str(uuid.uuid4()))
