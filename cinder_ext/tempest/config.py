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
"""Options of the cinder-ext tempest plugin: the [cinder_ext] group."""

from oslo_config import cfg

cinder_ext_group = cfg.OptGroup(
    name='cinder_ext',
    title='cinder-ext driver tests',
    help='Options for the tests of the cinder-ext volume drivers.')

CinderExtGroup = [
    cfg.BoolOpt('run_tests',
                default=False,
                help='Run the cinder-ext tests. They assume the volume '
                     'backend under test is a cinder-ext driver (for example '
                     'that unmanage renames volume-<id> to '
                     'unmanaged-volume-<id>), so they are off unless asked '
                     'for.'),
    cfg.StrOpt('backend_name',
               default='cinder-ext',
               help='volume_backend_name of the cinder-ext backend; the '
                    'capability tests look for the pool reporting it.'),
    cfg.StrOpt('vendor_name',
               default='cinder-ext',
               help='vendor_name the backend is expected to report.'),
    cfg.StrOpt('storage_protocol',
               default='NFS',
               help='storage_protocol the backend is expected to report.'),
    cfg.StrOpt('share_path',
               default='',
               help='Local path of the share the backend stores volume '
                    'files in, when tempest runs on the volume host. If set '
                    'and present, the tests also check data in the files; '
                    'otherwise they check only what the API shows.'),
    cfg.StrOpt('unmanaged_volume_template',
               default='unmanaged-volume-%s',
               help='Name the driver gives a volume file on unmanage; %s is '
                    'the volume id.'),
    cfg.StrOpt('unmanaged_snapshot_template',
               default='unmanaged-snapshot-%s',
               help='Name the driver gives a snapshot file on unmanage; %s '
                    'is the snapshot id.'),
    cfg.StrOpt('volume_template',
               default='volume-%s',
               help='Name of the file of a managed volume; %s is its id.'),
    cfg.StrOpt('snapshot_template',
               default='snapshot-%s',
               help='Name of the file of a managed snapshot; %s is its id.'),
]
