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
