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
"""What the cinder-ext backend reports to the scheduler."""

from tempest import config
from tempest.lib import decorators

from cinder_ext.tempest.tests import base

CONF = config.CONF


class CapabilitiesTest(base.BaseCinderExtTest):
    """The pool stats of the cinder-ext backend."""

    min_microversion = '3.0'

    def _pools(self):
        pools = self.admin_scheduler_stats_client.list_pools(
            detail=True)['pools']
        name = CONF.cinder_ext.backend_name
        mine = [p for p in pools
                if p.get('capabilities', {}).get('volume_backend_name')
                == name]
        self.assertNotEmpty(mine, 'no pool reports volume_backend_name=%s '
                            'in %s' % (name, pools))
        return mine

    @decorators.idempotent_id('f3b42c1f-6d22-4b10-bc11-71e2535464e3')
    def test_pool_capabilities(self):
        """get_pools detail: vendor, protocol and provisioning support."""
        for pool in self._pools():
            caps = pool['capabilities']
            self.assertEqual(CONF.cinder_ext.vendor_name, caps['vendor_name'])
            self.assertEqual(CONF.cinder_ext.storage_protocol,
                             caps['storage_protocol'])
            self.assertIn('thin_provisioning_support', caps)
            self.assertIn('total_capacity_gb', caps)
            self.assertIn('free_capacity_gb', caps)

    @decorators.idempotent_id('55a9f5c6-ba6f-4010-abe0-aed21b228ade')
    def test_pool_capacity_is_numeric(self):
        """Capacities are numbers (or 'infinite'/'unknown'), free <= total."""
        for pool in self._pools():
            caps = pool['capabilities']
            total, free = caps['total_capacity_gb'], caps['free_capacity_gb']
            if isinstance(total, str) or isinstance(free, str):
                self.assertIn(str(total), ('infinite', 'unknown'))
                continue
            self.assertGreaterEqual(float(total), float(free))
            self.assertGreaterEqual(float(free), 0.0)
