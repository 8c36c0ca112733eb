//! The `command` kind: any executable that follows the Monitoring Plugins
//! (Nagios) guidelines. Exit 0/1/2/3 is ok/warning/critical/unknown, the
//! first output line is the summary, performance data follows `|`.
//!
//! The program runs from an argv array (no shell), in a process group of
//! its own so that a timeout kills everything it started, with its output
//! capped.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deskside_protocol::{CheckState, PerfValue};

use super::Outcome;

/// Parses plugin output into the summary line and its performance data.
/// Perfdata may also follow `|` on a later line (long output).
pub fn parse_output(text: &str) -> (String, Vec<PerfValue>) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let (summary, perf) = first.split_once('|').unwrap_or((first, ""));
    let mut perfdata = parse_perfdata(perf);
    for line in lines {
        if let Some((_, more)) = line.split_once('|') {
            perfdata.extend(parse_perfdata(more));
        }
    }
    (summary.trim().to_owned(), perfdata)
}

/// Parses `'label'=value[UOM];[warn];[crit];[min];[max]` items separated by
/// spaces. Labels may be quoted with `'` (and `''` is a quote inside them).
/// Malformed items are skipped.
pub fn parse_perfdata(s: &str) -> Vec<PerfValue> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (label, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            let mut label = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        label.push('\'');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    label.push(c);
                }
            }
            match end {
                Some(e) => (label, &quoted[e..]),
                None => break,
            }
        } else {
            match rest.find('=') {
                Some(i) => (rest[..i].to_owned(), &rest[i..]),
                None => break,
            }
        };
        let Some(after) = after.strip_prefix('=') else {
            break;
        };
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let (item, tail) = after.split_at(end);
        rest = tail.trim_start();
        let mut fields = item.split(';');
        let raw = fields.next().unwrap_or_default();
        let split = raw
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
            .unwrap_or(raw.len());
        let Ok(value) = raw[..split].parse::<f64>() else {
            continue;
        };
        let opt = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (warn, crit) = (opt(fields.next()), opt(fields.next()));
        let (min, max) = (
            opt(fields.next()).and_then(|v| v.parse().ok()),
            opt(fields.next()).and_then(|v| v.parse().ok()),
        );
        out.push(PerfValue {
            label,
            value,
            unit: Some(raw[split..].to_owned()).filter(|u| !u.is_empty()),
            warn,
            crit,
            min,
            max,
        });
    }
    out
}

/// Reads up to `cap` bytes and discards the rest, so a chatty plugin never
/// blocks on a full pipe.
fn read_capped(mut r: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (kept, truncated)
}

#[cfg(unix)]
fn own_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_: &mut Command) {}

/// Kills the child and everything it started.
fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn unknown(summary: String) -> Outcome {
    Outcome {
        state: CheckState::Unknown,
        summary,
        perfdata: Vec::new(),
        message: None,
    }
}

/// Runs a plugin to completion or until `timeout`.
pub fn run(argv: &[String], timeout: Duration, max_output: usize) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return unknown("no program to run".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    own_process_group(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return unknown(format!("{program}: not found"));
        }
        Err(e) => return unknown(format!("{program}: cannot run: {e}")),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_tree(&mut child);
        return unknown(format!("{program}: no output pipes"));
    };
    let out = std::thread::spawn(move || read_capped(stdout, max_output));
    let err = std::thread::spawn(move || read_capped(stderr, 4096));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                kill_tree(&mut child);
                return unknown(format!(
                    "{program}: timed out after {}",
                    humantime::format_duration(timeout)
                ));
            }
            Err(e) => {
                kill_tree(&mut child);
                return unknown(format!("{program}: {e}"));
            }
        }
    };
    // The plugin has exited; its group may still hold the pipes (a daemon it
    // forked). Kill the group so the readers finish.
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let (stdout, truncated) = out.join().unwrap_or_default();
    let (stderr, _) = err.join().unwrap_or_default();
    let text = String::from_utf8_lossy(&stdout);
    let (mut summary, perfdata) = parse_output(&text);
    if summary.is_empty() {
        summary = String::from_utf8_lossy(&stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
    }
    if truncated {
        summary.push_str(" (output truncated)");
    }
    let state = match status.code() {
        Some(code) => CheckState::from_exit_code(code),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                return unknown(format!(
                    "{program}: killed by signal {}",
                    status.signal().unwrap_or(0)
                ));
            }
            #[cfg(not(unix))]
            CheckState::Unknown
        }
    };
    if let Some(code) = status.code().filter(|c| !(0..=3).contains(c)) {
        summary = format!("{program}: exit code {code} is not a plugin state: {summary}");
    }
    Outcome {
        state,
        summary,
        perfdata,
        message: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plugin_output() {
        let (summary, perf) = parse_output(
            "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
             / 15272 MB (77%);\n\
             /boot 68 MB (69%); | /boot=68MB;88;93;0;98 'C:\\ Label''s'=99%;80;90\n",
        );
        assert_eq!(summary, "DISK OK - free space: / 3326 MB (56%);");
        assert_eq!(perf.len(), 3);
        assert_eq!(perf[0].label, "/");
        assert_eq!(perf[0].value, 2643.0);
        assert_eq!(perf[0].unit.as_deref(), Some("MB"));
        assert_eq!(perf[0].warn.as_deref(), Some("5948"));
        assert_eq!(perf[0].max, Some(5968.0));
        assert_eq!(perf[2].label, "C:\\ Label's");
        assert_eq!(perf[2].unit.as_deref(), Some("%"));
    }

    #[test]
    fn tolerates_bad_perfdata() {
        let (s, perf) = parse_output("OK|time=0.5s;;;0 junk load1=abc rta=1.2ms 'unterminated=1");
        assert_eq!(s, "OK");
        let labels: Vec<&str> = perf.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["time", "rta"]);
        assert_eq!(parse_output("").0, "");
    }
}
