#!/usr/bin/env bash
# The tray app's Linux packages, built by Tauri's bundler from
# src-tauri/tauri.conf.json, then checked: the .deb must hold the tray
# program and the windows program it starts (`deskside`,
# `deskside-windows`), its desktop entry and its icons, and depend on WebKitGTK and the app
# indicator library. MSI and DMG are configured too, for builds on Windows
# and macOS.
#
#   scripts/package.sh                          # the .deb
#   DESKSIDE_BUNDLES=deb,appimage scripts/package.sh
#
# The AppImage needs linuxdeploy, which Tauri's bundler downloads from its
# project's release page on first use; where that cannot be reached, only
# the .deb can be built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

ensure_apt libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev dpkg-dev file
ensure_rust
# Tauri's CLI from npm: a prebuilt binary in the package, matching the
# tauri crate's minor version.
CLI_VERSION=2.11.5
CLI_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deskside/tauri-cli"
if [ "$(cat "$CLI_DIR/.installed" 2>/dev/null)" != "$CLI_VERSION" ]; then
    echo "==> installing @tauri-apps/cli $CLI_VERSION"
    mkdir -p "$CLI_DIR"
    npm install --prefix "$CLI_DIR" --no-save --no-audit --no-fund "@tauri-apps/cli@$CLI_VERSION" >/dev/null
    echo "$CLI_VERSION" >"$CLI_DIR/.installed"
fi
bundles="${DESKSIDE_BUNDLES:-deb}"
echo "==> tauri build --bundles $bundles"
(cd src-tauri && "$CLI_DIR/node_modules/.bin/tauri" build --ci --bundles "$bundles")

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
deb=$(ls -t "$target"/release/bundle/deb/*.deb | head -n 1)
echo "==> checking $deb"
contents=$(dpkg-deb --contents "$deb")
for want in usr/bin/deskside usr/bin/deskside-windows usr/share/applications/Deskside.desktop usr/share/icons/hicolor/128x128/apps/deskside.png; do
    grep -Eq " (\./)?$want\$" <<<"$contents" || { echo "error: $deb lacks $want" >&2; exit 1; }
done
desktop=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*usr/share/applications/Deskside.desktop')
grep -qx 'Exec=deskside' <<<"$desktop" || { echo "error: the desktop entry does not start deskside: $desktop" >&2; exit 1; }
depends=$(dpkg-deb --field "$deb" Depends)
for want in libwebkit2gtk-4.1-0 libayatana-appindicator3-1; do
    grep -q "$want" <<<"$depends" || { echo "error: $deb does not depend on $want ($depends)" >&2; exit 1; }
done
echo "$deb: $(du -h "$deb" | cut -f1), depends on: $depends"
ls "$target"/release/bundle/appimage/*.AppImage 2>/dev/null || true
