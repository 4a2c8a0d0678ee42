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

"""Shares: NFS exports mounted through os-brick, or mounted directories."""

import os
import re
import stat

from os_brick.remotefs import remotefs

from cinder_ext import exception
from cinder_ext.storage import file as file_store

_NFS_EXPORT = re.compile(r'^[^/:\s]+:/\S*$|^\[[0-9a-fA-F:]+\]:/\S*$')


def is_nfs_export(share):
    return bool(_NFS_EXPORT.match(share))


def validate(specs):
    """Refuse share entries that are neither host:/export nor /abs/path."""
    if not specs:
        raise exception.ShareUnavailable(
            share='(none)', reason='cinder_ext_shares is empty')
    for spec in specs:
        if not (is_nfs_export(spec) or os.path.isabs(spec)):
            raise exception.ShareUnavailable(
                share=spec, reason='expected host:/export or an absolute '
                                   'path')
    if len(set(specs)) != len(specs):
        raise exception.ShareUnavailable(share=','.join(specs),
                                         reason='a share is listed twice')


class Shares:
    """The stores of a backend's shares, mounting NFS exports on demand."""

    def __init__(self, specs, ops, mount_point_base, mount_options=None,
                 root_helper=None, execute=None, copy_method='auto'):
        validate(specs)
        self._specs = list(specs)
        self._ops = ops
        self._copy_method = copy_method
        self._mount_options = mount_options
        self._client = None
        if any(is_nfs_export(s) for s in specs):
            self._client = remotefs.RemoteFsClient(
                'nfs', root_helper, execute=execute,
                nfs_mount_point_base=mount_point_base,
                nfs_mount_options=mount_options)
        self._stores = {}
        self._devices = {}

    def is_nfs(self, spec):
        return self._client is not None and is_nfs_export(spec)

    def mount_point(self, spec):
        if self.is_nfs(spec):
            return self._client.get_mount_point(spec)
        return spec

    def mount_point_base(self):
        return self._client.get_mount_base() if self._client else None

    def store(self, spec):
        """The store of a share, after checking that it is mounted.

        Checked on every call, O(1) stats: an export unmounted under the
        service is mounted again, and a path share whose filesystem went
        away is refused, so nothing is written into a bare mount point.
        """
        if spec not in self._specs:
            raise exception.ShareUnavailable(
                share=spec, reason='not in cinder_ext_shares')
        root = self.mount_point(spec)
        self._check_mounted(spec, root)
        store = self._stores.get(spec)
        if store is None:
            store = file_store.FileStore(spec, root, self._ops,
                                         self._copy_method)
            self._stores[spec] = store
        return store

    def _check_mounted(self, spec, root):
        if self.is_nfs(spec) and not os.path.ismount(root):
            try:
                self._client.mount(spec)
            except Exception as exc:
                raise exception.ShareUnavailable(share=spec,
                                                 reason=str(exc))
            if not os.path.ismount(root):
                raise exception.ShareUnavailable(
                    share=spec, reason='%s is not a mount point' % root)
            self._devices.pop(spec, None)
        try:
            st = os.stat(root)
        except OSError as exc:
            raise exception.ShareUnavailable(
                share=spec, reason='%s: %s' % (root, exc.strerror))
        if not stat.S_ISDIR(st.st_mode):
            raise exception.ShareUnavailable(
                share=spec, reason='%s is not a directory' % root)
        # The filesystem a share was first seen on is the share: another
        # device under the same path means it was unmounted, unless the
        # path was a mount point and is one again (mounted anew).
        first, was_mount = self._devices.setdefault(
            spec, (st.st_dev, os.path.ismount(root)))
        if st.st_dev != first:
            if not (was_mount and os.path.ismount(root)):
                raise exception.ShareUnavailable(
                    share=spec, reason='the filesystem at %s changed '
                                       '(device %d, was %d): unmounted?' % (
                                           root, st.st_dev, first))
            self._devices[spec] = (st.st_dev, True)

    def stores(self):
        """Stores of every share that is reachable now, and the errors."""
        stores, errors = [], {}
        for spec in self._specs:
            try:
                stores.append(self.store(spec))
            except exception.ShareUnavailable as exc:
                errors[spec] = exc
        return stores, errors

    def find(self, path):
        """(store, relative path) of an absolute path below a share."""
        real = os.path.normpath(path)
        for spec in self._specs:
            root = os.path.normpath(self.mount_point(spec))
            if real.startswith(root + os.sep):
                return self.store(spec), real[len(root) + 1:]
        return None, None
