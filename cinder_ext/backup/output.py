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

"""What the command line prints: text and a progress bar (tqdm) on a
terminal, or JSON lines with --json."""

import contextlib
import json
import sys

import tqdm

from cinder_ext.backup import humanize

# The command line's exit codes (exceptions carry their own exit_code).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CORRUPT, EXIT_BUSY = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130


class Output(object):

    def __init__(self, as_json, progress=True, stream=None):
        self.as_json = as_json
        self.stream = stream or sys.stdout
        self.show_bar = progress and not as_json and sys.stderr.isatty()
        self._bar = None
        self._last = 0

    def _line(self, obj):
        self.stream.write(json.dumps(obj, sort_keys=True) + '\n')
        self.stream.flush()

    @contextlib.contextmanager
    def bar(self, what):
        if self.show_bar:
            self._bar = tqdm.tqdm(desc=what, unit='B', unit_scale=True,
                                  unit_divisor=1024, file=sys.stderr)
        try:
            yield
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def progress(self, done, total):
        if self._bar is not None:
            self._bar.total = total
            self._bar.update(done - self._bar.n)
        elif self.as_json and done - self._last >= max(total // 100, 1):
            self._last = done
            self._line({'event': 'progress', 'done': done, 'total': total})

    def result(self, obj):
        if self.as_json:
            self._line(dict(obj, event='result'))
            return
        for key, value in obj.items():
            if isinstance(value, list):
                value = ', '.join(map(str, value)) or '-'
            self.stream.write('%s: %s\n' % (key, value))

    def error(self, exc):
        if self.as_json:
            self._line({'event': 'error', 'error': type(exc).__name__,
                        'message': str(exc)})
        else:
            sys.stderr.write('cinder-ext-backup: error: %s\n' % exc)

    @staticmethod
    def _summary(m):
        stats = m.get('stats', {})
        return {'backup_id': m['backup_id'], 'volume_id': m['volume_id'],
                'parent_id': m.get('parent_id'),
                'created_at': m['created_at'], 'size': m['size'],
                'change_detection': m.get('change_detection'),
                'chunks': len(m['chunks']),
                'bytes_read': stats.get('bytes_read'),
                'bytes_stored': stats.get('bytes_stored'),
                'seconds': stats.get('seconds'), 'name': m.get('name')}

    def manifest(self, m, full=False):
        if self.as_json:
            self._line(dict(m if full else self._summary(m), event='result'))
            return
        s = self._summary(m)
        for key in ('size', 'bytes_read', 'bytes_stored'):
            if s[key] is not None:
                s[key] = humanize.size(s[key])
        self.result(s)

    def listing(self, manifests):
        if self.as_json:
            for m in manifests:
                self._line(dict(self._summary(m), event='backup'))
            return
        fmt = '%-36s  %-36s  %-26s  %10s  %10s  %s\n'
        self.stream.write(fmt % ('BACKUP', 'VOLUME', 'CREATED', 'SIZE',
                                 'STORED', 'PARENT'))
        for m in manifests:
            s = self._summary(m)
            self.stream.write(fmt % (
                s['backup_id'], s['volume_id'], s['created_at'][:26],
                humanize.size(s['size']),
                humanize.size(s['bytes_stored'] or 0),
                s['parent_id'] or '-'))

    def problems(self, problems):
        if self.as_json:
            for p in problems:
                self._line(dict(p, event='problem'))
            self._line({'event': 'result', 'problems': len(problems)})
            return
        for p in problems:
            self.stream.write(
                'PROBLEM backup %(backup_id)s chunk %(chunk_id)s offset '
                '%(offset)s: %(problem)s (%(detail)s)\n' % p)
        self.stream.write('%d problem(s)\n' % len(problems))
