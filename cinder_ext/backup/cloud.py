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

"""The Cinder backup API calls the records commands make.

Authentication is openstacksdk's: ``OS_CLOUD`` or ``--os-cloud`` naming a
clouds.yaml entry, or the ``OS_*`` variables of an openrc.  Every request
goes through ``_call``, which turns HTTP and connection errors into
``CloudRequestFailed``.
"""

import time

from cinder_ext.backup import exception

# 3.18 shows a backup's project (os-backup-project-attr:project_id).
MICROVERSION = '3.18'
PAGE = 500


def connect(cloud_name=None):
    try:
        import openstack
    except ImportError:
        raise exception.InvalidArgument(
            reason='the records commands need openstacksdk '
            '(pip install cinder-ext[records])')
    try:
        return Cloud(openstack.connect(cloud=cloud_name))
    except Exception as exc:  # openstacksdk's config errors vary
        raise exception.CloudRequestFailed(what='authentication',
                                           reason=exc)


class Cloud(object):

    def __init__(self, conn):
        self.conn = conn
        self._projects = {}

    @property
    def project_id(self):
        return self.conn.current_project_id

    def as_project(self, project_id):
        """The same user scoped to another project (they need a role
        there): imported backups belong to the importing project."""
        if project_id == self.project_id:
            return self
        if project_id not in self._projects:
            try:
                self._projects[project_id] = Cloud(
                    self.conn.connect_as_project(project_id))
            except Exception as exc:
                raise exception.CloudRequestFailed(
                    what='scope to project %s' % project_id, reason=exc)
        return self._projects[project_id]

    def _call(self, method, url, what, ok=(200, 201, 202), **kwargs):
        try:
            resp = getattr(self.conn.block_storage, method)(
                url, microversion=MICROVERSION, raise_exc=False, **kwargs)
        except Exception as exc:  # keystoneauth's connection errors
            raise exception.CloudRequestFailed(what=what, reason=exc)
        if resp.status_code not in ok:
            raise exception.CloudRequestFailed(
                what=what, reason='HTTP %d: %s' % (
                    resp.status_code, resp.text[:400]))
        return resp

    def backups(self, all_projects=False, project_id=None):
        """Every backup in scope, paged by marker.  O(backups)."""
        params = {'limit': PAGE}
        if all_projects:
            params['all_tenants'] = 1
        elif project_id:
            params.update(all_tenants=1, project_id=project_id)
        while True:
            page = self._call('get', '/backups/detail', 'list backups',
                              params=params).json()['backups']
            yield from page
            if len(page) < PAGE:
                return
            params['marker'] = page[-1]['id']

    def export_record(self, backup_id):
        return self._call('get', '/backups/%s/export_record' % backup_id,
                          'export backup %s' % backup_id).json()[
                              'backup-record']

    def backup(self, backup_id):
        """The backup, or None when Cinder does not know it."""
        resp = self._call('get', '/backups/%s' % backup_id,
                          'show backup %s' % backup_id, ok=(200, 404))
        return None if resp.status_code == 404 else resp.json()['backup']

    def backup_exists(self, backup_id):
        backup = self.backup(backup_id)
        return backup is not None and backup.get('status') != 'deleted'

    def import_record(self, record):
        return self._call('post', '/backups/import_record',
                          'import backup record',
                          json={'backup-record': record}).json()['backup']

    def wait_available(self, backup_id, timeout, interval=2.0):
        deadline = time.monotonic() + timeout
        while True:
            backup = self.backup(backup_id)
            status = backup and backup.get('status')
            if status == 'available':
                return backup
            if status in (None, 'error', 'deleted'):
                raise exception.CloudRequestFailed(
                    what='import of backup %s' % backup_id,
                    reason='status %s%s' % (status, backup and backup.get(
                        'fail_reason') and ': %s' % backup['fail_reason']
                        or ''))
            if time.monotonic() > deadline:
                raise exception.CloudRequestFailed(
                    what='import of backup %s' % backup_id,
                    reason='still %s after %ds' % (status, timeout))
            time.sleep(interval)
