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

"""A repository store in an OpenStack Swift container.

``swift://<container>[/<prefix>]``: keys become object names under
``<prefix>/``.  Authentication comes from the usual environment
(:mod:`.swift_auth`).

Atomicity: a Swift PUT is atomic (readers see the old object or the whole
new one, never a part) and every PUT carries the MD5 of its body as
``ETag``, so the object server refuses (422) a body damaged on the way.
Chunks therefore need no temporary names: each is PUT once, under its
final name, before the manifest that names it; the manifest is PUT last,
with ``If-None-Match: *`` so that an existing backup is never replaced;
the config object is PUT last at init.  Reads check the body against the
returned ETag.

gc's grace period: a backup that reuses a chunk POSTs to it, which gives
the object a new X-Timestamp (Swift's fast POST; the container listing's
``last_modified`` follows).  gc compares the listing time, and for what it
would remove the object's HEAD X-Timestamp, with "now" as the Swift proxy
reports it (its ``Date``), so the client's clock never matters.

Connections are per thread (swiftclient's are not thread-safe); chunk
PUTs run in the backup's worker threads, in parallel.
"""

import datetime
import email.utils
import hashlib
import threading
import time
import urllib.parse

from swiftclient import client as swift_client

from cinder_ext.backup import exception
from cinder_ext.backup import locking
from cinder_ext.backup import stores
from cinder_ext.backup.stores import swift_auth

_FULL = (413, 507)


def _epoch(listing_time):
    when = datetime.datetime.fromisoformat(listing_time)
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def parse_url(url):
    """(container, prefix) of ``swift://<container>[/<prefix>]``."""
    parsed = urllib.parse.urlsplit(url)
    container = parsed.netloc
    prefix = parsed.path.strip('/')
    if (parsed.scheme != 'swift' or not container or parsed.query or
            '//' in parsed.path):
        raise exception.InvalidArgument(
            reason='bad Swift repository URL %r (swift://<container>'
            '[/<prefix>])' % url)
    return container, prefix + '/' if prefix else ''


