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

"""Exceptions raised by the storage layer.

The stores know nothing of Cinder; the drivers translate these into Cinder
exceptions in one place (``cinder_ext.volume.errors``).
"""


class CinderExtException(Exception):
    """Root of every cinder-ext error; subclasses set ``message``."""

    message = 'An unknown cinder-ext error occurred.'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError):
                message = self.message
        self.msg = message
        super().__init__(message)


class NoSpace(CinderExtException):
    message = 'No space left on %(location)s while writing %(name)s.'


class NotFound(CinderExtException):
    message = '%(name)s does not exist on %(location)s.'


class AlreadyExists(CinderExtException):
    message = '%(name)s already exists on %(location)s.'


class InvalidName(CinderExtException):
    message = 'Invalid name %(name)r: %(reason)s'


class NotRegularFile(CinderExtException):
    message = '%(name)s on %(location)s is not a regular file: %(reason)s'


class ShareUnavailable(CinderExtException):
    message = 'Share %(share)s is unavailable: %(reason)s'


class NoShareFits(CinderExtException):
    message = 'No share has room for %(size)s GiB: %(reason)s'


class ReflinkUnsupported(CinderExtException):
    message = 'Share %(location)s does not support reflink: %(reason)s'


class StorageError(CinderExtException):
    message = '%(operation)s of %(name)s on %(location)s failed: %(reason)s'


class OutsideShares(CinderExtException):
    message = ('%(path)r is not the root of a share configured in '
               'cinder_ext_shares; the privileged daemon refuses it.')


class InstantCopyUnsupported(CinderExtException):
    message = ('%(location)s cannot copy a volume at one instant: '
               '%(reason)s')


class OutsideVolumeGroups(CinderExtException):
    message = ('Volume group %(vg)r is not the volume_group of a backend '
               'in enabled_backends; the privileged daemon refuses it.')


class VolumeGroupMissing(CinderExtException):
    message = ('Volume group %(vg)s does not exist on this host '
               '(%(reason)s); create it or fix volume_group.')


class LvBusy(CinderExtException):
    message = '%(name)s on %(location)s cannot be %(operation)s: %(reason)s'


class PoolTooFull(NoSpace):
    message = ('Thin pool %(location)s is %(what)s %(percent).1f%% full '
               '(limit %(limit)s%%); refusing to %(operation)s %(name)s '
               'so the pool does not run out under its volumes.')


class InvalidSize(CinderExtException):
    message = 'Invalid size for %(name)s: %(reason)s'
