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

"""The one place where storage errors become Cinder exceptions."""

import contextlib

from cinder import exception as cinder_exception
import decorator
from oslo_log import log as logging

from cinder_ext import exception

LOG = logging.getLogger(__name__)


@contextlib.contextmanager
def translated(operation='operation'):
    """Raise Cinder's VolumeBackendAPIException for any storage error.

    Cinder exceptions raised by the driver itself pass through unchanged.
    """
    try:
        yield
    except exception.CinderExtException as exc:
        LOG.error('%(op)s failed: %(err)s', {'op': operation, 'err': exc.msg})
        raise cinder_exception.VolumeBackendAPIException(data=exc.msg)


@decorator.decorator
def translate(func, *args, **kwargs):
    """Decorator form of ``translated``; keeps the signature, which
    ``coordination.synchronized`` reads to format lock names."""
    with translated(func.__name__):
        return func(*args, **kwargs)


def invalid_reference(existing_ref, exc):
    """ManageExistingInvalidReference for a refused manage source."""
    reason = exc.msg if isinstance(exc, exception.CinderExtException) else exc
    return cinder_exception.ManageExistingInvalidReference(
        existing_ref=existing_ref, reason=reason)
