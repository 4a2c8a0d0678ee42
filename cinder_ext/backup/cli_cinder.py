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

"""cinder-ext-backup commands on backups in Cinder's posix/NFS layout."""

import json

from cinder_ext.backup import atomic
from cinder_ext.backup import cinderformat_import
from cinder_ext.backup import cinderformat_read
from cinder_ext.backup import cinderformat_write


def _cinder_source(p):
    p.add_argument('backups', nargs='+', metavar='BACKUP',
                   help='the backup, LAST: its _metadata file, object '
                   'prefix or id; before it, _metadata files of parents '
                   'that are not in their default container')
    p.add_argument('--posix-path', help='backup_posix_path (for NFS: '
                   'the mounted share); needed unless BACKUP is a '
                   '_metadata path')
    p.add_argument('--container', help='container of a BACKUP given '
                   'by prefix or id (default: id[0:2]/id[2:4]/id)')


def register(add):
    p = add('cinder-restore', 'restore a backup made by Cinder\'s posix or '
            'NFS driver', 'Restore a Cinder posix/NFS backup (its chain '
            'collapsed) to TARGET without Cinder.  Each 32 KiB block is '
            'checked against the backup\'s sha256 list before it is '
            'written; each object\'s length (with --no-sha256: and md5) '
            'after it is read.')
    _cinder_source(p)
    p.add_argument('target', help='file (recreated sparse) or block device')
    p.add_argument('--no-sha256', action='store_true', help='do not check '
                   'blocks against the sha256 list (a damaged list); a '
                   'corrupt object is then found by its md5 after it is '
                   'written')
    p.set_defaults(func=_restore, needs_repo=False)

    p = add('cinder-verify', 'check a backup made by Cinder\'s posix or NFS '
            'driver', 'Decode every object of a Cinder posix/NFS backup '
            'chain and check lengths, md5s and every 32 KiB block against '
            'the sha256 lists, or (--image) check a restored image against '
            'the newest list.  Exit 3 at the first problem.')
    _cinder_source(p)
    p.add_argument('--image', help='restored file or device to check')
    p.set_defaults(func=_verify, needs_repo=False)

    p = add('cinder-export', 'write a backup in Cinder\'s posix/NFS '
            'format', 'Write BACKUP_ID (its chain collapsed) from --repo as '
            'one full backup in Cinder\'s posix/NFS layout under '
            '--posix-path, and print the record for `cinder backup-import`.'
            '  Holes cost no reads; the backup appears only when complete.')
    p.add_argument('backup_id')
    p.add_argument('--posix-path', required=True, help='backup_posix_path '
                   '(for NFS: the mounted share)')
    p.add_argument('--container', help='default: id[0:2]/id[2:4]/id')
    p.add_argument('--driver', choices=sorted(
        cinderformat_write.cinderrecord.SERVICES), default='posix',
        help='the backup_service of the record (default posix)')
    p.add_argument('--compression', default='zstd',
                   choices=cinderformat_write.COMPRESSIONS,
                   help='default zstd (Cinder 2023.2 and later read it); '
                   'zlib for older ones')
    p.add_argument('--cinder-backup-id', help='id of the Cinder backup '
                   '(default: BACKUP_ID; Cinder wants a UUID)')
    p.add_argument('--record', metavar='FILE', help='also write the '
                   'record (JSON) to FILE')
    p.set_defaults(func=_export)

    p = add('cinder-import', 'import a backup made by Cinder\'s posix or '
            'NFS driver', 'Import a Cinder posix/NFS backup (its chain '
            'collapsed) into --repo as one backup: sparse, every 32 KiB '
            'block checked against the backup\'s sha256 list on the way, '
            'no temporary copy.  Nothing is recorded on error.')
    _cinder_source(p)
    p.add_argument('--backup-id', help='id in our repository (default: '
                   'Cinder\'s backup id)')
    p.add_argument('--parent', help='store it as an incremental over this '
                   'backup of ours (e.g. the import of its Cinder parent)')
    p.set_defaults(func=_import)


def _restore(args, out):
    with out.bar('restore'):
        out.result(cinderformat_read.restore(
            args.backups, args.target, args.posix_path, args.container,
            check_sha256=not args.no_sha256, progress=out.progress))


def _verify(args, out):
    with out.bar('verify'):
        out.result(cinderformat_read.verify(
            args.backups, args.posix_path, args.container, args.image,
            progress=out.progress))


def _export(args, out):
    from cinder_ext.backup import cli
    eng = cli._engine(args, out)
    with out.bar('export'):
        result = cinderformat_write.export(
            eng.repo, args.backup_id, args.posix_path, args.container,
            args.driver, args.compression, args.cinder_backup_id,
            eng.workers, out.progress, eng.lock_timeout)
    if args.record:
        atomic.write_file(args.record, [json.dumps(
            result['record'], indent=2).encode() + b'\n'])
    out.result(result)


def _import(args, out):
    from cinder_ext.backup import cli
    eng = cli._engine(args, out)
    with out.bar('import'):
        manifest = cinderformat_import.import_chain(
            eng.repo, args.backups, args.posix_path, args.container,
            args.backup_id, args.parent, eng.workers, out.progress,
            eng.lock_timeout)
    out.manifest(manifest)
