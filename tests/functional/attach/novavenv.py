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

"""Talk to nova_side.py in the Nova venv (tools/attach/nova-venv builds it).

One ``Session`` is one nova_side process: Nova's mount bookkeeping lasts
as long as it does, as in nova-compute, and Nova is imported once (seconds
on the host, a minute under TCG).
"""

import json
import os
import subprocess
import tempfile

VENV = os.environ.get('CINDER_EXT_NOVA_VENV',
                      '/var/lib/cinder-ext-nova/venv')
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'nova_side.py')


def python():
    return os.path.join(VENV, 'bin', 'python')


def available():
    return os.access(python(), os.X_OK)


class NovaSideFailed(Exception):
    pass


class Session(object):

    def __init__(self, env=None):
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [python(), '-W', 'ignore', SCRIPT], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr,
            env=dict(os.environ, **(env or {})))

    def call(self, request):
        """Send one request; returns its answer or raises NovaSideFailed."""
        self._proc.stdin.write(json.dumps(request).encode() + b'\n')
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self._stderr.seek(0)
            raise NovaSideFailed('nova_side.py died: %s' % self._stderr.read(
            ).decode('utf-8', 'replace')[-3000:])
        answer = json.loads(line)
        if 'error' in answer:
            raise NovaSideFailed('%s failed: %s' % (request['op'],
                                                    answer['error']))
        return answer

    def close(self):
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()
