#!/usr/bin/env bash
# Fuzzes the desk API with schemathesis against the document the server
# serves (/api/v1/openapi.json): no 5xx, no undocumented status or content
# type, no response outside its schema. Runs on SQLite, and on PostgreSQL
# when DESKSIDE_TEST_PG_URL is set. Device endpoints run with a device
# token, the rest with an administrator's API token.
#
# DESKSIDE_FUZZ_EXAMPLES (default 20) bounds the examples per operation;
# DESKSIDE_FUZZ_SEED (default 1) makes a run repeatable.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_py_tools
ensure_apt curl

cargo build --locked -q -p deskside-server
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
server="$target/debug/deskside-server"
examples=${DESKSIDE_FUZZ_EXAMPLES:-20}
seed=${DESKSIDE_FUZZ_SEED:-1}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# fuzz LABEL [DATABASE_URL]
fuzz() {
    local label=$1 db=${2:-} dir="$work/$1"
    mkdir -p "$dir"
    export DESKSIDE_DATA_DIR="$dir" DESKSIDE_LOG=warn
    # One node here: its data directory is all the blob storage there is.
    if [ -n "$db" ]; then
        export DESKSIDE_DATABASE_URL="$db" DESKSIDE_SHARED_BLOB_DIR=true
    else
        unset DESKSIDE_DATABASE_URL DESKSIDE_SHARED_BLOB_DIR
    fi
    "$server" user create --email admin@example.com --role admin >/dev/null
    local token secret port base device
    token=$("$server" token create --email admin@example.com)
    secret=$("$server" enroll-secret create --label fuzz)
    port=$(free_port)
    base="http://127.0.0.1:$port"
    "$server" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
        sleep 0.1
    done
    device=$(curl -fsS -H 'content-type: application/json' \
        -d "{\"enroll_secret\":\"$secret\",\"device\":{\"device_key\":\"fuzz\",\"hostname\":\"fuzz\"}}" \
        "$base/api/v1/enroll" | python3 -c 'import json,sys; print(json.load(sys.stdin)["device_token"])')
    # A ticket with an attachment, so that the id-taking operations reach
    # their logic and not only 404.
    printf '\x89PNG\r\n\x1a\n' >"$dir/seed.png"
    curl -fsS -o /dev/null -H "Authorization: Bearer $device" -H 'Idempotency-Key: fuzz-seed' \
        -F 'ticket={"subject":"Seed ticket","description":"for the fuzzer"};type=application/json' \
        -F "attachment=@$dir/seed.png;type=image/png" "$base/api/v1/agent/tickets"
    local who
    # What revokes the fuzzer's own credentials (logout with its token,
    # token and device revocation, deactivation) runs last, on its own, so
    # that the other operations are fuzzed with credentials that work.
    local revoking='^/api/v1/(auth/logout|tokens/|users/[^/]+/deactivate|devices/[^/]+/revoke)'
    for who in devices technicians revocation; do
        # The event stream never ends by design: tested by the server's
        # own tests, not fuzzed.
        local auth=$token filter=(--exclude-path-regex "^/api/v1/agent/|^/api/v1/events$|$revoking")
        if [ "$who" = devices ]; then
            auth=$device
            filter=(--include-path-regex '^/api/v1/agent/')
        elif [ "$who" = revocation ]; then
            filter=(--include-path-regex "$revoking")
        fi
        echo "==> schemathesis: $label, $who endpoints"
        "$PY_TOOLS_VENV/bin/schemathesis" run "$base/api/v1/openapi.json" \
            --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
            --max-examples "$examples" --seed "$seed" --no-color --warnings off \
            -H "Authorization: Bearer $auth" "${filter[@]}" >"$dir/$who.log" 2>&1 || {
            cat "$dir/$who.log"
            echo "error: schemathesis found failures ($label, $who); server log: " >&2
            tail -n 50 "$dir/server.log" >&2
            exit 1
        }
        grep -E 'generated.*passed' "$dir/$who.log" | sed 's/^ */    /'
    done
}

fuzz sqlite
if [ -n "${DESKSIDE_TEST_PG_URL:-}" ]; then
    psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1)
    db="deskside_fuzz_$$"
    "$psql" -q "$DESKSIDE_TEST_PG_URL" -c "CREATE DATABASE $db"
    fuzz postgres "${DESKSIDE_TEST_PG_URL%/*}/$db"
fi
echo "==> API fuzzing passed"
