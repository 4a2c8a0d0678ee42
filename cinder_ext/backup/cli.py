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

"""cinder-ext-backup: back up volume files and block devices.

Exit codes: 0 success; 1 error; 2 usage error; 3 verify found missing or
corrupt data (or a restore met a corrupt chunk); 4 repository busy (lock
timeout); 130 interrupted.
"""

import argparse
import importlib
import logging
import os
import sys

from cinder_ext.backup import chunkfile
from cinder_ext.backup import engine as engine_mod
from cinder_ext.backup import exception
from cinder_ext.backup import humanize
from cinder_ext.backup import output
from cinder_ext.backup import repository
from cinder_ext.backup import retention

EXIT_OK = output.EXIT_OK
EXIT_ERROR = output.EXIT_ERROR
EXIT_CORRUPT = output.EXIT_CORRUPT
EXIT_INTERRUPTED = output.EXIT_INTERRUPTED
# Further command groups, each ``register(add)``: add(name, help,
# description) returns a subparser; a command sets ``func`` (and
# ``needs_repo=False`` when it works without --repo).
COMMAND_MODULES = ('cinder_ext.backup.cli_cinder',
                   'cinder_ext.backup.cli_archive',
                   'cinder_ext.backup.cli_records')
EPILOG = ('exit codes: 0 ok, 1 error, 2 usage, 3 missing or corrupt data, '
          '4 repository busy, 130 interrupted')


def _common():
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group('common options')
    group.add_argument('--repo', default=os.environ.get(
        'CINDER_EXT_BACKUP_REPO'), help='repository: a directory or '
        'swift://<container>[/<prefix>] (credentials from OS_AUTH_URL... '
        'or ST_AUTH...; default: $CINDER_EXT_BACKUP_REPO)')
    group.add_argument('--lock-url', default=os.environ.get(
        repository.LOCK_URL_ENV), help='tooz coordination URL for the '
        'repository lock across hosts (etcd3+http://, redis://, file://); '
        'required for swift:// (default: $%s)' % repository.LOCK_URL_ENV)
    group.add_argument('--key-file', help='file whose bytes are the key of '
                       'an encrypted repository (hkdf)')
    group.add_argument('--passphrase-file', help='file holding the '
                       'passphrase of an encrypted repository (scrypt)')
    group.add_argument('--json', action='store_true', help='print JSON '
                       'lines (progress, result, error) instead of text')
    group.add_argument('--workers', type=int, help='compression and '
                       'hashing threads (default: CPUs, at most 8)')
    group.add_argument('--lock-timeout', type=float, help='seconds to wait '
                       'for the repository lock (default: forever)')
    group.add_argument('--no-progress', action='store_true',
                       help='no progress bar even on a terminal')
    group.add_argument('-v', '--verbose', action='store_true')
    return common


