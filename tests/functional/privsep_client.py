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

"""Runs in its own process: starts the real cinder-ext privsep daemon
(privsep-helper, not in-process) from a cinder.conf and calls the entry
points named on stdin, printing one JSON result per call.

    python -m tests.functional.privsep_client CINDER_CONF < calls.json

calls.json: a list of [entry point, args...]; results: a list of
{"ok": value} or {"error": exception class name, "message": ...}.
"""

import json
import os
import sys

from oslo_config import cfg


def main():
    conf_file = sys.argv[1]
    from cinder_ext.privileged import fileops
    cfg.CONF(['--config-file', conf_file], project='cinder')
    helper = os.path.join(os.path.dirname(sys.executable), 'privsep-helper')
    cfg.CONF.set_override(
        'helper_command', '%s --config-file %s' % (helper, conf_file),
        group='cinder_ext_privileged')
    results = []
    for name, *args in json.load(sys.stdin):
        try:
            value = getattr(fileops, name)(*args)
            if isinstance(value, bytes):
                value = value.decode('latin-1')
            if isinstance(value, dict) and 'header' in value:
                value = dict(value, header=len(value['header']))
            if name == 'open_regular':
                fd = value
                value = os.readlink('/proc/self/fd/%d' % fd)
                os.close(fd)
            results.append({'ok': value})
        except Exception as exc:
            results.append({'error': type(exc).__name__, 'message': str(exc)})
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
