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

"""Privileged entry points: the file operations of
``cinder_ext.storage.fileio`` run as root in the privsep daemon.

Each entry point first checks that the share root it is given is one the
daemon's own configuration names (``roots``), then passes through, so the
daemon exposes exactly the confined operations and nothing else.
"""

import os

from cinder_ext import privileged
from cinder_ext.privileged import handoff
from cinder_ext.privileged import roots
from cinder_ext.storage import fileio


@privileged.default.entrypoint
def create(root, name, size, allocate, key):
    roots.check(root)
    return fileio.create(root, name, size, allocate, key)


@privileged.default.entrypoint
def pin(root, src, key):
    roots.check(root)
    return fileio.pin(root, src, key)


@privileged.default.entrypoint
def clone(root, src, dst, size, allocate, key, reflink=True, replace=False,
          tag=None):
    roots.check(root)
    return fileio.clone(root, src, dst, size, allocate, key, reflink=reflink,
                        replace=replace, tag=tag)


@privileged.default.entrypoint
def extend(root, name, size, allocate):
    roots.check(root)
    return fileio.extend(root, name, size, allocate)


@privileged.default.entrypoint
def remove(root, name):
    roots.check(root)
    return fileio.remove(root, name)


@privileged.default.entrypoint
def rename(root, src, dst):
    roots.check(root)
    return fileio.rename(root, src, dst)


@privileged.default.entrypoint
def lookup(root, path):
    roots.check(root)
    return fileio.lookup(root, path)


@privileged.default.entrypoint
def scan(root):
    roots.check(root)
    return fileio.scan(root)


@privileged.default.entrypoint
def inspect(root, path, length=512):
    roots.check(root)
    return fileio.inspect(root, path, length)


@privileged.default.entrypoint
def capacity(root):
    roots.check(root)
    return fileio.capacity(root)


@privileged.default.entrypoint
def write_probe(root):
    roots.check(root)
    return fileio.write_probe(root)


@privileged.default.entrypoint
def supports_reflink(root):
    roots.check(root)
    return fileio.supports_reflink(root)


@privileged.default.entrypoint
def send_regular(root, name, writable, sock_path):
    roots.check(root)
    fd = fileio.open_regular(root, name, writable)
    try:
        handoff.send_fd(sock_path, fd)
    finally:
        os.close(fd)


def open_regular(root, name, writable):
    """Runs in the service: an fd of a volume file, opened by the daemon
    without following links and handed over (``handoff``)."""
    return handoff.receive_fd(
        lambda sock_path: send_regular(root, name, writable, sock_path))