def build_parser():
    common = _common()
    parser = argparse.ArgumentParser(
        prog='cinder-ext-backup', epilog=EPILOG,
        description='Sparse, incremental, deduplicated backups of volume '
        'files and block devices into a repository directory.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True

    def add(name, help_text, description):
        return sub.add_parser(name, parents=[common], help=help_text,
                              description=description, epilog=EPILOG)

    p = add('init', 'create a repository', 'Create an empty repository in '
            '--repo (a new or empty directory, or a Swift container / prefix '
            'holding no objects).')
    p.add_argument('--chunk-size', default='4M', type=humanize.parse_size,
                   help='chunk size, a power of two (default 4M)')
    p.add_argument('--compression', default='zstd',
                   choices=sorted(chunkfile.COMPRESSIONS),
                   help='default zstd; chunks that do not shrink are raw')
    p.add_argument('--encryption', choices=['none', 'scrypt', 'hkdf'],
                   default='none', help='AES-256-GCM; scrypt derives the '
                   'key from --passphrase-file, hkdf from --key-file')

    p = add('backup', 'back up a file or block device', 'Back up SOURCE. '
            'Only allocated data is read; all-zero chunks are not stored. '
            'With --snapshot-base the source is reflinked first (one '
            'instant) and the snapshot kept as a hidden base next to it, '
            'so the next --incremental reads only what changed.')
    p.add_argument('source', nargs='?', help='volume file or block device '
                   '(or name a Cinder volume or snapshot with --from-*)')
    cinder = p.add_argument_group(
        'a Cinder object by id', 'Found through the backend\'s section of '
        'cinder.conf (its shares or volume group) and copied in an instant '
        '(reflink, thin snapshot) under the driver\'s own lock, taken '
        'through the coordination backend of that cinder.conf.  A volume '
        'that cannot be copied in an instant is refused: back up a Cinder '
        'snapshot of it.  Cinder itself may be down.')
    cinder.add_argument('--from-volume', metavar='ID', help='Cinder volume '
                        'id (the default --volume-id)')
    cinder.add_argument('--from-snapshot', metavar='ID', help='Cinder '
                        'snapshot id; give --volume-id to chain it with the '
                        'volume\'s backups')
    cinder.add_argument('--cinder-conf', default='/etc/cinder/cinder.conf',
                        help='default /etc/cinder/cinder.conf')
    cinder.add_argument('--backend', help='the backend\'s section name')
    p.add_argument('--volume-id', help='volume the backup belongs to '
                   '(default: the source file name)')
    p.add_argument('--backup-id', help='id of the new backup (default: a '
                   'new UUID)')
    p.add_argument('--incremental', action='store_true', help='store only '
                   'changes since the volume\'s latest backup')
    p.add_argument('--parent', help='store only changes since this backup')
    p.add_argument('--snapshot-base', metavar='NAME', help='reflink '
                   'snapshot/base file name next to the source, e.g. '
                   '.cinder_ext-backup-base-<volume id>; for a thin LV '
                   '/dev/VG/LV (always read from a thin snapshot, only '
                   'where mapped), the LV VG/NAME kept for thin_delta, '
                   'e.g. _backup-base-<volume id>')
    p.add_argument('--name', default='')
    p.add_argument('--description', default='')

    p = add('restore', 'restore a backup', 'Restore BACKUP_ID (with its '
            'chain of incrementals) to TARGET: a file is recreated sparse; '
            'a block device must be at least as large as the backup.  Every '
            'chunk is checked before it is written.')
    p.add_argument('backup_id')
    p.add_argument('target', help='file or block device')

    p = add('list', 'list backups', 'List backups, oldest first.')
    p.add_argument('--volume-id')

    p = add('show', 'show one backup', 'Show a backup\'s manifest summary '
            '(with --json, the whole manifest).')
    p.add_argument('backup_id')

    p = add('verify', 'check backups', 'Check that every chunk the backups '
            'name is present (default), or read and re-hash them (--deep), '
            'or compare the newest given backup with a source.  Exit 3 on '
            'any problem.')
    p.add_argument('backup_ids', nargs='*', metavar='BACKUP_ID',
                   help='default: all backups')
    p.add_argument('--deep', action='store_true')
    p.add_argument('--compare', metavar='SOURCE')

    p = add('prune', 'remove old backups', 'Keep the newest --keep-last '
            'backups and the newest of each of the last N days, weeks, '
            'months, per volume; remove the others, except parents a kept '
            'incremental needs.  Then run gc to free space.')
    for rule in ('last', 'daily', 'weekly', 'monthly'):
        p.add_argument('--keep-' + rule, type=int, default=0, metavar='N')
    p.add_argument('--volume-id', help='prune this volume only')
    p.add_argument('--dry-run', action='store_true')

    p = add('gc', 'free unreferenced chunks', 'Remove chunks no backup '
            'names and stale temporary files, sparing those younger than '
            '--grace seconds (a running backup may still need them).')
    p.add_argument('--grace', type=float, default=retention.DEFAULT_GRACE)
    p.add_argument('--dry-run', action='store_true')

    p = add('delete', 'delete one backup', 'Delete a backup no incremental '
            'depends on, and its snapshot base; run gc to free its chunks.')
    p.add_argument('backup_id')
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(add)
    return parser


def _secret(args):
    if args.key_file and args.passphrase_file:
        raise exception.InvalidArgument(
            reason='give --key-file or --passphrase-file, not both')
    path = args.key_file or args.passphrase_file
    if path is None:
        return None
    try:
        with open(path, 'rb') as f:
            secret = f.read()
    except OSError as exc:
        raise exception.InvalidArgument(reason='cannot read key: %s' % exc)
    return secret.rstrip(b'\n') if args.passphrase_file else secret


def _cmd_init(args, out):
    kdf = None if args.encryption == 'none' else args.encryption
    secret = _secret(args)
    if kdf is not None and secret is None:
        raise exception.InvalidArgument(
            reason='--encryption %s needs --key-file or --passphrase-file'
            % kdf)
    repo = repository.Repository.init(args.repo, args.chunk_size,
                                      args.compression, kdf,
                                      secret if kdf else None,
                                      lock_url=args.lock_url)
    out.result({'repository': repo.path, 'id': repo.config['id'],
                'chunk_size': repo.chunk_size,
                'compression': repo.compression, 'encryption': kdf})


def _engine(args, out):
    return engine_mod.BackupEngine.open(
        args.repo, _secret(args), lock_url=args.lock_url,
        workers=args.workers, lock_timeout=args.lock_timeout,
        progress=out.progress)


def _cmd_backup(args, out):
    eng = _engine(args, out)
    if args.from_volume or args.from_snapshot:
        return _backup_cinder_object(args, out, eng)
    if not args.source:
        raise exception.InvalidArgument(
            reason='give SOURCE, or --from-volume/--from-snapshot')
    volume_id = args.volume_id or os.path.basename(args.source)
    with out.bar('backup'):
        manifest = eng.backup(
            args.source, volume_id, args.backup_id, args.incremental,
            args.parent, args.snapshot_base, args.name, args.description)
    out.manifest(manifest)


def _backup_cinder_object(args, out, eng):
    if args.source or not args.backend:
        raise exception.InvalidArgument(
            reason='--from-volume/--from-snapshot take --backend and no '
            'SOURCE')
    from cinder_ext.backup import cinder_source
    found = cinder_source.locate(args.cinder_conf, args.backend,
                                 args.from_volume, args.from_snapshot)
    with cinder_source.coordinator(args.cinder_conf), out.bar('backup'):
        manifest = eng.backup(
            found.path, args.volume_id or found.volume_id, args.backup_id,
            args.incremental, args.parent,
            args.snapshot_base or found.base_name, args.name,
            args.description, guard=cinder_source.guard(found),
            require_copy=found.kind == 'volume')
    out.manifest(manifest)


def _cmd_restore(args, out):
    eng = _engine(args, out)
    with out.bar('restore'):
        out.result(eng.restore(args.backup_id, args.target))


def _cmd_list(args, out):
    out.listing(_engine(args, out).list(args.volume_id))


def _cmd_show(args, out):
    out.manifest(_engine(args, out).show(args.backup_id), full=True)


def _cmd_verify(args, out):
    problems = _engine(args, out).verify(args.backup_ids, args.deep,
                                         args.compare)
    out.problems(problems)
    return EXIT_CORRUPT if problems else EXIT_OK


def _cmd_prune(args, out):
    keep = {rule: getattr(args, 'keep_' + rule)
            for rule in ('last', 'daily', 'weekly', 'monthly')}
    if not any(keep.values()):
        raise exception.InvalidArgument(
            reason='prune needs at least one --keep-* option')
    kept, removed = _engine(args, out).prune(args.dry_run, args.volume_id,
                                             **keep)
    out.result({'kept': kept, 'removed': removed, 'dry_run': args.dry_run})


def _cmd_gc(args, out):
    out.result(_engine(args, out).gc(args.grace, args.dry_run))


def _cmd_delete(args, out):
    manifest = _engine(args, out).delete(args.backup_id)
    out.result({'deleted': manifest['backup_id']})


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose
                        else logging.WARNING, stream=sys.stderr,
                        format='%(levelname)s %(message)s')
    out = output.Output(args.json, not args.no_progress)
    if not args.repo and getattr(args, 'needs_repo', True):
        parser.error('--repo (or $CINDER_EXT_BACKUP_REPO) is required')
    handler = getattr(args, 'func', None) or globals()[
        '_cmd_' + args.command.replace('-', '_')]
    try:
        return handler(args, out) or EXIT_OK
    except exception.BackupError as exc:
        out.error(exc)
        return exc.exit_code
    except OSError as exc:
        out.error(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        out.error(exception.BackupError('interrupted'))
        return EXIT_INTERRUPTED


if __name__ == '__main__':
    sys.exit(main())
