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

"""Every volume of a backend: the names its driver gives them.

NFS/POSIX backend: the regular files on its shares whose names fit
``volume_name_template`` (``volume-<uuid>``); LVM backend: the LVs of its
volume group that do.  Only the name is trusted here; ``locate`` and the
archive check each one again.  Cost: one directory listing per share, or
one ``lvs`` report.
"""

import os
import re
import stat

from cinder_ext.backup import cinder_source
from cinder_ext.backup import exception

_UUID = '[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}'


def name_pattern(template):
    """``volume-%s`` -> a regex whose group ``id`` is the uuid."""
    before, sep, after = template.partition('%s')
    return re.compile('^%s(?P<id>%s)%s$' % (re.escape(before), _UUID,
                                            re.escape(after)))


def matching(names, template):
    pattern = name_pattern(template)
    return sorted({m.group('id') for m in map(pattern.match, names) if m})


def volume_ids(config_file, backend):
    """Sorted ids of the volumes the backend holds."""
    conf = cinder_source.load_backend(config_file, backend)
    section = conf[backend]
    template = conf.volume_name_template
    if section.volume_driver == cinder_source.LVM_DRIVER:
        from cinder_ext.backup import thin
        return matching(thin.report(section.cinder_ext_volume_group),
                        template)
    if section.volume_driver != cinder_source.NFS_DRIVER:
        raise exception.InvalidArgument(
            reason='backend %s runs %s, not a cinder-ext driver' % (
                backend, section.volume_driver))
    names = []
    for _spec, directory in cinder_source.share_dirs(section):
        with os.scandir(directory) as entries:
            names += [e.name for e in entries if _regular(e)]
    return matching(names, template)


def _regular(entry):
    try:
        return stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode)
    except OSError:  # gone since the listing
        return False
