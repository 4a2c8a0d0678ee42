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

"""cinder-ext-backup commands on Cinder's backup export records."""

from cinder_ext.backup import cloud
from cinder_ext.backup import output
from cinder_ext.backup import records


def register(add):
    p = add('records-save', 'save the export records of Cinder\'s backups',
            'Save the export record (cinder backup-export) of every '
            'available backup of the current project, of --project, or of '
            'the whole cloud (--all-projects, admin) into FILE, replaced '
            'atomically.  Authentication: --os-cloud / OS_CLOUD '
            '(clouds.yaml) or the OS_* variables of an openrc.  Fit for '
            'cron; exit 1 when a backup could not be exported (it is '
            'listed as skipped in the file).')
    p.add_argument('file')
    scope = p.add_mutually_exclusive_group()
    scope.add_argument('--all-projects', action='store_true')
    scope.add_argument('--project', metavar='ID')
    p.add_argument('--os-cloud', help='clouds.yaml entry (default '
                   '$OS_CLOUD, else the OS_* variables)')
    p.set_defaults(func=_save, needs_repo=False)

    p = add('records-import', 'import saved records back into Cinder',
            'Import every record of FILE that Cinder does not have (cinder '
            'backup-import), parents before incrementals, and wait for each '
            'backup to become available.  Backups Cinder already has are '
            'left alone.  FILE may also hold one export record, as cinder '
            'backup-export prints it.  Exit 1 when any import failed.')
    p.add_argument('file')
    p.add_argument('--into-original-projects', action='store_true',
                   help='import each backup into the project it was saved '
                   'from (the user needs a role there); default: the '
                   'current project, as cinder backup-import does')
    p.add_argument('--timeout', type=float, default=600, help='seconds to '
                   'wait for each backup (default 600)')
    p.add_argument('--os-cloud')
    p.set_defaults(func=_import, needs_repo=False)

    p = add('records-show', 'check and list a records file',
            'Check FILE (format, every record\'s base64 JSON) and list its '
            'backups in import order.  No API call.')
    p.add_argument('file')
    p.set_defaults(func=_show, needs_repo=False)


def _save(args, out):
    doc = records.save(cloud.connect(args.os_cloud), args.file,
                       args.all_projects, args.project)
    out.result({'file': args.file, 'saved': len(doc['records']),
                'skipped': doc['skipped']})
    failed = [s for s in doc['skipped'] if not s['reason'].startswith(
        'status ')]
    return output.EXIT_ERROR if failed else output.EXIT_OK


def _import(args, out):
    doc = records.load(args.file)
    results = records.import_records(
        cloud.connect(args.os_cloud), doc, args.into_original_projects,
        args.timeout)
    out.result({'file': args.file, 'results': results})
    return output.EXIT_ERROR if any(
        r['status'] == 'failed' for r in results) else output.EXIT_OK


def _show(args, out):
    doc = records.load(args.file)
    out.result({'file': args.file, 'saved_at': doc.get('saved_at'),
                'scope': doc.get('scope'), 'records': [
                    {k: r.get(k) for k in ('id', 'parent_id', 'volume_id',
                                           'project_id', 'name', 'size',
                                           'backup_service')}
                    for r in doc['records']], 'skipped': doc.get('skipped')})
