#!/usr/bin/env bash
# Screenshots of the tray app's windows in English, Korean and Japanese,
# under Xvfb with a private D-Bus session, against a local desk: the app
# enrolls itself from its configuration (as after an MDM deployment), files
# a ticket, and a technician answers it. PNGs go to docs/screenshots/.
# The report's preview, its screenshot and files, and a conversation come
# from the end-to-end test (tests/tray.rs), which copies nothing: take
# them from target/tmp/tray-e2e-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

ensure_apt xvfb xauth imagemagick xdotool fonts-noto-cjk dbus-daemon curl \
    libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
ensure_rust
[ -n "${DESKSIDE_SHOTS_NO_BUILD:-}" ] || cargo build --locked -p deskside -p deskside-server -p deskside-agent
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out=docs/screenshots
mkdir -p "$out"
work=$(mktemp -d -t deskside-shots.XXXXXX)
port=$(free_port)
desk="http://127.0.0.1:$port"
export DESKSIDE_DATA_DIR="$work/desk"
server="$target/debug/deskside-server"
"$server" user create --email tech@example.com --role technician >/dev/null 2>&1
token=$("$server" token create --email tech@example.com 2>/dev/null)
secret=$("$server" enroll-secret create --label screenshots 2>/dev/null)
"$server" serve --listen "127.0.0.1:$port" >"$work/desk.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$desk/healthz" 2>/dev/null && break; sleep 0.1; done

# One language: its own account (HOME), state directory and session.
shoot() {
    local lang=$1 locale=$2 subject=$3 reply=$4
    cat >"$work/inner-$lang.sh" <<INNER
set -u
app="$target/debug/deskside"
agent="$target/debug/deskside-agent"
"\$app" >"$work/app-$lang.log" 2>&1 &
sleep 5
"\$agent" ticket new --subject "$subject" --category network --urgency high --no-diagnostics >/dev/null 2>&1
number=\$(curl -fsS -H "Authorization: Bearer $token" "$desk/api/v1/tickets?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tickets"][0]["id"])')
curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"body\": \"$reply\"}" "$desk/api/v1/tickets/\$number/comments"
"\$agent" sync >/dev/null 2>&1 || true
sleep 12   # the first metric samples reach the health window's charts
# Device health first: Report a problem then captures it as the screen
# the employee was looking at.
for w in health report tickets settings about; do
    "\$app" --open \$w >/dev/null 2>&1
    sleep 3
    id=\$(xdotool search --onlyvisible --classname deskside | tail -1)
    import -window "\$id" "$out/\$w-$lang.png"
    if [ \$w = report ]; then
        # Scrolled down to the screenshot taken as the window opened.
        xdotool mousemove --window "\$id" 280 420
        for _ in 1 2 3 4 5 6 7 8; do xdotool click 5; done
        sleep 1
        import -window "\$id" "$out/report-screenshot-$lang.png"
    fi
    # No window manager here to ask a window to close; the next one opens
    # on top of it.
done
kill %1
cat "$work/app-$lang.log" >&2
INNER
    env HOME="$work/home-$lang" LANG="$locale" LC_ALL="$locale" \
        DESKSIDE_STATE_DIR="$work/state-$lang" DESKSIDE_CREDENTIAL_STORE=file \
        DESKSIDE_SERVER_URL="$desk" DESKSIDE_ENROLL_SECRET="$secret" \
        DESKSIDE_DEVICE_KEY="screenshots-$lang" DESKSIDE_NOTIFICATIONS_ENABLED=false \
        xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- bash "$work/inner-$lang.sh" \
        2> >(grep -v -e dbus-daemon -e SpiRegistry >&2)
    echo "==> $lang: $(ls "$out"/*-"$lang".png | wc -l) windows"
}

shoot en en_US.UTF-8 "Wi-Fi drops every few minutes" "We are replacing the access point in room 3 today."
shoot ko ko_KR.UTF-8 "Wi-Fi가 몇 분마다 끊깁니다" "오늘 3번 회의실의 액세스 포인트를 교체합니다."
shoot ja ja_JP.UTF-8 "Wi-Fi が数分ごとに切れる" "本日、会議室3のアクセスポイントを交換します。"
