//! Running a helper program (rpm, flatpak, snap, ioreg) with a deadline and
//! an output cap, so one wedged package manager cannot stall the inventory.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Largest output read from a helper; package lists are far below this.
const OUTPUT_CAP: u64 = 64 * 1024 * 1024;

/// Runs `program args…` and returns its standard output when it exits with
/// success before `timeout`. `None` when it is missing, fails, or is too slow
/// (then it is killed).
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Option<String> {
    run_status(program, args, timeout).and_then(|(code, out)| (code == 0).then_some(out))
}

/// Runs `program args…` and returns its exit code and standard output
/// whatever the exit code (for tools such as `systemctl is-active` that
/// answer through it). `None` when it is missing or too slow (then it is
/// killed).
pub fn run_status(program: &str, args: &[&str], timeout: Duration) -> Option<(i32, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("LC_ALL", "C")
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    // Read on another thread: a child blocked on a full pipe never exits.
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.take(OUTPUT_CAP).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let out = reader.join().ok()?;
                return Some((
                    status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&out).into_owned(),
                ));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                // The reader is left to finish on its own: a grandchild may
                // still hold the pipe, and waiting for it would defeat the
                // timeout.
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Whether `program` is an executable on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn returns_output_of_a_successful_command() {
        assert_eq!(
            run("sh", &["-c", "echo hi"], Duration::from_secs(5)).as_deref(),
            Some("hi\n")
        );
    }

    #[test]
    fn failure_missing_and_timeout_are_none() {
        assert!(run("sh", &["-c", "exit 3"], Duration::from_secs(5)).is_none());
        assert!(run("/nonexistent/deskside-helper", &[], Duration::from_secs(5)).is_none());
        let start = Instant::now();
        assert!(run("sleep", &["30"], Duration::from_millis(200)).is_none());
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn on_path_finds_sh() {
        assert!(on_path("sh"));
        assert!(!on_path("deskside-no-such-program"));
    }
}
