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

"""An operator's local attach: a volume on the host this runs on.

The flow of ``cinder local-attach`` / ``local-detach``
(python-brick-cinderclient-ext): os-brick's connector properties of this
host, an attachment through Cinder's attachments API (3.44), os-brick's
connector on the connection info, the attachment completed; then
disconnect and delete.  Unlike brick-cinderclient-ext, the attachment names
no instance: the extension invents an instance uuid, which Cinder (since
its fix for OSSA-2023-003) checks with Nova on delete, and there is no Nova
here nor an instance.

    python local_attach.py write VOLUME_ID PATTERN
        the pattern over the first MiB, detach, attach again, read it back
    python local_attach.py read VOLUME_ID
        the first MiB's sha256

Prints one JSON line (device paths, sha256 of what was written and read);
exits 1 when a write does not read back.  Credentials from ``OS_*``
(openrc); ``CINDER_EXT_CINDER_ENDPOINT``, when set, is the block-storage
endpoint to use instead of the catalog's (the LVM backend's guest reaches
the API through qemu's forwarding).
"""

import hashlib
import json
import os
import socket
import sys

from cinderclient import client as cinder_client
from keystoneauth1 import loading
from keystoneauth1 import session as ks_session
import os_brick
from os_brick.initiator import connector as brick_connector
from os_brick import privileged as brick_privileged
from oslo_config import cfg

MIB = 1024 * 1024


def volumes_client():
    auth = loading.get_plugin_loader('password').load_from_options(
        auth_url=os.environ['OS_AUTH_URL'],
        username=os.environ['OS_USERNAME'],
        password=os.environ['OS_PASSWORD'],
        project_name=os.environ['OS_PROJECT_NAME'],
        user_domain_name=os.environ['OS_USER_DOMAIN_NAME'],
        project_domain_name=os.environ['OS_PROJECT_DOMAIN_NAME'])
    sess = ks_session.Session(auth=auth)
    endpoint = os.environ.get('CINDER_EXT_CINDER_ENDPOINT')
    if endpoint:
        endpoint = '%s/v3/%s' % (endpoint.rstrip('/'),
                                 sess.get_project_id())
    return cinder_client.Client('3.44', session=sess,
                                endpoint_override=endpoint)


def write_first_mib(path, pattern):
    data = (pattern.encode() * (MIB // len(pattern) + 1))[:MIB]
    with open(path, 'r+b', buffering=0) as dev:
        dev.write(data)
        os.fsync(dev.fileno())
    return hashlib.sha256(data).hexdigest()


def read_first_mib(path):
    # O_DIRECT is not needed: the detach between flushed and dropped the
    # device; a new attach is a new block device.
    with open(path, 'rb', buffering=0) as dev:
        return hashlib.sha256(dev.read(MIB)).hexdigest()


def attached(cinder, volume_id, use):
    """use(path) while the volume is attached here; (path, its result)."""
    props = brick_connector.get_connector_properties(
        None, socket.gethostbyname(socket.gethostname()), False, False)
    attachment = cinder.attachments.create(volume_id, props)
    try:
        connection = attachment['connection_info']
        brick = brick_connector.InitiatorConnector.factory(
            connection['driver_volume_type'], None, use_multipath=False)
        device = brick.connect_volume(connection)
        try:
            cinder.attachments.complete(attachment['id'])
            return device['path'], use(device['path'])
        finally:
            brick.disconnect_volume(connection, device)
    finally:
        cinder.attachments.delete(attachment['id'])


def main(command, volume_id, pattern=None):
    if os.geteuid() == 0:
        # root already: os-brick's privileged calls run in this process
        # (its daemon would be started through sudo, which has no
        # privsep-helper on its secure_path here)
        brick_privileged.default.set_client_mode(False)
    os_brick.setup(cfg.CONF)
    cinder = volumes_client()
    result = {}
    if command == 'write':
        result['write_path'], result['written'] = attached(
            cinder, volume_id, lambda path: write_first_mib(path, pattern))
    result['read_path'], result['read'] = attached(cinder, volume_id,
                                                   read_first_mib)
    print(json.dumps(result))
    return 0 if result.get('written', result['read']) == result['read'] else 1


if __name__ == '__main__':
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ('read', 'write'):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
