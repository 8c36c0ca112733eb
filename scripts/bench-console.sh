#!/usr/bin/env bash
# The console's performance targets, measured in Debian's Chromium against
# a release build of the desk with 10,000 tickets (console/bench/).
# Results belong in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_apt chromium
ensure_rust
build_console
cargo build --locked --release -p deskside-server
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
node console/bench/console-bench.mjs "$target/release/deskside-server"
