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

"""Cinder's names for backend objects, and the verdicts of the manageable
listings, shared by every backend.

A backend lists candidates (``candidate``); ``judge`` decides with Cinder's
names first and asks the backend's own check only for the rest, the same
check manage_existing applies, so that an object refused by one is never
offered as safe by the other.
"""

import re

_UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'


class Namer:
    """Cinder's names for volume and snapshot files on a share."""

    def __init__(self, volume_template, snapshot_template, unmanaged_prefix):
        self.unmanaged_prefix = unmanaged_prefix
        self._patterns = {
            'volume': re.compile('^' + re.escape(volume_template).replace(
                '%s', '(?P<id>%s)' % _UUID) + '$'),
            'snapshot': re.compile('^' + re.escape(snapshot_template).replace(
                '%s', '(?P<id>%s)' % _UUID) + '$'),
        }

    def managed_id(self, name):
        """(kind, id) when ``name`` is a name Cinder gives its objects."""
        for kind, pattern in self._patterns.items():
            match = pattern.match(name)
            if match:
                return kind, match.group('id')
        return None, None

    def unmanaged(self, name):
        return self.unmanaged_prefix + name


def candidate(name, reference, size_gb, check, extra_info,
              source_reference=None):
    """A backend object that the manageable listings may offer.

    ``check`` is called only when Cinder's names do not decide already;
    it returns why the object must not be managed, or None.
    """
    return {'name': name, 'reference': reference, 'size': size_gb,
            'check': check, 'extra_info': extra_info,
            'source_reference': source_reference}


def judge(found, namer, cinder_ids):
    """The listing entry of a candidate, with its verdict and reason."""
    kind, managed_id = namer.managed_id(found['name'])
    cinder_id = None
    if managed_id in cinder_ids:
        reason, cinder_id = 'already managed', managed_id
    elif kind:
        reason = ('named as a Cinder %s that does not exist; rename it to '
                  'manage it' % kind)
    else:
        reason = found['check']()
    entry = {'reference': found['reference'], 'size': found['size'],
             'safe_to_manage': reason is None, 'reason_not_safe': reason,
             'cinder_id': cinder_id, 'extra_info': found['extra_info']}
    if found['source_reference'] is not None:
        entry['source_reference'] = found['source_reference']
    return entry
