# Shared by tools/run-tests, the benchmarks and the local stack: install
# Debian packages and the project's virtualenv, each only when missing.

apt_install() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
            | grep -q "ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        # services (iscsid, nfs...) must not start on the host: the tests
        # start what they need themselves
        local guard=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            guard=1
        fi
        apt-get install -y -q "${missing[@]}" >/dev/null
        if [ -n "$guard" ]; then
            rm -f /usr/sbin/policy-rc.d
        fi
    fi
}

make_venv() {
    local venv=$1 top
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q -U pip
    fi
    local stamp="$venv/.cinder-ext-installed"
    local want
    want=$(cat "$top"/requirements.txt "$top"/test-requirements.txt \
        "$top"/upper-constraints.txt "$top"/setup.cfg | sha256sum)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        "$venv/bin/pip" install -q -c "$top/upper-constraints.txt" \
            -r "$top/requirements.txt" -r "$top/test-requirements.txt" \
            -e "$top"
        echo "$want" > "$stamp"
    fi
}
