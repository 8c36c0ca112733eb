#!/usr/bin/env bash
# Retakes docs/screenshots/console-*.png: the queue, a ticket and its
# diagnostics, the devices and a device in en/ko/ja, against a real desk
# with tickets and metrics from the agent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_apt chromium fonts-noto-cjk
ensure_rust
build_console
cargo build --locked -q -p deskside-server -p deskside-agent
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cd console && DESKSIDE_BIN_DIR="$target/debug" npx playwright test --config playwright.screens.config.ts
