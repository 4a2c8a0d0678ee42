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

"""tools/guest: build, start, stop and use the test guest from a shell."""

import argparse
import json
import sys
import time

from tests.guest import builder
from tests.guest import config
from tests.guest import instance


def _forward(text):
    host, _, guest = text.partition(':')
    return int(host), int(guest or host)


def _shared(text):
    path, _, size = text.rpartition(':')
    if not path:
        raise argparse.ArgumentTypeError('want PATH:SIZE, e.g. '
                                         '/var/tmp/vg.img:8G')
    return path, config.parse_size(size)


def parser():
    p = argparse.ArgumentParser(prog='tools/guest', description=__doc__)
    sub = p.add_subparsers(dest='command', required=True)
    b = sub.add_parser('build', help='build the kernel + initramfs (cached)')
    b.add_argument('--force', action='store_true')
    helps = {'start': 'boot an instance (no-op when running)',
             'stop': 'power an instance off',
             'status': 'running or stopped (exit 3), --json for details',
             'run': 'run -- CMD... in the guest; its output and exit code',
             'console': "the guest's serial console (last 200 lines)"}
    for name in ('start', 'stop', 'status', 'run', 'console'):
        s = sub.add_parser(name, help=helps[name])
        s.add_argument('--name', default=config.DEFAULT_NAME)
        if name == 'start':
            s.add_argument('--disks', default='2x8G',
                           help='fresh data disks, e.g. 2x8G or 8G,1G '
                                '(/dev/vda...); "" for none')
            s.add_argument('--shared', type=_shared, action='append',
                           default=[], metavar='PATH:SIZE',
                           help='a disk image several instances attach')
            s.add_argument('--memory', type=int,
                           default=config.DEFAULT_MEMORY_MB, metavar='MB')
            s.add_argument('--cpus', type=int, default=1,
                           help='virtual CPUs (each a host thread)')
            s.add_argument('--no-export', action='store_true',
                           help='no NFS server / export disk')
            s.add_argument('--guest-forward', type=int, action='append',
                           default=[], metavar='PORT',
                           help='host 127.0.0.1:PORT reachable in the guest '
                                'at 10.0.2.100:PORT')
            s.add_argument('--host-forward', type=_forward, action='append',
                           default=[], metavar='HOSTPORT:GUESTPORT')
            s.add_argument('--rw-dir', action='append', default=[],
                           metavar='PATH',
                           help='a host directory the guest may write, '
                                'over 9p with tag hostrw0, hostrw1, ...')
            s.add_argument('--cache-9p', default='loose',
                           choices=['loose', 'mmap', 'none'])
        if name == 'run':
            s.add_argument('--timeout', type=float)
            s.add_argument('--stdin', action='store_true',
                           help='pass this stdin to the command')
            s.add_argument('argv', nargs=argparse.REMAINDER)
        if name == 'status':
            s.add_argument('--json', action='store_true')
    return p


def main(args=None):
    opts = parser().parse_args(args)
    log = (lambda msg: print(msg, file=sys.stderr))
    if opts.command == 'build':
        print(json.dumps(builder.build(force=opts.force, log=log), indent=1))
        return 0
    if opts.command == 'start':
        started = time.monotonic()
        guest = instance.Guest(
            opts.name, disks=config.parse_disks(opts.disks),
            shared_disks=opts.shared, memory_mb=opts.memory, cpus=opts.cpus,
            export=not opts.no_export, guest_forwards=opts.guest_forward,
            host_forwards=opts.host_forward, cache_9p=opts.cache_9p,
            rw_dirs=opts.rw_dir)
        guest.start(log=log)
        log('%s running (%.1f s); data disks: %s; export: %s'
            % (opts.name, time.monotonic() - started,
               ' '.join(guest.disks) or '-',
               guest.export if not opts.no_export else '-'))
        return 0
    guest = instance.Guest(opts.name)
    if opts.command == 'stop':
        guest.stop()
        return 0
    if opts.command == 'console':
        print(guest.console_tail(200))
        return 0
    if opts.command == 'status':
        status = guest.status()
        if opts.json:
            print(json.dumps(status, indent=1))
        else:
            print('%s: %s' % (opts.name, status['state'] if status
                              else 'stopped'))
        return 0 if status and status['state'] == 'running' else 3
    argv = opts.argv[1:] if opts.argv[:1] == ['--'] else opts.argv
    if not argv:
        log('tools/guest run: no command')
        return 2
    data = sys.stdin.buffer.read() if opts.stdin else None
    rc, out, err = guest.run(argv, input=data, timeout=opts.timeout,
                             text=False)
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return rc if 0 <= rc < 256 else 255


if __name__ == '__main__':
    try:
        sys.exit(main())
    except config.GuestError as exc:
        print('tools/guest: %s' % exc, file=sys.stderr)
        sys.exit(1)
