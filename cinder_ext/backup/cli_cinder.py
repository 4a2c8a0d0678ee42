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

from cinder_ext.backup import cinderformat_read


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
