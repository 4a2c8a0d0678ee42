#!/bin/sh
# Opt-in lock managers for shared VGs in the test guest (stage2.sh does not
# run this; tests call it through guest.run):
#
#   sh lvmlockd.sh start HOST_ID [IO_TIMEOUT]   sanlock + lvmlockd, lvm.conf
#   sh lvmlockd.sh stop                         lock-stop, stop both
#
# HOST_ID (1-2000) must differ between the guests sharing a disk: it picks
# the sanlock delta lease each host renews.  IO_TIMEOUT (lvmlockd -o,
# default 10 s) scales every sanlock timing: renewal every 2x, a silent
# host is dead after 8x + 60 s (the watchdog fire time others assume).
#
# sanlock runs with -w 0 (no wdmd, no watchdog), as Debian's
# /etc/default/sanlock does: the guests here die by qemu being killed, so
# nothing needs the watchdog to reset them, and a softdog under TCG (a
# guest stalls for seconds when the host is busy) could reset a healthy
# guest mid-test.  Production hosts keep the watchdog (see
# doc/lvm-shared.rst).  Runs as root (-U/-G) because the guest's devices
# are root's, with no udev to give group disk the dm nodes.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
set -e

start() {
    host_id=$1
    io_timeout=${2:-10}
    case "$host_id" in
        ''|*[!0-9]*) echo "lvmlockd.sh: bad host id '$host_id'" >&2; exit 2 ;;
    esac
    cat > /etc/lvm/lvmlocal.conf <<EOT
local {
    host_id = $host_id
}
EOT
    # stage2.sh wrote lvm.conf with one global section: add to it.
    if ! grep -q use_lvmlockd /etc/lvm/lvm.conf; then
        sed -i 's/^global {$/global {\n    use_lvmlockd = 1/' /etc/lvm/lvm.conf
    fi
    mkdir -p /run/sanlock /run/lvm /var/log
    pgrep -x sanlock >/dev/null || sanlock daemon -w 0 -U root -G root
    # lvmlockd needs sanlock's socket before it can answer.
    for _ in $(seq 100); do
        [ -S /run/sanlock/sanlock.sock ] && break
        sleep 0.1
    done
    pgrep -x lvmlockd >/dev/null ||
        lvmlockd -g sanlock -o "$io_timeout" -S debug
    for _ in $(seq 100); do
        lvmlockctl --info >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "lvmlockd.sh: lvmlockd did not answer" >&2
    exit 1
}

stop() {
    # --lock-stop releases our leases at once (others need not wait for
    # them to expire); it refuses while a shared VG has active LVs, and so
    # does this: killing the daemons under active LVs orphans their locks.
    if pgrep -x lvmlockd >/dev/null && ! vgchange --lock-stop >/dev/null; then
        echo "lvmlockd.sh: deactivate the shared VGs' LVs first" >&2
        exit 1
    fi
    for daemon in lvmlockd sanlock; do
        pid=$(pgrep -x $daemon || true)
        if [ -n "$pid" ]; then kill $pid; fi
    done
    for _ in $(seq 100); do
        pgrep -x sanlock >/dev/null || pgrep -x lvmlockd >/dev/null || return 0
        sleep 0.1
    done
    echo "lvmlockd.sh: sanlock or lvmlockd did not stop" >&2
    exit 1
}

case "$1" in
    start) shift; start "$@" ;;
    stop) stop ;;
    *) echo "usage: $0 start HOST_ID [IO_TIMEOUT] | stop" >&2; exit 2 ;;
esac
