"""Privileged entry points: the file operations of
``cinder_ext.storage.fileio`` run as root in the privsep daemon.

Each entry point is a one-line pass-through so that the daemon exposes
exactly the confined operations and nothing else.
"""

from cinder_ext import privileged
from cinder_ext.storage import fileio


@privileged.default.entrypoint
def create(root, name, size, allocate, key):
    return fileio.create(root, name, size, allocate, key)


@privileged.default.entrypoint
def pin(root, src, key):
    return fileio.pin(root, src, key)


@privileged.default.entrypoint
def clone(root, src, dst, size, allocate, key, reflink=True, replace=False,
          tag=None):
    return fileio.clone(root, src, dst, size, allocate, key, reflink=reflink,
                        replace=replace, tag=tag)


@privileged.default.entrypoint
def extend(root, name, size, allocate):
    return fileio.extend(root, name, size, allocate)


@privileged.default.entrypoint
def remove(root, name):
    return fileio.remove(root, name)


@privileged.default.entrypoint
def rename(root, src, dst):
    return fileio.rename(root, src, dst)


@privileged.default.entrypoint
def lookup(root, path):
    return fileio.lookup(root, path)


@privileged.default.entrypoint
def scan(root):
    return fileio.scan(root)


@privileged.default.entrypoint
def read_header(root, path, length=512):
    return fileio.read_header(root, path, length)


@privileged.default.entrypoint
def capacity(root):
    return fileio.capacity(root)


@privileged.default.entrypoint
def write_probe(root):
    return fileio.write_probe(root)


@privileged.default.entrypoint
def supports_reflink(root):
    return fileio.supports_reflink(root)
