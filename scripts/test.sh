#!/usr/bin/env bash
# Every check CI runs: formatting, lints, all tests (including the
# published-schema freshness check), and the Windows and macOS type-checks.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

CROSS_TARGETS=(x86_64-pc-windows-gnu aarch64-apple-darwin)
# dpkg-query for the package-parity tests; check_disk and check_load for
# the agreement tests of the health checks; mingw for the Windows check of
# the agent's C dependencies; dbus-daemon for the notification tests;
# PostgreSQL for the server's second storage backend; curl for the API
# fuzzing run; gnome-keyring for the Secret Service test; WebKitGTK,
# the app indicator, librsvg and libxdo for the tray app (Tauri), and
# its end-to-end test's WebKitWebDriver, Xvfb and tauri-driver;
# schemathesis and moto (S3) from PyPI, in a venv; Vitest from npm;
# fusioninventory-agent and hwdata (pci.ids) for the GLPI parity test;
# util-linux's `script` for the terminal test of `metrics --watch`.
ensure_apt dpkg monitoring-plugins-basic fusioninventory-agent hwdata util-linux gcc-mingw-w64-x86-64 dbus-daemon gnome-keyring postgresql curl \
    libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev \
    webkit2gtk-driver xvfb xauth fonts-noto-cjk chromium
ensure_rust "${CROSS_TARGETS[@]}"
ensure_cargo_tool tauri-driver 2.1.0
ensure_py_tools
ensure_npm ui
# The console first: the desk embeds console/dist.
build_console

echo "==> cargo fmt --check"
cargo fmt --all --check
echo "==> cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "==> console: svelte-check"
npm --prefix console run --silent check
echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log" "${ui_log:-}" "${console_log:-}" "${e2e_log:-}"; stop_test_postgres; stop_test_s3' EXIT
start_test_postgres
start_test_s3
cargo test --locked --workspace --no-fail-fast 2>&1 | tee "$log"
echo "==> front-end unit tests (Vitest)"
ui_log=$(mktemp)
npm --prefix ui test 2>&1 | tee "$ui_log"
echo "==> console unit tests (Vitest)"
console_log=$(mktemp)
npm --prefix console test 2>&1 | tee "$console_log"
echo "==> console browser tests (Playwright, Debian's Chromium)"
cargo build --locked -q -p deskside-server -p deskside-agent
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
e2e_log=$(mktemp)
(cd console && DESKSIDE_BIN_DIR="$target/debug" npx playwright test) 2>&1 | tee "$e2e_log"
echo "==> API fuzzing (schemathesis)"
scripts/api-fuzz.sh
# Per-OS code lives in deskside-host (pure Rust), which type-checks for
# Windows and macOS here. deskside-agent links C (ring for TLS), which
# mingw can build for Windows; nothing here can build C for macOS.
# RUSTFLAGS applies to the target's artifacts only, so the host build
# cache is untouched.
for t in "${CROSS_TARGETS[@]}"; do
    echo "==> cargo check -p deskside-host --target $t"
    RUSTFLAGS="-D warnings" cargo check --locked -p deskside-host --all-targets --target "$t"
done
echo "==> cargo check -p deskside-agent --target x86_64-pc-windows-gnu"
RUSTFLAGS="-D warnings" cargo check --locked -p deskside-agent --all-targets --target x86_64-pc-windows-gnu
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
ui_passed=$(sed 's/\x1b\[[0-9;]*m//g' "$ui_log" | grep -Eo 'Tests +[0-9]+ passed' | grep -Eo '[0-9]+' | head -1 || true)
console_passed=$(sed 's/\x1b\[[0-9;]*m//g' "$console_log" | grep -Eo 'Tests +[0-9]+ passed' | grep -Eo '[0-9]+' | head -1 || true)
e2e_passed=$(sed 's/\x1b\[[0-9;]*m//g' "$e2e_log" | grep -Eo '^ *[0-9]+ passed' | grep -Eo '[0-9]+' | tail -1 || true)
passed=$((passed + ${ui_passed:-0} + ${console_passed:-0} + ${e2e_passed:-0}))
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo "==> all checks passed"
echo "tests: $passed passed, $failed failed"
