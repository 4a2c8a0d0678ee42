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

"""The one place where a storage command is executed.

Every LVM command of cinder-ext ends here, after it has been built
(``storage.lvmcmd``) and validated by the privileged entry point
(``privileged.lvm``).  Production runs it on this host with
``processutils.execute``; the functional tests replace ``execute`` with the
test guest's, which has the same contract (returns ``(stdout, stderr)``,
raises ``ProcessExecutionError`` on a non-zero exit), so that everything
before this step runs for real in the tests.
"""

from oslo_concurrency import processutils

# The whole environment of the command (processutils replaces, not adds).
# LC_ALL=C: messages in English, parsed by the error translation; no fd
# warnings from LVM on stderr; PATH with the sbin directories.
ENV = {'LC_ALL': 'C', 'LVM_SUPPRESS_FD_WARNINGS': '1',
       'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}

execute = processutils.execute


def run(argv):
    """Execute ``argv`` (a list); returns (stdout, stderr)."""
    # Looked up at call time, so a swapped ``execute`` takes effect.
    return execute(*argv, env_variables=dict(ENV))
