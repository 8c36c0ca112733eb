#!/usr/bin/env bash
# The tray app's footprint (release build), under Xvfb with a private
# D-Bus session: proportional set size (PSS) of all its processes,
# WebKit's included, idle with no window and with Report a problem open;
# CPU time while idle; and the time from asking for a window to its page
# being drawn and taking input (the app logs "window ready"), for the
# first window (WebKit's processes start) and a second one. Both ways the
# app can run are measured in the same run: as shipped on Linux (the tray
# process `deskside`, which starts `deskside-windows` for windows) and the
# whole app in one process (`deskside-windows --one-process`, as on
# Windows and macOS, and how it shipped on Linux before).
# Figures belong in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

ensure_apt xvfb xauth dbus-daemon libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
ensure_rust
cargo build --locked --release -p deskside
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d -t deskside-tray-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
idle=${DESKSIDE_BENCH_IDLE_SECS:-60}
opens=${DESKSIDE_BENCH_OPENS:-5}

cat >"$work/measure.py" <<'PY'
import os, sys, time

def tree(root):
    """The process and every descendant (children of any of its threads)."""
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out

def field(pid, name):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def cpu(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += int(parts[11]) + int(parts[12])
        except (OSError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")

root, secs, label = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
pss, rss, n = [], [], 0
c0 = cpu(tree(root))
start = time.time()
while time.time() - start < secs:
    pids = tree(root)
    n = len(pids)
    pss.append(sum(field(p, "Pss:") for p in pids))
    rss.append(sum(field(p, "Rss:") for p in pids))
    time.sleep(2)
used = cpu(tree(root)) - c0
print(f"{label}: {n} processes, PSS avg {sum(pss)/len(pss)/1024:.1f} MiB (max {max(pss)/1024:.1f}), "
      f"RSS avg {sum(rss)/len(rss)/1024:.1f} MiB, CPU {used / (time.time() - start) * 100:.3f} % of one core")
PY

cat >"$work/timings.py" <<'PY'
import re, sys
label, log = sys.argv[1], open(sys.argv[2]).read()
for ms in re.findall(r"screen captured ms=(\d+)", log):
    print(f"{label}: screen captured before Report a problem: {ms} ms")
for w, ms in re.findall(r'window="?(report|tickets)"? ms=(\d+)', log):
    print(f"{label}: {w} window asked for to drawn and taking input: {ms} ms")
PY

cat >"$work/inner.sh" <<INNER
set -eu
tray="$target/release/deskside"
windows="$target/release/deskside-windows"
state_log="$work/state/agent.log"
# Idle, then Report a problem open (a second launch hands --open to the
# running app), then a second window while the first holds WebKit's
# processes. "\$@" starts the app.
one_run() {
    label=\$1
    shift
    rm -rf "$work/state"
    "\$@" >"$work/app.log" 2>&1 &
    pid=\$!
    sleep 15
    python3 "$work/measure.py" \$pid $idle "\$label: idle, no window"
    "\$tray" --open report 2>/dev/null || "\$windows" --one-process --open report
    sleep 6
    python3 "$work/measure.py" \$pid 10 "\$label: Report a problem open"
    "\$tray" --open tickets 2>/dev/null || "\$windows" --one-process --open tickets
    sleep 4
    python3 "$work/timings.py" "\$label" "\$state_log"
    kill \$pid
    wait \$pid 2>/dev/null || true
    sleep 2
}
# Before: the tray and the windows in one process (Tauri's tray), as on
# Windows and macOS. The second launches go through its single-instance
# plugin.
one_run "one process (before)" "\$windows" --one-process
# As shipped on Linux: the tray process, which starts deskside-windows.
one_run "tray process + windows process (as shipped)" "\$tray"

# Opening is noisy (how much of WebKit's libraries the page cache still
# holds): $opens cold opens of Report a problem per way, alternating, each
# in a freshly started app that has settled for 12 s.
for i in \$(seq $opens); do
    for way in one split; do
        rm -rf "$work/state"
        if [ \$way = one ]; then "\$windows" --one-process >"$work/app.log" 2>&1 & else "\$tray" >"$work/app.log" 2>&1 & fi
        pid=\$!
        sleep 12
        "\$tray" --open report 2>/dev/null || "\$windows" --one-process --open report
        for _ in \$(seq 100); do grep -Eq 'window="?report"? ms=' "\$state_log" && break; sleep 0.1; done
        grep -Eo 'window="?report"? ms=[0-9]+' "\$state_log" | sed "s/.*ms=/\$way /" >>"$work/opens"
        kill \$pid
        wait \$pid 2>/dev/null || true
        sleep 1
    done
done
python3 - "$work/opens" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    way, ms = line.split()
    runs.setdefault(way, []).append(int(ms))
names = {"one": "one process (before)", "split": "tray process + windows process (as shipped)"}
for way, ms in runs.items():
    print(f"{names[way]}: Report a problem, cold, {len(ms)} opens: median {statistics.median(ms):.0f} ms "
          f"(min {min(ms)}, max {max(ms)}): {ms}")
PY
INNER
env HOME="$work/home" DESKSIDE_STATE_DIR="$work/state" DESKSIDE_CREDENTIAL_STORE=file \
    DESKSIDE_NOTIFICATIONS_ENABLED=false DESKSIDE_LOG=info \
    xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- bash "$work/inner.sh" \
    2> >(grep -v -e dbus-daemon -e SpiRegistry -e '^$' >&2)
