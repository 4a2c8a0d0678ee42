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

"""Nova's half of the attach test; runs in the Nova venv, not cinder's.

A session, as one nova-compute process: reads JSON requests on stdin, one
a line, and writes one JSON answer a line on stdout (``{"error": ...}`` if
the request failed); Nova's mount state lives as long as the session.

``{"op": "attach", "connection_info": {...}, "disk_info": {...}}``
    Nova's libvirt volume driver for ``driver_volume_type`` (looked up in
    ``nova.virt.libvirt.driver.VOLUME_DRIVERS``, as the libvirt driver does)
    runs ``connect_volume`` and ``get_config(...).to_xml()``; the answer is
    ``{"driver": class path, "xml": the <disk> element, "connection_info":
    as connect_volume left it}``.
``{"op": "detach", "connection_info": {...}}``
    The same driver's ``disconnect_volume``.
``{"op": "brick", "connection_info": {...}, "root_helper": "..."}``
    os-brick's connector for the protocol
    (``InitiatorConnector.factory``): ``connect_volume``, then the size of
    the path it returned (optionally ``"write": {"seed", "offsets"}`` and
    ``"read": [offsets]`` of the test pattern through that path), then
    ``disconnect_volume``; the answer holds the device info and digests.

Only libvirt itself is stood in for: ``Host`` answers "no guests" and "no
secret" (the connection Nova would ask); everything else is Nova's and
os-brick's own code.  Privsep runs in-process (we are root), as in Nova's
functional tests.
"""

import json
import os
import sys
import traceback

import pattern  # this script's directory is on sys.path


class LibvirtHost(object):
    """The two questions Nova's volume code asks the libvirt connection."""

    def find_secret(self, usage_type, usage_id):
        return None  # no encryption secret: volumes are not encrypted

    def list_guests(self, only_running=True):
        return []  # no domain runs here yet


_STATE = {}


def _nova():
    """Configure Nova once, as nova-compute does at start-up."""
    if _STATE:
        return
    from nova import config
    from nova import objects
    import nova.privsep
    from nova.virt.libvirt.volume import mount

    config.parse_args([], configure_db=False, init_rpc=False)
    conf = config.CONF
    conf.set_override('virt_type', 'qemu', group='libvirt')
    if os.environ.get('NOVA_NFS_MOUNT_POINT_BASE'):
        conf.set_override('nfs_mount_point_base',
                          os.environ['NOVA_NFS_MOUNT_POINT_BASE'],
                          group='libvirt')
    nova.privsep.sys_admin_pctxt.set_client_mode(False)
    objects.register_all()
    _STATE['host'] = LibvirtHost()
    mount.get_manager().host_up(_STATE['host'])  # the libvirt connection


def _volume_driver(connection_info):
    """As LibvirtDriver._get_volume_driver: VOLUME_DRIVERS, one per type."""
    from nova.virt.libvirt import driver as libvirt_driver
    from oslo_utils import importutils

    kind = connection_info['driver_volume_type']
    path = libvirt_driver.VOLUME_DRIVERS[kind]
    drivers = _STATE.setdefault('drivers', {})
    if kind not in drivers:
        drivers[kind] = importutils.import_class(path)(_STATE['host'])
    return path, drivers[kind]


def _instance():
    from nova import objects
    return objects.Instance(uuid='5a6e0e7e-8d0c-4f6e-9a70-2a1b0c0ffee0')


def attach(request):
    _nova()
    info = request['connection_info']
    path, vol_driver = _volume_driver(info)
    vol_driver.connect_volume(info, _instance())
    conf = vol_driver.get_config(info, request['disk_info'])
    return {'driver': path, 'xml': conf.to_xml(), 'connection_info': info}


def detach(request):
    _nova()
    info = request['connection_info']
    path, vol_driver = _volume_driver(info)
    vol_driver.disconnect_volume(info, _instance())
    return {'driver': path}


def brick(request):
    """As cinder's brick_get_connector (backup, image copy) calls it."""
    from os_brick.initiator import connector
    from os_brick import privileged

    privileged.default.set_client_mode(False)  # we are root
    info = request['connection_info']
    conn = connector.InitiatorConnector.factory(
        info['driver_volume_type'], request.get('root_helper', ''),
        conn=info)
    device = conn.connect_volume(info['data'])
    try:
        size = os.stat(device['path']).st_size
        write = request.get('write')
        if write:
            pattern.write(device['path'], write['seed'], write['offsets'])
        digests = pattern.read(device['path'], request.get('read', []))
    finally:
        conn.disconnect_volume(info['data'], device)
    return {'connector': '%s.%s' % (type(conn).__module__,
                                    type(conn).__name__),
            'device_info': device, 'size': size,
            'read': {str(k): v for k, v in digests.items()}}


def main():
    ops = {'attach': attach, 'detach': detach, 'brick': brick}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = ops[request['op']](request)
        except Exception:
            answer = {'error': traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
