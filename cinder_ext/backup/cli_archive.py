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

"""cinder-ext-backup archive: file-level tar archives of a volume's
filesystems (cinder_ext.backup.archive), fit for cron."""

import os
import signal

from cinder_ext.backup.archive import procedure
from cinder_ext.backup import exception
from cinder_ext.backup import output

DESCRIPTION = (
    'Archive the files of a volume: from a point-in-time copy (reflink '
    'copy next to a file, thin snapshot of a thin LV; a Cinder snapshot is '
    'read as it is), find the partitions (GPT, MBR) and the filesystems '
    '(xfs, ext2/3/4, btrfs; also on the whole device), mount each '
    'read-only without replaying its journal (xfs norecovery, ext4 noload, '
    'btrfs rescue=nologreplay), write one tar per filesystem (POSIX format: '
    'xattrs, ACLs, numeric owners, holes; no lost+found) with a '
    'SHA256SUMS file and manifest.json into OUT/<volume id>/<UTC time>/ '
    '(renamed into place when complete), then unmount and remove '
    'everything, also on failure.  Needs root.')


def register(add):
    p = add('archive', 'tar archives of the filesystems in a volume',
            DESCRIPTION)
    what = p.add_argument_group('what to archive (one of)')
    what.add_argument('--source', metavar='PATH', help='a volume file or '
                      'block device (a file is reflinked first; a block '
                      'device must be a thin LV, or give --no-snapshot)')
    what.add_argument('--from-volume', metavar='ID', help='a Cinder volume, '
                      'through --backend (copied under the driver\'s lock)')
    what.add_argument('--from-snapshot', metavar='ID', help='a Cinder '
                      'snapshot, through --backend (read as it is)')
    what.add_argument('--all', action='store_true', help='every volume of '
                      '--backend; one failing does not stop the others '
                      '(exit 1, each failure named)')
    cinder = p.add_argument_group('Cinder')
    cinder.add_argument('--backend', help='the backend\'s section name')
    cinder.add_argument('--cinder-conf', default='/etc/cinder/cinder.conf',
                        help='default /etc/cinder/cinder.conf')
    p.add_argument('--out', required=True, metavar='DIR',
                   help='output directory')
    p.add_argument('--volume-id', help='directory name under OUT '
                   '(default: the Cinder id, or the source file name)')
    p.add_argument('--exclude', action='append', default=[],
                   metavar='PATH', help='leave out PATH (relative to each '
                   'filesystem\'s root, globs allowed); repeatable')
    p.add_argument('--skip-unknown', action='store_true', help='skip '
                   'filesystems this tool cannot mount (default: fail)')
    p.add_argument('--no-snapshot', action='store_true', help='read the '
                   'source directly, without a point-in-time copy: only '
                   'for a source nothing uses (not attached, not written), '
                   'or the archive may be inconsistent or the mount fail')
    p.add_argument('--workdir', help='where the private mount directories '
                   'go (default: $TMPDIR or /tmp)')
    p.set_defaults(func=_archive, needs_repo=False)


def _children():
    """Pids of this process's children (tar, mount...), from /proc."""
    me = os.getpid()
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        if int(stat.rsplit(')', 1)[1].split()[1]) == me:
            found.append(int(entry))
    return found


def _terminated(signum, frame):
    """SIGTERM (cron, timeout): stop our own running command, then unwind
    like Ctrl-C, so every mount, loop device and snapshot is undone."""
    for pid in _children():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    raise KeyboardInterrupt()


def _options(args):
    return {'excludes': args.exclude, 'skip_unknown': args.skip_unknown,
            'take_snapshot': not args.no_snapshot, 'workdir': args.workdir}


def _summary(manifest):
    return {'volume_id': manifest['volume_id'], 'path': manifest['path'],
            'snapshot': manifest['snapshot']['kind'],
            'archives': [f['archive'] for f in manifest['filesystems']],
            'skipped': ['%(name)s: %(reason)s' % s
                        for s in manifest['skipped']],
            'seconds': manifest['seconds']}


def _archive(args, out):
    signal.signal(signal.SIGTERM, _terminated)
    chosen = [bool(args.source), bool(args.from_volume),
              bool(args.from_snapshot), args.all]
    if sum(chosen) != 1:
        raise exception.InvalidArgument(
            reason='give one of --source, --from-volume, --from-snapshot, '
            '--all')
    if args.source:
        if args.backend:
            raise exception.InvalidArgument(
                reason='--source takes no --backend')
        manifest = procedure.archive(
            args.source, args.out,
            args.volume_id or os.path.basename(args.source),
            **_options(args))
        out.result(_summary(manifest))
        return output.EXIT_OK
    if not args.backend:
        raise exception.InvalidArgument(
            reason='--from-volume, --from-snapshot and --all take --backend')
    from cinder_ext.backup import cinder_source
    if args.all:
        if args.volume_id:
            raise exception.InvalidArgument(
                reason='--all names each archive after its volume')
        return _archive_all(args, out, cinder_source)
    with cinder_source.coordinator(args.cinder_conf):
        manifest = procedure.archive_cinder(
            args.cinder_conf, args.backend, args.out, args.from_volume,
            args.from_snapshot, args.volume_id, **_options(args))
    out.result(_summary(manifest))
    return output.EXIT_OK


def _archive_all(args, out, cinder_source):
    from cinder_ext.backup.archive import inventory
    ids = inventory.volume_ids(args.cinder_conf, args.backend)
    done, failed = [], []
    with cinder_source.coordinator(args.cinder_conf):
        for volume_id in ids:
            try:
                manifest = procedure.archive_cinder(
                    args.cinder_conf, args.backend, args.out, volume_id,
                    **_options(args))
            except exception.BackupError as exc:
                out.error(exc)
                failed.append('%s: %s' % (volume_id, exc))
                continue
            except OSError as exc:
                out.error(exc)
                failed.append('%s: %s' % (volume_id, exc))
                continue
            out.result(_summary(manifest))
            done.append(volume_id)
    out.result({'backend': args.backend, 'archived': done,
                'failed': failed})
    return output.EXIT_ERROR if failed else output.EXIT_OK
