#!/bin/bash
# Shared settings and helpers for tools/stack/{up,down,demo,tempest}.
# Sourced, never run.  Every setting can be overridden from the environment.

STACK_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$STACK_TOOLS_DIR/../.." && pwd)

STATE_DIR=${CINDER_EXT_STACK_DIR:-/var/lib/cinder-ext-stack}
PYTHON=${CINDER_EXT_STACK_PYTHON:-python3}
PASSWORD=${CINDER_EXT_STACK_PASSWORD:-cinder-ext-secret}
HOST_IP=127.0.0.1

# Ports: the infrastructure services use non-default ports so that a
# distribution-managed MariaDB/RabbitMQ/etcd on the same machine does not
# clash with ours.
MYSQL_PORT=${CINDER_EXT_MYSQL_PORT:-13306}
RABBIT_PORT=${CINDER_EXT_RABBIT_PORT:-15682}
RABBIT_DIST_PORT=${CINDER_EXT_RABBIT_DIST_PORT:-15683}
EPMD_PORT=${CINDER_EXT_EPMD_PORT:-14369}
ETCD_PORT=${CINDER_EXT_ETCD_PORT:-12379}
ETCD_PEER_PORT=${CINDER_EXT_ETCD_PEER_PORT:-12380}
KEYSTONE_PORT=${CINDER_EXT_KEYSTONE_PORT:-5000}
GLANCE_PORT=${CINDER_EXT_GLANCE_PORT:-9292}
CINDER_PORT=${CINDER_EXT_CINDER_PORT:-8776}

BACKEND_NAME=cinder-ext
VOLUME_TYPE=cinder-ext
CLUSTER_NAME=cinder-ext-cluster
VOLUME_HOSTS=${CINDER_EXT_STACK_VOLUME_HOSTS:-cinder-ext-1 cinder-ext-2}
# The LVM backend (tools/stack/lvm): one cinder-volume in a test guest.
# CINDER_EXT_STACK_LVM=0 leaves it out.
STACK_LVM=${CINDER_EXT_STACK_LVM:-1}
LVM_BACKEND=lvm
LVM_VOLUME_TYPE=cinder-ext-lvm
LVM_HOST=cinder-ext-lvm
LVM_VG=cinder-ext-lvm
LVM_DISK=${CINDER_EXT_STACK_LVM_DISK:-12G}
# CINDER_EXT_STACK_LVM_MEMBERS=2: two cinder-volume members of one cluster,
# each in a guest of its own, on one disk both guests see, its VG shared
# under lvmlockd + sanlock (thick LVs: a thin pool lives on one host).
LVM_MEMBERS=${CINDER_EXT_STACK_LVM_MEMBERS:-1}
# (thick: a volume takes its size, a COW snapshot its origin's)
LVM_SHARED_DISK=${CINDER_EXT_STACK_LVM_SHARED_DISK:-24G}
LVM_CLUSTER=cinder-ext-lvm-cluster
# how many members tools/stack/lvm booted (it writes the file)
LVM_MEMBERS_FILE=$STATE_DIR/run/lvm-members
lvm_booted_members() {
    if [ -f "$LVM_MEMBERS_FILE" ]; then cat "$LVM_MEMBERS_FILE"
    else echo "$LVM_MEMBERS"; fi
}
lvm_member_host() {  # N: member N's cinder-volume host
    if [ "$1" = 1 ]; then echo "$LVM_HOST"; else echo "$LVM_HOST-$1"; fi
}
# Addresses in the LVM guest's user network: the host's services (qemu's
# guestfwd) and the guest itself.
LVM_FWD_IP=10.0.2.100
LVM_GUEST_IP=10.0.2.15

VENV_DIR=$STATE_DIR/venv
ETC_DIR=$STATE_DIR/etc
LOG_DIR=$STATE_DIR/log
RUN_DIR=$STATE_DIR/run
DATA_DIR=$STATE_DIR/data
SHARE_DIR=$STATE_DIR/share
BACKUP_DIR=$STATE_DIR/backup
TEMPEST_DIR=$STATE_DIR/tempest
OPENRC=$STATE_DIR/openrc
# Files written outside the state dir, one path a line; down removes them.
CREATED_LIST=$STATE_DIR/created-outside

KEYSTONE_URL=http://$HOST_IP:$KEYSTONE_PORT/v3
GLANCE_URL=http://$HOST_IP:$GLANCE_PORT
CINDER_URL=http://$HOST_IP:$CINDER_PORT
DB_URL_BASE=mysql+pymysql://cinderext:$PASSWORD@$HOST_IP:$MYSQL_PORT
RABBIT_URL=rabbit://cinderext:$PASSWORD@$HOST_IP:$RABBIT_PORT/

