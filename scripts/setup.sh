# Sourced by the other scripts: idempotent installation of what they need.
# Installs only what is missing, so a second run touches nothing.

ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^[ih]i' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: cargo not found; install Rust from https://rustup.rs first" >&2
        exit 1
    fi
    if command -v rustup >/dev/null 2>&1; then
        local have
        have=$(rustup component list --installed 2>/dev/null || true)
        for c in rustfmt clippy; do
            grep -q "^$c" <<<"$have" || rustup component add "$c"
        done
        have=$(rustup target list --installed 2>/dev/null || true)
        for t in "$@"; do
            grep -qx "$t" <<<"$have" || rustup target add "$t"
        done
    fi
}

# Starts a throw-away PostgreSQL cluster on a free port and exports
# DESKSIDE_TEST_PG_URL, unless that is set already. The cluster lives in a
# temp dir and is stopped and removed by stop_test_postgres. initdb refuses
# to run as root, so as root it runs as the postgres user.
start_test_postgres() {
    if [ -n "${DESKSIDE_TEST_PG_URL:-}" ]; then
        return 0
    fi
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ]; then
        echo "error: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2
        return 1
    fi
    PG_TMP=$(mktemp -d)
    chmod 755 "$PG_TMP"
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$PG_TMP"
        as=(runuser -u postgres --)
    fi
    local port
    port=$(free_port)
    "${as[@]}" "$bin/initdb" -D "$PG_TMP/data" -A trust -U postgres >"$PG_TMP/initdb.log" 2>&1
    "${as[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
        -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    PG_BIN=$bin
    PG_AS=("${as[@]}")
    export DESKSIDE_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "==> throw-away PostgreSQL on port $port"
}

stop_test_postgres() {
    if [ -n "${PG_TMP:-}" ]; then
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TMP"
    fi
}

# Python tools of the test run, pinned, in a venv under the user's cache
# (PyPI is reachable; nothing is installed system-wide): schemathesis for
# the API fuzzing run, moto as an S3-compatible endpoint.
PY_TOOLS_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/deskside/py-tools"
PY_TOOLS=(schemathesis==4.32.5 "moto[s3,server]==5.2.5")
ensure_py_tools() {
    ensure_apt python3 python3-venv
    local stamp="$PY_TOOLS_VENV/.installed"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PY_TOOLS[*]}" ]; then
        return 0
    fi
    echo "==> installing Python tools: ${PY_TOOLS[*]}"
    /usr/bin/python3 -m venv "$PY_TOOLS_VENV"
    "$PY_TOOLS_VENV/bin/pip" install -q --disable-pip-version-check "${PY_TOOLS[@]}"
    echo "${PY_TOOLS[*]}" >"$stamp"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts moto's S3-compatible server on a free port and exports
# DESKSIDE_TEST_S3_ENDPOINT, unless that is set already.
start_test_s3() {
    if [ -n "${DESKSIDE_TEST_S3_ENDPOINT:-}" ]; then
        return 0
    fi
    local port
    port=$(free_port)
    S3_LOG=$(mktemp)
    "$PY_TOOLS_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$S3_LOG" 2>&1 &
    S3_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
        sleep 0.1
    done
    export DESKSIDE_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    echo "==> throw-away S3 endpoint (moto) on port $port"
}

stop_test_s3() {
    if [ -n "${S3_PID:-}" ]; then
        kill "$S3_PID" 2>/dev/null || true
        wait "$S3_PID" 2>/dev/null || true
        rm -f "$S3_LOG"
    fi
}

# npm packages of a front end, from its lock file, only when the lock file
# changed since the last install. (`npm install`, not `npm ci`: npm 11's
# `ci` refuses lock files that leave out other platforms' optional
# packages, which is how npm 11 itself writes them.)
ensure_npm() {
    local dir=$1
    local stamp="$dir/node_modules/.deskside-lock"
    if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
        return 0
    fi
    echo "==> installing npm packages in $dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error
    cp "$dir/package-lock.json" "$stamp"
}

# A command-line tool from crates.io, installed with cargo when missing.
ensure_cargo_tool() {
    local tool=$1 version=$2
    if command -v "$tool" >/dev/null 2>&1; then
        return 0
    fi
    echo "==> installing $tool $version from crates.io"
    cargo install --locked --quiet "$tool" --version "$version"
}

# The technician console (console/): its npm packages, then its build
# (console/dist, which deskside-server embeds), every time: Vite takes a
# few seconds and a stale console must never be embedded.
build_console() {
    ensure_npm console
    echo "==> building the console"
    npm --prefix console run --silent build
}