class SwiftStore(object):

    def __init__(self, container, prefix, connect, location):
        self.container = container
        self.prefix = prefix
        self.location = self.path = location
        self._connect = connect
        self._local = threading.local()

    @classmethod
    def from_url(cls, url):
        container, prefix = parse_url(url)
        return cls(container, prefix, swift_auth.connection, url)

    @property
    def _conn(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _name(self, key):
        return self.prefix + key

    def _error(self, operation, exc):
        status = getattr(exc, 'http_status', None)
        if status in _FULL:
            return exception.RepositoryFull(path=self.location,
                                            name=operation)
        return stores.StoreError(path=self.location, operation=operation,
                                 reason=exc)

    def _call(self, operation, method, *args, **kwargs):
        try:
            return method(self.container, *args, **kwargs)
        except swift_client.ClientException as exc:
            if exc.http_status == 404:
                raise FileNotFoundError(operation)
            raise self._error(operation, exc)

    # -- whole repository ------------------------------------------------
    def create(self, subdirs):
        """Create the container if needed; refuse one that holds objects
        under our prefix."""
        try:
            self._conn.put_container(self.container)
        except swift_client.ClientException as exc:
            raise self._error('create container', exc)
        _headers, listing = self._call('list', self._conn.get_container,
                                       prefix=self.prefix, limit=1)
        if listing:
            raise exception.RepositoryExists(path=self.location)

    def lock(self, lock_url=None):
        if not lock_url:
            raise exception.InvalidArgument(
                reason='a Swift repository needs a lock across hosts: give '
                '--lock-url (or $CINDER_EXT_BACKUP_LOCK_URL), a tooz URL '
                'such as etcd3+http://host:2379 or redis://host:6379')
        return locking.for_url(lock_url, self.lock_name())

    def lock_name(self):
        return 'swift:%s/%s' % (self.container, self.prefix)

    def now(self):
        """Seconds since the epoch by the Swift proxy's clock."""
        headers = self._call('head', self._conn.head_container)
        date = headers.get('date')
        if not date:
            return time.time()
        return email.utils.parsedate_to_datetime(date).timestamp()

    # -- whole objects ---------------------------------------------------
    def read(self, key, limit=-1):
        """The object's bytes, checked against its ETag;
        FileNotFoundError when absent."""
        headers, body = self._call('read %s' % key, self._conn.get_object,
                                   self._name(key))
        etag = headers.get('etag', '').strip('"')
        if etag and hashlib.md5(body).hexdigest() != etag:
            raise stores.StoreError(path=self.location,
                                    operation='read %s' % key,
                                    reason='body does not match its ETag')
        return body if limit < 0 else body[:limit]

    def write(self, key, data, replace=True):
        """One atomic PUT; FileExistsError when ``replace`` is False and
        the object exists."""
        data = bytes(data)
        etag = hashlib.md5(data).hexdigest()
        headers = {} if replace else {'If-None-Match': '*'}
        try:
            got = self._conn.put_object(self.container, self._name(key),
                                        data, etag=etag, headers=headers)
        except swift_client.ClientException as exc:
            if exc.http_status == 412:
                # A retried PUT whose first try did land is ours.
                if self._etag(key) == etag:
                    return
                raise FileExistsError(key)
            raise self._error('write %s' % key, exc)
        if got and got != etag:
            raise stores.StoreError(path=self.location,
                                    operation='write %s' % key,
                                    reason='ETag %s, expected %s' % (
                                        got, etag))

    def _etag(self, key):
        try:
            return self._call('head %s' % key, self._conn.head_object,
                              self._name(key)).get('etag', '').strip('"')
        except FileNotFoundError:
            return None

    def exists(self, key):
        return self._etag(key) is not None

    def delete(self, key):
        """FileNotFoundError when absent."""
        self._call('delete %s' % key, self._conn.delete_object,
                   self._name(key))

    def delete_quietly(self, key):
        try:
            self.delete(key)
        except FileNotFoundError:
            pass

    def touch(self, key):
        """True when the object exists; a POST renews its X-Timestamp
        (and its listing time), gc's measure of its last use."""
        try:
            self._call('touch %s' % key, self._conn.post_object,
                       self._name(key),
                       headers={'X-Object-Meta-Used': '1'})
            return True
        except FileNotFoundError:
            return False

    def _listing(self, prefix, **kwargs):
        _headers, listing = self._call(
            'list %s' % prefix, self._conn.get_container,
            prefix=self._name(prefix) + '/', full_listing=True, **kwargs)
        return listing

    def names(self, prefix):
        """Names directly under ``prefix``.  O(names) (pages of 10000)."""
        start = len(self._name(prefix)) + 1
        return [item['name'][start:]
                for item in self._listing(prefix, delimiter='/')
                if 'name' in item]

    def entries(self, prefix):
        """Every object below ``prefix``.  O(objects)."""
        start = len(self.prefix)
        for item in self._listing(prefix):
            key = item['name'][start:]
            yield stores.Entry(key.rsplit('/', 1)[-1], key, item['bytes'],
                               _epoch(item['last_modified']))

    def last_used(self, entry):
        """The later of the listing time and the object's X-Timestamp (the
        listing may lag a POST).  One HEAD."""
        try:
            headers = self._call('head %s' % entry.key,
                                 self._conn.head_object,
                                 self._name(entry.key))
        except FileNotFoundError:
            return entry.mtime
        return max(entry.mtime, float(headers.get('x-timestamp', 0)))

    # -- batches of new chunks --------------------------------------------
    def stage(self, key, parts):
        """PUT the chunk now, under its final name: a PUT is atomic, and
        no manifest names it before the backup's own manifest.  Nothing
        is left to commit; a failed backup leaves unnamed chunks for gc."""
        self.write(key, b''.join(parts))
        return None

    def commit(self, handles):
        pass

    def abort(self, handles):
        pass

    def sync(self):
        pass
