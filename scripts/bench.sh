#!/usr/bin/env bash
# Benchmarks in release mode, with the peers they are compared against.
# Results belong in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

ensure_apt dpkg fusioninventory-agent
ensure_rust
cargo bench --locked -p deskside-agent --bench inventory
cargo bench --locked -p deskside-agent --bench checks
cargo bench --locked -p deskside-e2e --bench agent
scripts/bench-tray.sh
scripts/bench-console.sh
