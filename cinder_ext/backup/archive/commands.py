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

"""Every command of the archive procedure runs here, as an argument list
through the storage executor (processutils, LC_ALL=C); a failure becomes
the caller's exception class with the command's last line of stderr."""

import logging

from oslo_concurrency import processutils

from cinder_ext.storage import executor

LOG = logging.getLogger(__name__)


def failure_reason(exc):
    """The command, its exit code, and the first and last lines of its
    stderr (tar: the cause first, "not recoverable" last)."""
    text = (exc.stderr or exc.stdout or exc.description or '').strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = ' / '.join(lines[:1] + lines[-1:] if len(lines) > 1 else lines)
    return '%s exited %s: %s' % (exc.cmd.split()[0] if exc.cmd else '?',
                                 exc.exit_code, said[:600])


def run(argv, error, **kwargs):
    """(stdout, stderr) of ``argv``; ``error(reason=...)`` raised (with
    ``kwargs``) when it fails or cannot start."""
    LOG.debug('running %s', argv)
    try:
        return executor.run(argv)
    except processutils.ProcessExecutionError as exc:
        raise error(reason=failure_reason(exc), **kwargs)
    except OSError as exc:
        raise error(reason='%s: %s' % (argv[0], exc), **kwargs)


def run_quietly(argv):
    """For cleanup: True when ``argv`` succeeded; a failure is logged."""
    try:
        executor.run(argv)
        return True
    except (processutils.ProcessExecutionError, OSError) as exc:
        LOG.warning('%s failed: %s', argv, exc)
        return False
