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

"""One engine operation in a child process of the Cinder backup driver.

cinder-backup runs under eventlet: its monkey-patched threads would turn
the engine's compression and hashing threads into green threads on one
core and stall the service while a chunk is compressed.  A child process
gets real threads and its own bounded memory, and can be killed alone.

Protocol: one JSON object on stdin (``op``, ``repo``, the operation's
arguments), one JSON object on stdout (``{"ok": true, "result": ...}`` or
``{"ok": false, "error": class name, "message": ...}``); the exit code is
the command line's (see ``cli``).  Nothing here imports cinder.
"""

import json
import os
import stat
import sys

from cinder_ext.backup import engine
from cinder_ext.backup import exception

EXIT_OK = 0


def _backup(eng, req):
    return eng.backup(
        req['source'], req['volume_id'], backup_id=req['backup_id'],
        incremental=bool(req.get('parent_id')),
        parent_id=req.get('parent_id'), base_name=req.get('base_name'),
        name=req.get('name') or '', description=req.get('description') or '',
        metadata=req.get('metadata'))


def _restore(eng, req):
    result = eng.restore(req['backup_id'], req['target'], create=False)
    # A restore into a larger volume: a file target is recreated at the
    # backup's size, so give it back the volume's size (a hole, O(1)).
    min_size = req.get('min_size') or 0
    fd = os.open(req['target'], os.O_RDWR | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_size < min_size:
            os.ftruncate(fd, min_size)
    finally:
        os.close(fd)
    return result


def _import(eng, req):
    """A record imported under another id (Cinder's import keeps the id
    unless it is taken) becomes a copy of the manifest: chunks are shared
    by content, so deleting either leaves the other whole."""
    manifest = dict(req['manifest'])
    backup_id = req.get('backup_id') or manifest.get('backup_id')
    if manifest.get('backup_id') != backup_id:
        manifest['backup_id'] = backup_id
        manifest.pop('base', None)  # the reflink base stays the original's
    try:
        held = eng.show(backup_id)
    except exception.BackupNotFound:
        held = None
    if held is None:
        eng.import_record(manifest)
    elif held.get('chunks') != manifest.get('chunks'):
        raise exception.BackupExists(backup_id=backup_id)
    problems = eng.verify([backup_id])
    if problems and held is None:
        eng.delete(backup_id)
    if problems:
        raise exception.ChunkMissing(
            backup_id=backup_id, chunk_id=problems[0].get('chunk_id'),
            offset=problems[0].get('offset'))
    return {'backup_id': backup_id}


OPERATIONS = {
    'backup': _backup,
    'restore': _restore,
    'delete': lambda eng, req: eng.delete(req['backup_id']),
    'show': lambda eng, req: eng.show(req['backup_id']),
    'import': _import,
}


def _secret(path):
    if not path:
        return None
    with open(path, 'rb') as f:
        return f.read()


def run(req):
    """(exit code, reply) for one request."""
    try:
        operation = OPERATIONS[req['op']]
        eng = engine.BackupEngine.open(
            req['repo'], _secret(req.get('key_file')),
            workers=req.get('workers'), lock_timeout=req.get('lock_timeout'))
        return EXIT_OK, {'ok': True, 'result': operation(eng, req)}
    except exception.BackupError as exc:
        return exc.exit_code, {'ok': False, 'error': type(exc).__name__,
                               'message': str(exc)}
    except (KeyError, TypeError, ValueError) as exc:
        return 2, {'ok': False, 'error': 'InvalidRequest',
                   'message': 'bad request: %r' % (exc,)}
    except OSError as exc:
        return 1, {'ok': False, 'error': 'OSError', 'message': str(exc)}


def main():
    code, reply = run(json.load(sys.stdin))
    json.dump(reply, sys.stdout)
    sys.stdout.write('\n')
    return code


if __name__ == '__main__':
    sys.exit(main())
