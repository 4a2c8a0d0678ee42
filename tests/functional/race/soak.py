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

"""The race test's soak mode: many seeds, SIGKILLs, coordination restarts.

Run through ``tools/soak`` (it starts etcd and redis on the soak's own
ports and mounts the soak's XFS share).  Rounds take turns over the lock
backends until at least ``--ops`` operations have been journaled in all.
Each round has its own seed ``MASTER-i``: the workers' operations, the
copy method, when which worker is SIGKILLed and when the coordination
server restarts all follow from it.  A killed worker's interrupted
operation is journaled from its trail and cleaned up as Cinder would
(``harness.Race.sigkill``); a replacement worker takes over its load.
Every round ends with the full invariant check; a worker that exits
unexpectedly or stalls is a violation too.

    python -m tests.functional.race.soak --url etcd=URL --url redis=URL
        --url file=URL --share DIR [--ops N] [--seed MASTER]
        [--replay SEED@BACKEND] [--json PATH]
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tests import base
from tests.functional.race import harness

WORKERS = 4
OPS = 100             # per worker and round
ROUND_TIMEOUT = 300   # seconds: beyond that the round has stalled


def plan(seed, backend):
    """A round's faults, from its seed alone."""
    rng = random.Random('plan/%s' % seed)
    # Half the kills wait for the victim to be inside a storage call.
    kills = sorted((rng.uniform(0.5, 8.0), rng.random() < 0.5)
                   for _i in range(rng.choice([0, 1, 1, 2, 2, 3])))
    restart = (rng.uniform(0.5, 8.0) if backend != 'file'
               and rng.random() < 0.6 else None)
    return {'copy': rng.choice(['auto', 'auto', 'copy']), 'kills': kills,
            'restart': restart, 'victims': rng.random}


def inside_call(race, wid, within=2.0):
    """Wait until worker ``wid`` is inside a storage call (its trail ends
    with one entered); True if caught in time."""
    path = race.trail(wid)
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            with open(path, 'rb') as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - 2048))
                tail = f.read().rstrip(b'\n').rsplit(b'\n', 1)[-1]
        except FileNotFoundError:
            tail = b''
        if b'"k": "enter"' in tail:
            return True
        time.sleep(0.001)
    return False


