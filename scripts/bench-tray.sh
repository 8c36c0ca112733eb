#!/usr/bin/env bash
# The tray app's footprint (release build), under Xvfb with a private
# D-Bus session: proportional set size (PSS) of all its processes,
# WebKit's included, idle with no window and with Report a problem open;
# CPU time while idle; and the time from asking for a window to its page
# being drawn and taking input (the app logs "window ready"), for the
# first window (WebKit's processes start) and a second one. The idle run
# is made twice: as shipped, and with GDK's OpenGL left on (GDK_GL="").
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

cat >"$work/inner.sh" <<INNER
set -eu
app="$target/release/deskside"
# The app turns GDK's OpenGL off unless GDK_GL is set; an empty GDK_GL
# keeps it on, for the comparison run.
one_run() {
    label=\$1
    rm -rf "$work/state"
    if [ "\$2" = gl ]; then
        env GDK_GL= "\$app" >"$work/app.log" 2>&1 &
    else
        "\$app" >"$work/app.log" 2>&1 &
    fi
    pid=\$!
    sleep 15
    python3 "$work/measure.py" \$pid $idle "\$label: idle, no window"
    kill \$pid
    wait \$pid 2>/dev/null || true
}
one_run "with GDK's OpenGL (before)" gl
one_run "as shipped" nogl
rm -rf "$work/state"
"\$app" >"$work/app.log" 2>&1 &
pid=\$!
sleep 15
# A second launch hands --open to the running app.
"\$app" --open report
sleep 6
python3 "$work/measure.py" \$pid 10 "Report a problem open"
# A second window while the first holds WebKit's processes.
"\$app" --open tickets
sleep 4
grep -Eo 'screen captured ms=[0-9]+' "$work/state/agent.log" | sed 's/ms=/before Report a problem, in ms: /'
grep -Eo 'window="?(report|tickets)"? ms=[0-9]+' "$work/state/agent.log" | sed 's/window="\{0,1\}\([a-z]*\)"\{0,1\} ms=/\1 window asked for to drawn and taking input: /; s/$/ ms/'
kill \$pid
INNER
env HOME="$work/home" DESKSIDE_STATE_DIR="$work/state" DESKSIDE_CREDENTIAL_STORE=file \
    DESKSIDE_NOTIFICATIONS_ENABLED=false DESKSIDE_LOG=info \
    xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- bash "$work/inner.sh" \
    2> >(grep -v -e dbus-daemon -e SpiRegistry -e '^$' >&2)
