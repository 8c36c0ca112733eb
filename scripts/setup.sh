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
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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