def restart_server(backend):
    subprocess.run([os.path.join(harness.REPO, 'tools', 'coordination'),
                    'restart', backend], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_round(seed, backend, url, share):
    """One seed on one backend; the round's figures and violations."""
    p = plan(seed, backend)
    tmp = tempfile.mkdtemp(prefix='cinder-ext-soak-')
    base.empty_dir(share)
    race = harness.Race(tmp, url, share, seed, p['copy'])
    started = time.time()
    figures = {'seed': seed, 'backend': backend, 'copy': p['copy'],
               'kills': 0, 'inside': 0, 'restarts': 0, 'violations': []}
    try:
        runners = race.start(WORKERS, OPS)
        faults = [(t, 'kill-inside' if inside else 'kill')
                  for t, inside in p['kills']]
        if p['restart'] is not None:
            faults.append((p['restart'], 'restart'))
        faults.sort()
        deadline = started + ROUND_TIMEOUT
        while race.running():
            now = time.time() - started
            if faults and now >= faults[0][0]:
                _t, what = faults.pop(0)
                if what == 'restart':
                    restart_server(backend)
                    figures['restarts'] += 1
                else:
                    alive = race.running(runners)
                    if alive:
                        victim = alive[int(p['victims']() * len(alive))]
                        if what == 'kill-inside':
                            figures['inside'] += inside_call(race, victim)
                        race.sigkill(victim)
                        figures['kills'] += 1
                        runners += race.start(1, OPS // 2)
            if time.time() > deadline:
                figures['violations'].append(
                    'stalled: %d processes still running after %ds' % (
                        len(race.running()), ROUND_TIMEOUT))
                race.kill_all()
                break
            time.sleep(0.05)
        for wid, proc in sorted(race.procs.items()):
            killed = wid in {k for k, _t in race.kills}
            if proc.returncode not in (0, None) and not killed:
                figures['violations'].append('worker %d exited %d: %s' % (
                    wid, proc.returncode, race.output(wid, 'err')[-1500:]))
        # The check's sweep must find every dead holder's lock expired.
        last = max([t for _w, t in race.kills] or [0])
        time.sleep(max(0.0, last + harness.lock_timeout(url) + 2
                       - time.time()))
        result = race.check()
        figures['violations'] += result['violations']
        for key in ('ops', 'ok', 'failed', 'killed_ops', 'inflight',
                    'explained', 'branch'):
            figures[key] = result[key]
    except Exception as exc:  # a harness failure is a failed round
        figures['violations'].append('round failed: %r' % exc)
        race.kill_all()
        figures.setdefault('ops', len(_journal_lines(race.journal)))
    finally:
        race.kill_all()  # none left after a normal round; all on SIGTERM
        figures['seconds'] = round(time.time() - started, 1)
        if figures['violations']:
            kept = tmp + '.kept'
            shutil.move(tmp, kept)
            figures['kept'] = kept  # journal, trails and worker logs
        else:
            shutil.rmtree(tmp, True)
    return figures


def _journal_lines(path):
    try:
        with open(path) as f:
            return f.readlines()
    except FileNotFoundError:
        return []


def summary(rounds, seconds, master):
    total = {'master_seed': master, 'rounds': len(rounds),
             'seconds': round(seconds, 1), 'by_backend': {}}
    for key in ('ops', 'ok', 'failed', 'kills', 'inside', 'killed_ops',
                'restarts', 'inflight'):
        total[key] = sum(r.get(key, 0) for r in rounds)
    total['violations'] = sum(len(r['violations']) for r in rounds)
    total['explained'] = sum(len(r.get('explained', ())) for r in rounds)
    for r in rounds:
        b = total['by_backend'].setdefault(r['backend'], {
            'rounds': 0, 'ops': 0, 'kills': 0, 'restarts': 0,
            'violations': 0, 'seconds': 0})
        b['rounds'] += 1
        b['ops'] += r.get('ops', 0)
        b['kills'] += r['kills']
        b['restarts'] += r['restarts']
        b['violations'] += len(r['violations'])
        b['seconds'] = round(b['seconds'] + r['seconds'], 1)
    total['failed_rounds'] = ['%s@%s' % (r['seed'], r['backend'])
                              for r in rounds if r['violations']]
    return total


def _stop(signum, _frame):
    raise SystemExit('soak: stopped by signal %d' % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='soak')
    parser.add_argument('--url', action='append', required=True,
                        help='BACKEND=URL, one per lock backend')
    parser.add_argument('--share', required=True)
    parser.add_argument('--ops', type=int, default=12000,
                        help='journaled operations in all (at least)')
    parser.add_argument('--seed', default=None,
                        help='master seed (default: new, printed)')
    parser.add_argument('--replay', help='SEED@BACKEND: one round again')
    parser.add_argument('--json', help='write rounds and summary here')
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    urls = dict(u.split('=', 1) for u in args.url)
    backends = sorted(urls)
    master = args.seed or harness.new_seed()
    if args.replay:
        print('soak: replaying round %s' % args.replay, flush=True)
    else:
        print('soak: master seed %s; backends %s; at least %d operations'
              % (master, ', '.join(backends), args.ops), flush=True)
    started = time.time()
    rounds = []
    if args.replay:
        seed, backend = args.replay.rsplit('@', 1)
        work = iter([(seed, backend)])
    else:
        work = (('%s-%d' % (master, i), backends[i % len(backends)])
                for i in range(10 ** 6))
    for seed, backend in work:
        figures = run_round(seed, backend, urls[backend], args.share)
        rounds.append(figures)
        print('soak: round %d %s@%s: %d ops (%d ok), %d kills, %d restarts,'
              ' %d violations, %.0fs%s' % (
                  len(rounds), seed, backend, figures.get('ops', 0),
                  figures.get('ok', 0), figures['kills'],
                  figures['restarts'], len(figures['violations']),
                  figures['seconds'],
                  '' if not figures['violations'] else
                  ': %s (kept %s)' % (figures['violations'][:3],
                                      figures.get('kept'))), flush=True)
        if sum(r.get('ops', 0) for r in rounds) >= args.ops and (
                len(rounds) >= len(backends)):
            break
    total = summary(rounds, time.time() - started, master)
    print('soak summary: ' + json.dumps(total, indent=1, sort_keys=True))
    if total['failed_rounds']:
        print('replay a round: tools/soak --replay SEED@BACKEND, e.g. '
              'tools/soak --replay %s' % total['failed_rounds'][0])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'summary': total, 'rounds': rounds}, f, indent=1,
                      sort_keys=True)
    return 1 if total['violations'] else 0


if __name__ == '__main__':
    sys.exit(main())
