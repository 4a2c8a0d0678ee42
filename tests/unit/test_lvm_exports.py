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

"""Which member exports a volume, read from Cinder's iSCSI location."""

import testtools

from cinder_ext.volume import lvm


class PortalHostsTest(testtools.TestCase):

    def test_locations_of_cinders_iscsi_targets(self):
        iqn = 'iqn.2010-10.org.openstack:volume-1'
        for location, hosts in (
                ('10.0.2.15:3260,1 %s 0' % iqn, {'10.0.2.15'}),
                ('10.0.0.1:3260;10.0.0.2:3261,1 %s 1' % iqn,
                 {'10.0.0.1', '10.0.0.2'}),
                ('[fd00::1]:3260,1 %s 0' % iqn, {'fd00::1'}),
                ('fake_location', set()), ('', set()), (None, set())):
            self.assertEqual(hosts, lvm.portal_hosts(location), location)
