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

"""Constants, test pattern and lock plumbing of the lock benchmark.

``use_locks`` points cinder's coordinator at a tooz URL (or no-op locks
that count the names taken); ``watch_locks`` times every acquisition;
``coordination_urls`` starts etcd and redis through tools/coordination on
the bench's own ports.
"""

import os
import subprocess
import sys
import time

import bench_nfs as bn
from bench_nfs import GiB  # noqa: F401 (used through common)
from bench_nfs import log
from bench_nfs import MiB

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FS = 'xfs-reflink'
SIZE_GB = 1
SEED = bn.SEED
SOURCES = 2  # shared sources of the mixed workload
BACKENDS = ('file', 'etcd', 'redis')
WORKERS = (1, 2, 4)
OPS = ('create', 'extend', 'snapshot', 'clone', 'delete')
# Rounds of the mixed workload, split between the workers (9 operations
# a round): (ours, anchor), full and --quick.
ROUNDS = {False: (256, 12), True: (32, 4)}
COORD_ENV = {
    'CINDER_EXT_COORD_DIR': '/tmp/cinder-ext-bench-coordination',
    'CINDER_EXT_COORD_ETCD_PORT': '23795',
    'CINDER_EXT_COORD_ETCD_PEER_PORT': '23805',
    'CINDER_EXT_COORD_REDIS_PORT': '26385',
}
LOCKS = []  # names handed out by the counting no-op get_lock
# Cinder reschedules a failed volume creation (scheduler_max_attempts=3).
RESCHEDULED = ('create', 'clone', 'volume_from_snapshot')
ATTEMPTS = 3


def pattern():
    """8 random MiB at random 1 MiB slots of 1 GiB (fixed seed)."""
    return bn.Pattern(SEED, SIZE_GB * GiB, 8, MiB)


EMPTY = bn.Pattern(SEED, SIZE_GB * GiB, 0, MiB)


# -- locks --------------------------------------------------------------------

def coordination_urls(env, backends):
    """tooz URL of each backend; etcd and redis are started through
    tools/coordination unless they run, and stopped at the end if this
    run started them."""
    for key, value in COORD_ENV.items():
        os.environ.setdefault(key, value)
    tool = os.path.join(TOP, 'tools', 'coordination')
    coord_dir = os.environ['CINDER_EXT_COORD_DIR']
    urls = {}
    for name in backends:
        if name != 'file' and not server_runs(coord_dir, name):
            log('starting %s (tools/coordination start %s)' % (name, name))
            subprocess.run([tool, 'start', name], check=True,
                           stdout=subprocess.DEVNULL)
            env.add_undo('stop ' + name,
                         lambda name=name: bn.run(tool, 'stop', name))
        urls[name] = subprocess.run(
            [tool, 'url', name], check=True, capture_output=True,
            text=True).stdout.strip()
    return urls


def server_runs(coord_dir, name):
    try:
        with open(os.path.join(coord_dir, name + '.pid')) as f:
            os.kill(int(f.read()), 0)
        return True
    except (OSError, ValueError):
        return False


def watch_locks(stats):
    """Count the locks cinder's coordinator hands out from now on, the
    time spent acquiring them and the acquisitions that took over 50 ms
    (a contended tooz lock retries after 0.1 s on redis, 1 s on etcd)."""
    from cinder import coordination
    coord = coordination.COORDINATOR
    real = coord.get_lock

    def get_lock(name):
        lock = real(name)
        acquire = lock.acquire

        def timed_acquire(*args, **kwargs):
            start = time.monotonic()
            try:
                return acquire(*args, **kwargs)
            finally:
                waited = time.monotonic() - start
                stats['locks'] += 1
                stats['lock_wait_s'] += waited
                stats['slow_acquires'] += waited > 0.05
        lock.acquire = timed_acquire
        return lock
    coord.get_lock = get_lock


def use_locks(url):
    """Point cinder's coordinator at ``url``; None: no-op locks, whose
    names are appended to LOCKS (so an operation's locks can be
    counted)."""
    from cinder import coordination
    from oslo_config import cfg
    coord = coordination.COORDINATOR
    coord.__dict__.pop('get_lock', None)
    if url is None:
        sys.path.insert(1, TOP)
        from tests.functional.race.probe import NoLock

        def get_lock(name):
            LOCKS.append(name)
            return NoLock(name)
        coord.get_lock = get_lock
        return
    if coord.started and cfg.CONF.coordination.backend_url == url:
        return
    coord.stop()
    cfg.CONF.set_override('backend_url', url, group='coordination')
    coord.start()
