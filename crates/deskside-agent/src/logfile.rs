//! The agent's own log file, `agent.log` in the state directory: what a
//! technician reads in a diagnostics bundle ("the agent's last 200 log
//! lines"). Lines are redacted before they are written, and the file is
//! rotated at 1 MiB (one previous file kept), so it never grows unbounded.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, filter::LevelFilter};

/// Size at which `agent.log` becomes `agent.log.1`.
pub const ROTATE_BYTES: u64 = 1024 * 1024;

/// The log file's name in the state directory.
pub const FILE_NAME: &str = "agent.log";

struct Sink {
    path: PathBuf,
    file: File,
    size: u64,
}

static SINK: Mutex<Option<Sink>> = Mutex::new(None);

/// Starts writing log lines to `agent.log` in `state_dir` (which must
/// exist). Lines logged before go only to stderr.
pub fn attach(state_dir: &Path) {
    let path = state_dir.join(FILE_NAME);
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let opened = options.open(&path);
    // A log an older version created readable by all is tightened.
    let _ = crate::private_fs::private_file(&path);
    let mut sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    match opened {
        Ok(file) => {
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            *sink = Some(Sink { path, file, size });
        }
        // Logging must never stop the agent (a read-only state directory).
        Err(_) => *sink = None,
    }
}

/// The writer tracing formats log lines into.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFile;

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFile;

    fn make_writer(&'a self) -> Self::Writer {
        LogFile
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = SINK.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = guard.as_mut() else {
            return Ok(buf.len());
        };
        let text = String::from_utf8_lossy(buf);
        let line = crate::redact::redact(&text);
        if sink.size + line.len() as u64 > ROTATE_BYTES {
            let _ = std::fs::rename(&sink.path, sink.path.with_extension("log.1"));
            if let Ok(f) = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&sink.path)
            {
                sink.file = f;
                sink.size = 0;
            }
        }
        // A full disk loses log lines, not the agent.
        if sink.file.write_all(line.as_bytes()).is_ok() {
            sink.size += line.len() as u64;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The last `n` lines of the agent's log in `state_dir` (both files),
/// oldest first, redacted again in case an older agent wrote them.
pub fn tail(state_dir: &Path, n: usize) -> Vec<String> {
    let mut lines = std::collections::VecDeque::with_capacity(n + 1);
    let current = state_dir.join(FILE_NAME);
    for path in [current.with_extension("log.1"), current] {
        let Ok(f) = File::open(&path) else { continue };
        for line in BufReader::new(f).lines().map_while(Result::ok) {
            lines.push_back(crate::redact::redact(&line).into_owned());
            if lines.len() > n {
                lines.pop_front();
            }
        }
    }
    lines.into()
}

/// [`init`] at the level `DESKSIDE_LOG` names (`error`, `warn` — the
/// default —, `info`, `debug`, `trace`).
pub fn init_from_env() {
    let level = std::env::var("DESKSIDE_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::WARN);
    init(level);
}

/// Logging for the agent's programs: one line per event on stderr at
/// `stderr_level`, and timestamped lines at `info` (or more, when
/// `stderr_level` is more verbose) to the log file once [`attach`]ed.
pub fn init(stderr_level: tracing::Level) {
    let file_level = stderr_level.max(tracing::Level::INFO);
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_filter(LevelFilter::from_level(stderr_level));
    let file = tracing_subscriber::fmt::layer()
        .with_writer(LogFile)
        .with_target(false)
        .with_ansi(false)
        .with_filter(LevelFilter::from_level(file_level));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_redacted_rotated_and_tailed() {
        let dir = tempfile::tempdir().unwrap();
        attach(dir.path());
        let mut w = LogFile;
        w.write_all(b"enrolled with token dsk_dev_abcdef123\n")
            .unwrap();
        let filler = format!("{}\n", "x".repeat(1000));
        for _ in 0..1100 {
            w.write_all(filler.as_bytes()).unwrap();
        }
        w.write_all(b"last line\n").unwrap();
        let text = std::fs::read_to_string(dir.path().join("agent.log.1")).unwrap();
        assert!(
            text.starts_with("enrolled with token dsk_***\n"),
            "{}",
            &text[..60]
        );
        assert!(std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len() < ROTATE_BYTES);
        let last = tail(dir.path(), 200);
        assert_eq!(last.len(), 200);
        assert_eq!(last.last().unwrap(), "last line");
        *SINK.lock().unwrap() = None;
    }
}