# rabbitmq-server/rabbitmqctl read these.
rabbit_env() {
    export HOME=$DATA_DIR/rabbitmq
    export RABBITMQ_NODENAME=cinderext@localhost
    export RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
    export ERL_EPMD_PORT=$EPMD_PORT
    export ERL_EPMD_ADDRESS=$HOST_IP
    export RABBITMQ_MNESIA_BASE=$DATA_DIR/rabbitmq/mnesia
    export RABBITMQ_LOG_BASE=$LOG_DIR/rabbitmq
    export RABBITMQ_PID_FILE=$RUN_DIR/rabbitmq-beam.pid
    export RABBITMQ_ENABLED_PLUGINS_FILE=$ETC_DIR/rabbitmq/enabled_plugins
    export RABBITMQ_CONFIG_FILE=$ETC_DIR/rabbitmq/rabbitmq
    export RABBITMQ_CONF_ENV_FILE=$ETC_DIR/rabbitmq/rabbitmq-env.conf
    # exec erl directly: no stdin watcher, and the pid we record is beam's
    export RUNNING_UNDER_SYSTEMD=true
    RABBITMQCTL=/usr/lib/rabbitmq/bin/rabbitmqctl
}

log() {
    echo "[$(date +%H:%M:%S)] $*"
}

die() {
    echo "ERROR: $*" >&2
    exit 1
}

# pid_alive NAME: true if RUN_DIR/NAME.pid names a live process.
pid_alive() {
    local pidfile=$RUN_DIR/$1.pid pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# start_bg NAME CMD...: run CMD in its own session, output in LOG_DIR/NAME.log,
# pid in RUN_DIR/NAME.pid.  Does nothing if it is already running.
start_bg() {
    local name=$1
    shift
    if pid_alive "$name"; then
        log "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"
        return 0
    fi
    log "starting $name"
    setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
}

# start_cinder_service api|scheduler|backup, or volume N: the service with the
# stack's configuration (the N-th cinder-volume of VOLUME_HOSTS adds its
# volume-N.conf: host and cluster).
start_cinder_service() {
    local v=$VENV_DIR/cinder conf=$ETC_DIR/cinder/cinder.conf
    if [ "$1" = volume ]; then
        start_bg "cinder-volume-$2" "$v/bin/cinder-volume" \
            --config-file "$conf" --config-file "$ETC_DIR/cinder/volume-$2.conf"
    else
        start_bg "cinder-$1" "$v/bin/cinder-$1" --config-file "$conf"
    fi
}

# stop_pids TIMEOUT NAME...: SIGTERM each process group named by
# RUN_DIR/NAME.pid together, SIGKILL what is left after TIMEOUT seconds.
stop_pids() {
    local timeout=$1 name pid i alive
    shift
    local pids=()
    for name in "$@"; do
        [ -s "$RUN_DIR/$name.pid" ] || continue
        pid=$(cat "$RUN_DIR/$name.pid")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            log "stopping $name (pid $pid)"
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" \
                2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for ((i = 0; i < timeout * 4; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.25
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid did not stop in ${timeout}s: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" \
                2>/dev/null || true
        fi
    done
    for name in "$@"; do
        rm -f "$RUN_DIR/$name.pid"
    done
}

# wait_port PORT [TIMEOUT] [NAME]: wait for a TCP listener on HOST_IP:PORT.
wait_port() {
    local port=$1 timeout=${2:-60} name=${3:-port $1} i
    for ((i = 0; i < timeout * 2; i++)); do
        if (exec 3<>"/dev/tcp/$HOST_IP/$port") 2>/dev/null; then
            return 0
        fi
        if [ -n "${3:-}" ] && [ -f "$RUN_DIR/$name.pid" ] \
                && ! pid_alive "$name"; then
            die "$name exited; see $LOG_DIR/$name.log"
        fi
        sleep 0.5
    done
    die "$name not listening on $HOST_IP:$port after ${timeout}s; see $LOG_DIR"
}

# wait_http URL [TIMEOUT]: wait until URL answers (any HTTP status).
wait_http() {
    local url=$1 timeout=${2:-60} i
    for ((i = 0; i < timeout * 2; i++)); do
        if "$VENV_DIR/client/bin/python" - "$url" <<'EOF' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError:
    pass
EOF
        then
            return 0
        fi
        sleep 0.5
    done
    die "$url did not answer after ${timeout}s; see $LOG_DIR"
}

# os_cli ARGS...: the openstack client with the admin credentials.
os_cli() {
    # shellcheck disable=SC1090
    (source "$OPENRC" && "$VENV_DIR/client/bin/openstack" "$@")
}

mysql_cli() {
    mariadb --defaults-file="$ETC_DIR/mysql/my.cnf" "$@"
}

wait_volume_services() {
    local deadline out
    deadline=$((SECONDS + ${1:-90}))
    while [ "$SECONDS" -lt "$deadline" ]; do
        out=$(os_cli volume service list -f value \
            -c Binary -c Host -c State 2>/dev/null || true)
        if [ "$(echo "$out" | grep -c 'cinder-volume.* up$' || true)" \
                -ge "$(echo $VOLUME_HOSTS | wc -w)" ] \
                && echo "$out" | grep -q 'cinder-scheduler.* up$'; then
            return 0
        fi
        sleep 2
    done
    echo "$out" >&2
    log "WARNING: not all cinder services report up; see $LOG_DIR/cinder-*.log"
    return 1
}

create_volume_type() {
    if ! os_cli volume type show "$VOLUME_TYPE" >/dev/null 2>&1; then
        log "creating volume type $VOLUME_TYPE"
        os_cli volume type create --public \
            --property "volume_backend_name=$BACKEND_NAME" \
            "$VOLUME_TYPE" >/dev/null
    fi
}
