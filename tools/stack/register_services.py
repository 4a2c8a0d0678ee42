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

"""Service project, users and catalog for tools/stack/up (idempotent).

Usage: register_services.py KEYSTONE_URL PASSWORD GLANCE_URL CINDER_URL
Runs in the client virtualenv (keystoneauth1, python-keystoneclient).
"""

import sys

from keystoneauth1.identity import v3
from keystoneauth1 import session
from keystoneclient.v3 import client


def one(items):
    return items[0] if items else None


def endpoint(ks, name, stype, url):
    """One service of type stype, with public/internal/admin at url."""
    svc = one([s for s in ks.services.list(type=stype) if s.name == name])
    svc = svc or ks.services.create(name, type=stype)
    have = {e.interface: e for e in ks.endpoints.list(service=svc)}
    for iface in ('public', 'internal', 'admin'):
        if iface not in have:
            ks.endpoints.create(svc, url, interface=iface, region='RegionOne')
        elif have[iface].url != url:
            ks.endpoints.update(have[iface], url=url)


def main(url, pw, glance, cinder):
    auth = v3.Password(auth_url=url, username='admin', password=pw,
                       project_name='admin', user_domain_id='default',
                       project_domain_id='default')
    ks = client.Client(session=session.Session(auth=auth))
    project = (one(ks.projects.list(name='service', domain='default'))
               or ks.projects.create('service', 'default'))
    admin_role = one(ks.roles.list(name='admin'))
    service_role = (one(ks.roles.list(name='service'))
                    or ks.roles.create('service'))
    for name in ('glance', 'cinder'):
        user = (one(ks.users.list(name=name, domain='default'))
                or ks.users.create(name, domain='default', password=pw))
        ks.users.update(user, password=pw)
        for role in (admin_role, service_role):
            ks.roles.grant(role, user=user, project=project)
    endpoint(ks, 'glance', 'image', glance)
    endpoint(ks, 'cinder', 'block-storage', cinder + '/v3')
    endpoint(ks, 'cinderv3', 'volumev3', cinder + '/v3/$(project_id)s')


if __name__ == '__main__':
    main(*sys.argv[1:])
