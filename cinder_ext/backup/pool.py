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

"""An ordered map over a thread pool with a bounded number of items in
flight, so memory stays at ``max_inflight`` chunk buffers whatever the
volume size.  zstd, zlib, hashlib and file I/O release the GIL."""

import collections
from concurrent import futures
import os


def default_workers():
    # Threads wait on disk reads as much as they compute: more of them
    # than CPUs keeps several reads in flight (virtio and NFS like it).
    return max(4, min(8, 2 * (os.cpu_count() or 1)))


def ordered_map(fn, items, workers=None, max_inflight=None):
    """Yield fn(item) for each item, in order.  The first exception
    stops the run; queued work is cancelled."""
    workers = workers or default_workers()
    max_inflight = max_inflight or workers + 2
    pending = collections.deque()
    with futures.ThreadPoolExecutor(workers) as executor:
        try:
            for item in items:
                pending.append(executor.submit(fn, item))
                while len(pending) >= max_inflight:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
