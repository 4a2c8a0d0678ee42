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

"""The share roots the privsep daemon may touch.

The daemon works out the roots from its own configuration (the
``--config-file`` arguments it was started with, cinder.conf): every
``cinder_ext_shares`` entry of every backend in ``enabled_backends``.  A
root that a caller passes is accepted only when it is one of these, so a
compromised or buggy caller cannot point the daemon anywhere else.
"""

import hashlib
import os

from oslo_config import cfg

from cinder_ext import exception
from cinder_ext import opts

_DEFAULT_OPTS = [
    cfg.ListOpt('enabled_backends', default=None,
                help='Backend sections of cinder.conf.'),
    cfg.StrOpt('state_path', default='/var/lib/cinder',
               help='Top-level directory for maintaining cinder state.'),
]


def _register(conf, opt, group=None):
    try:
        conf.register_opt(opt, group=group)
    except cfg.DuplicateOptError:
        pass  # cinder registered its own, equivalent option


def nfs_mount_point(base, export):
    """Where os-brick's RemoteFsClient mounts ``export`` under ``base``."""
    return os.path.join(base, hashlib.md5(
        export.encode('utf-8'), usedforsecurity=False).hexdigest())


def backend_sections(conf, backend_opts):
    """The sections of ``enabled_backends`` in the daemon's cinder.conf,
    with ``backend_opts`` registered in each (cinder's own, equivalent
    options win)."""
    for opt in _DEFAULT_OPTS:
        _register(conf, opt)
    for backend in conf.enabled_backends or []:
        for opt in backend_opts:
            _register(conf, opt, group=backend)
        yield conf[backend]


def allowed(conf=None):
    """The normalised share roots of this host's cinder-ext backends."""
    roots = set()
    for group in backend_sections(conf or cfg.CONF, opts.share_opts):
        for spec in group.cinder_ext_shares or []:
            if os.path.isabs(spec):
                roots.add(os.path.normpath(spec))
            else:
                roots.add(os.path.normpath(nfs_mount_point(
                    group.cinder_ext_mount_point_base, spec)))
    return roots


def check(root):
    """Refuse a root that is not one of this host's configured shares."""
    if not isinstance(root, str) or os.path.normpath(root) not in allowed():
        raise exception.OutsideShares(path=root)
