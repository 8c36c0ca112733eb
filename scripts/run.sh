#!/usr/bin/env bash
# The main job: a desk server on its embedded SQLite default, an agent on
# this machine enrolled to it, and a ticket travelling from the agent to the
# desk, where a technician answers and the agent brings the answer back.
# The desk keeps running until Ctrl-C, so you can go on by hand.
#
# DESKSIDE_RUN_DIR (default: a new temp dir) holds the desk's data and the
# agent's state; DESKSIDE_RUN_PORT (default 8080) is the desk's port;
# DESKSIDE_RUN_KEEP=0 stops the desk at the end instead of keeping it up.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

ensure_apt dpkg hwdata curl
ensure_rust
# The console is embedded in the desk's binary: built first.
build_console
cargo build --locked --release -p deskside-server -p deskside-agent
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
server="$target/release/deskside-server"
agent="$target/release/deskside-agent"

run_dir=${DESKSIDE_RUN_DIR:-$(mktemp -d -t deskside-run.XXXXXX)}
port=${DESKSIDE_RUN_PORT:-8080}
desk="http://127.0.0.1:$port"
export DESKSIDE_DATA_DIR="$run_dir/desk"
# The agent's own state directory, and its token in a 0600 file there (a
# desktop session would use the OS keyring).
export DESKSIDE_STATE_DIR="$run_dir/agent" DESKSIDE_CREDENTIAL_STORE=file
mkdir -p "$DESKSIDE_DATA_DIR" "$DESKSIDE_STATE_DIR"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Desk: administrator, API token and enroll secret (data in $DESKSIDE_DATA_DIR)"
# The console's login: DESKSIDE_RUN_PASSWORD, or a new random password
# kept (0600) in the run directory so that a second run prints it again.
password_file="$run_dir/admin-password"
if [ -n "${DESKSIDE_RUN_PASSWORD:-}" ]; then
    password=$DESKSIDE_RUN_PASSWORD
elif [ -s "$password_file" ]; then
    password=$(cat "$password_file")
else
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
fi
(umask 077 && printf '%s\n' "$password" >"$password_file")
printf '%s\n' "$password" | "$server" user create --email admin@example.com --role admin --password-stdin 2>/dev/null \
    || echo "admin@example.com exists already"
token=$("$server" token create --email admin@example.com 2>/dev/null)
secret=$("$server" enroll-secret create --label "run.sh" --expires-in 1d 2>/dev/null)

say "Desk: serving on $desk"
"$server" serve --listen "127.0.0.1:$port" >"$run_dir/desk.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$desk/healthz" 2>/dev/null && break
    kill -0 $server_pid 2>/dev/null || { cat "$run_dir/desk.log"; exit 1; }
    sleep 0.1
done

say "Agent: health checks of this machine"
# --notify keeps the results in the state directory, where status and the
# diagnostics bundle find them.
"$agent" check --notify || [ $? -le 3 ]

say "Agent: enroll with the desk"
"$agent" enroll --server "$desk" --secret "$secret"

say "Agent: report a problem (queued first, then delivered with diagnostics)"
local_id=$("$agent" ticket new --subject "Wi-Fi drops every few minutes" \
    --description "Since this morning, in meeting room 3." --category network --urgency high)
"$agent" ticket list

say "Desk: the technician's queue"
queue=$(curl -fsS -H "Authorization: Bearer $token" "$desk/api/v1/tickets")
number=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tickets"][0]["id"])' "$queue")
detail=$(curl -fsS -H "Authorization: Bearer $token" "$desk/api/v1/tickets/$number")
python3 - "$queue" "$detail" <<'PY'
import json, sys
for t in json.loads(sys.argv[1])["tickets"]:
    print("#{} [{}, priority {}] {}".format(t["id"], t["status"], t["priority"], t["subject"]))
t = json.loads(sys.argv[2])["ticket"]
for a in t["attachments"]:
    kind = "diagnostics bundle" if a["diagnostics"] else "attachment"
    print("  #{} carries {} {} ({} bytes)".format(t["id"], kind, a["name"], a["size_bytes"]))
PY

say "Desk: a technician answers ticket #$number"
curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"body": "We are replacing the access point in room 3 today. Does it still happen elsewhere?"}' \
    "$desk/api/v1/tickets/$number/comments"
curl -fsS -o /dev/null -X PATCH -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"status": "pending"}' "$desk/api/v1/tickets/$number"

say "Agent: sync brings the answer back"
"$agent" sync
"$agent" ticket show "$local_id"
"$agent" status

agent_pid=
if [ "${DESKSIDE_RUN_KEEP:-1}" != 0 ]; then
    # The agent as its service runs it: a check-in every minute with a
    # metric sample and the health checks' results, so that the console's
    # device page shows this machine's health and charts filling up.
    "$agent" run >"$run_dir/agent.log" 2>&1 &
    agent_pid=$!
    trap 'kill $server_pid $agent_pid 2>/dev/null || true' EXIT
fi

cat <<EOF

Technician console: $desk/ (Devices shows this machine: $desk/devices)
  log in as admin@example.com with the password: $password
  (kept in $password_file; DESKSIDE_RUN_PASSWORD sets another on a new run dir)

The desk keeps running at $desk, and the agent with it (Ctrl-C stops both;
its log: $run_dir/agent.log). Try:
  export DESKSIDE_STATE_DIR=$DESKSIDE_STATE_DIR DESKSIDE_CREDENTIAL_STORE=file
  $agent ticket new --subject "Printer jams" --attach photo.jpg
  $agent ticket reply $local_id --message "Only in room 3."
  $agent sync
  curl -H "Authorization: Bearer $token" $desk/api/v1/tickets
  curl -H "Authorization: Bearer $token" "$desk/api/v1/devices?software=firefox"
API document: $desk/api/v1/openapi.json
EOF
if [ "${DESKSIDE_RUN_KEEP:-1}" != 0 ]; then
    wait $server_pid
fi
