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

"""Swift connections from the usual environment variables.

In this order:

- a token and storage URL: ``OS_AUTH_TOKEN`` + ``OS_STORAGE_URL``;
- Keystone v3 (through keystoneauth1): ``OS_AUTH_URL``, ``OS_USERNAME``,
  ``OS_PASSWORD``, ``OS_PROJECT_NAME`` (or ``OS_PROJECT_ID``),
  ``OS_USER_DOMAIN_NAME``, ``OS_PROJECT_DOMAIN_NAME``, ``OS_REGION_NAME``,
  ``OS_INTERFACE``;
- tempauth / v1: ``ST_AUTH``, ``ST_USER``, ``ST_KEY``.
"""

import os

from swiftclient import client as swift_client

from cinder_ext.backup import exception

_V3_OPTIONS = {
    'project_name': 'OS_PROJECT_NAME', 'project_id': 'OS_PROJECT_ID',
    'user_domain_name': 'OS_USER_DOMAIN_NAME',
    'user_domain_id': 'OS_USER_DOMAIN_ID',
    'project_domain_name': 'OS_PROJECT_DOMAIN_NAME',
    'project_domain_id': 'OS_PROJECT_DOMAIN_ID',
    'region_name': 'OS_REGION_NAME', 'endpoint_type': 'OS_INTERFACE',
}


def connection_kwargs(env=None):
    env = os.environ if env is None else env
    common = {'retries': 5, 'timeout': 60}
    if env.get('OS_AUTH_TOKEN') and env.get('OS_STORAGE_URL'):
        return dict(common, preauthurl=env['OS_STORAGE_URL'],
                    preauthtoken=env['OS_AUTH_TOKEN'])
    if env.get('OS_AUTH_URL'):
        options = {name: env[var] for name, var in _V3_OPTIONS.items()
                   if env.get(var)}
        if options.get('endpoint_type') in ('public', 'internal', 'admin'):
            options['endpoint_type'] += 'URL'
        return dict(common, authurl=env['OS_AUTH_URL'],
                    user=env.get('OS_USERNAME'), key=env.get('OS_PASSWORD'),
                    auth_version=env.get('OS_IDENTITY_API_VERSION', '3'),
                    os_options=options)
    if env.get('ST_AUTH'):
        return dict(common, authurl=env['ST_AUTH'], user=env.get('ST_USER'),
                    key=env.get('ST_KEY'), auth_version='1.0')
    raise exception.InvalidArgument(
        reason='no Swift credentials: set OS_AUTH_URL/OS_USERNAME/'
        'OS_PASSWORD/OS_PROJECT_NAME (Keystone v3), ST_AUTH/ST_USER/ST_KEY '
        '(tempauth) or OS_STORAGE_URL/OS_AUTH_TOKEN')


def connection():
    return swift_client.Connection(**connection_kwargs())
