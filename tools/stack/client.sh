# Sourced by the scripts that drive the stack through the openstack CLI
# (demo, disaster): the client, and waiting on volumes, snapshots and
# backups.  Needs common.sh and the openrc sourced first.
OS="$VENV_DIR/client/bin/openstack"
PY="$VENV_DIR/client/bin/python"
# new_volume records what it made here (the caller's cleanup deletes it).
CREATED_VOLUMES=()

step() {
    echo
    echo "=== $*"
}

run() {
    echo "\$ openstack $*" >&2
    "$OS" "$@"
}

# wait_status volume|snapshot ID STATUS [TIMEOUT]
wait_status() {
    local kind=$1 id=$2 want=$3 timeout=${4:-120} deadline st
    local cmd=(volume show)
    [ "$kind" = snapshot ] && cmd=(volume snapshot show)
    [ "$kind" = backup ] && cmd=(volume backup show)
    deadline=$((SECONDS + timeout))
    while :; do
        st=$("$OS" "${cmd[@]}" "$id" -f value -c status)
        [ "$st" = "$want" ] && return 0
        case $st in
            error*) die "$kind $id went to $st" ;;
        esac
        [ "$SECONDS" -lt "$deadline" ] || die "$kind $id is $st, not $want"
        sleep 1
    done
}

wait_gone() {
    local kind=$1 id=$2 i
    local cmd=(volume show)
    [ "$kind" = snapshot ] && cmd=(volume snapshot show)
    [ "$kind" = backup ] && cmd=(volume backup show)
    for ((i = 0; i < 60; i++)); do
        "$OS" "${cmd[@]}" "$id" >/dev/null 2>&1 || return 0
        sleep 1
    done
}

# new_volume NAME ARGS...: create, wait until available; the id in NEW_ID.
new_volume() {
    local name=$1
    shift
    NEW_ID=$(run volume create -f value -c id "$@" "$name")
    CREATED_VOLUMES+=("$NEW_ID")
    wait_status volume "$NEW_ID" available
}

