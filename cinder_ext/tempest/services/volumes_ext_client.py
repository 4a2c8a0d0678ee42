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
"""Volume API calls tempest's own clients do not offer.

Built on tempest.lib's volume BaseClient, so the microversion fixture of
the test classes applies to these requests too.
"""

from urllib import parse as urllib

from oslo_serialization import jsonutils as json
from tempest.lib.common import rest_client
from tempest.lib.services.volume import base_client


class VolumesExtClient(base_client.BaseClient):
    """Revert to snapshot (3.40), the manageable volume/snapshot lists,
    and attachments (3.27 create, 3.44 complete), which tempest's own
    attachments client lacks."""

    def revert_to_snapshot(self, volume_id, snapshot_id):
        body = json.dumps({'revert': {'snapshot_id': snapshot_id}})
        resp, body = self.post('volumes/%s/action' % volume_id, body)
        self.expected_success(202, resp.status)
        return rest_client.ResponseBody(resp, body)

    def _list(self, what, detail, params):
        url = what + ('/detail' if detail else '')
        if params:
            url += '?%s' % urllib.urlencode(params)
        resp, body = self.get(url)
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body))

    def list_manageable_volumes(self, detail=True, **params):
        """GET manageable_volumes[/detail]; params: host or cluster, ..."""
        return self._list('manageable_volumes', detail, params)

    def list_manageable_snapshots(self, detail=True, **params):
        """GET manageable_snapshots[/detail]; params: host or cluster."""
        return self._list('manageable_snapshots', detail, params)

    def create_attachment(self, volume_id, connector, instance_uuid=None):
        attachment = {'volume_uuid': volume_id, 'connector': connector}
        if instance_uuid:
            attachment['instance_uuid'] = instance_uuid
        body = json.dumps({'attachment': attachment})
        resp, body = self.post('attachments', body)
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body))

    def complete_attachment(self, attachment_id):
        body = json.dumps({'os-complete': {}})
        resp, body = self.post('attachments/%s/action' % attachment_id, body)
        self.expected_success(204, resp.status)
        return rest_client.ResponseBody(resp, body)

    def delete_attachment(self, attachment_id):
        resp, body = self.delete('attachments/%s' % attachment_id)
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body or '{}'))
