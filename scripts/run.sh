#!/usr/bin/env bash
# The main job, for now: build the agent and show this machine's inventory,
# metrics and health checks. Extra arguments go to `deskside-agent inventory`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

ensure_apt dpkg hwdata
ensure_rust
cargo build --locked --release -p deskside-agent
agent=target/release/deskside-agent
[ -n "${CARGO_TARGET_DIR:-}" ] && agent="$CARGO_TARGET_DIR/release/deskside-agent"
"$agent" inventory "$@"
echo
"$agent" metrics
echo
# `check` exits 0-3 with the health state, like a monitoring plugin.
"$agent" check || [ $? -le 3 ]
