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

"""``processutils.execute`` with the command run in a test guest.

Same contract as ``oslo_concurrency.processutils.execute``: returns
(stdout, stderr) as str (bytes with ``binary=True``), raises
``ProcessExecutionError`` (exit_code, stdout, stderr, cmd) for an exit code
not in ``check_exit_code``, ``OSError`` when the program cannot be run and
``subprocess.TimeoutExpired`` at ``timeout``; honours ``process_input``,
``env_variables`` (the whole environment, as there, plus the guest's PATH
when it has none: a root helper would supply one), ``cwd``, ``shell``,
``attempts`` and ``delay_on_retry``.  ``run_as_root`` / ``root_helper`` are
ignored: the guest runs commands as root.  Code under test gets
``functools.partial(execute, guest)`` (or ``guest.execute``) where it would
get ``processutils.execute``; only where the command runs differs.
"""

import os
import random
import subprocess
import time

from oslo_concurrency import processutils
from oslo_utils import strutils

GUEST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
_IGNORED = {'run_as_root', 'root_helper', 'loglevel', 'log_errors',
            'on_execute', 'on_completion', 'preexec_fn', 'prlimit',
            'python_exec'}
_KNOWN = _IGNORED | {'cwd', 'process_input', 'env_variables',
                     'check_exit_code', 'delay_on_retry', 'attempts',
                     'shell', 'binary', 'timeout'}


def execute(guest, *cmd, **kwargs):
    unknown = set(kwargs) - _KNOWN
    if unknown:
        raise processutils.UnknownArgumentError(
            'Got unknown keyword args: %r' % sorted(unknown))
    check_exit_code = kwargs.get('check_exit_code', 0)
    ignore_exit_code = False
    if isinstance(check_exit_code, bool):
        ignore_exit_code = not check_exit_code
        check_exit_code = [0]
    elif isinstance(check_exit_code, int):
        check_exit_code = [check_exit_code]
    elif check_exit_code is None:
        check_exit_code = [0]
    cmd = tuple(str(c) for c in cmd)
    argv = ['/bin/sh', '-c', ' '.join(cmd)] if kwargs.get('shell') else cmd
    env = kwargs.get('env_variables')
    if env is not None and 'PATH' not in env:
        env = dict(env, PATH=GUEST_PATH)
    sanitized_cmd = strutils.mask_password(' '.join(cmd))
    attempts = kwargs.get('attempts', 1)
    while attempts > 0:
        attempts -= 1
        try:
            return _once(guest, argv, env, kwargs, check_exit_code,
                         ignore_exit_code, sanitized_cmd)
        except (processutils.ProcessExecutionError, OSError):
            if not attempts:
                raise
            if kwargs.get('delay_on_retry', True):
                time.sleep(random.randint(20, 200) / 100.0)


def _once(guest, argv, env, kwargs, check_exit_code, ignore_exit_code,
          sanitized_cmd):
    timeout = kwargs.get('timeout')
    reply = guest.run_reply(argv, input=kwargs.get('process_input'),
                            timeout=timeout, env=env, cwd=kwargs.get('cwd'),
                            env_replace=env is not None)
    rc, out, err = guest.decode(reply)
    if reply.get('errno'):
        raise OSError(reply['errno'], os.strerror(reply['errno']), argv[0])
    if reply.get('timeout'):
        raise subprocess.TimeoutExpired(list(argv), timeout, out, err)
    if not ignore_exit_code and rc not in check_exit_code:
        raise processutils.ProcessExecutionError(
            exit_code=rc, cmd=sanitized_cmd,
            stdout=strutils.mask_password(os.fsdecode(out)),
            stderr=strutils.mask_password(os.fsdecode(err)))
    if kwargs.get('binary'):
        return out, err
    return os.fsdecode(out), os.fsdecode(err)
