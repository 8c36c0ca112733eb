//! The processes using the most CPU and memory, with their command lines
//! (redacted): what a technician looks at first for "my laptop is slow".

use std::time::Duration;

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, ThreadKind, UpdateKind};

/// Longest command line kept, in characters.
const MAX_COMMAND: usize = 512;

pub use deskside_protocol::diagnostics::{ProcessInfo, TopProcesses};

/// Measures CPU use over `window` and lists the `n` top processes of each
/// kind.
pub fn top(n: usize, window: Duration) -> TopProcesses {
    let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
    // sysinfo 0.40 constructors fail where the platform is unsupported.
    let Ok(mut sys) = System::new() else {
        std::thread::sleep(window);
        return TopProcesses::default();
    };
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    std::thread::sleep(window);
    // Command lines only now: a process caught between fork and exec
    // would keep its parent's (or none).
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        kind.with_cmd(UpdateKind::Always),
    );
    // sysinfo lists each thread of a process as a process of its own.
    let procs: Vec<ProcessInfo> = sys
        .processes()
        .values()
        .filter(|p| p.thread_kind() != Some(ThreadKind::Userland))
        .map(|p| {
            let cmd: Vec<String> = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let command = crate::redact::redact(&cmd.join(" "))
                .chars()
                .take(MAX_COMMAND)
                .collect();
            ProcessInfo {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cpu_percent: p.cpu_usage(),
                memory_bytes: p.memory(),
                command,
            }
        })
        .collect();
    let mut by_cpu: Vec<ProcessInfo> = procs
        .iter()
        .filter(|p| p.cpu_percent > 0.0)
        .cloned()
        .collect();
    by_cpu.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    by_cpu.truncate(n);
    let mut by_memory = procs;
    by_memory.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes));
    by_memory.truncate(n);
    TopProcesses { by_cpu, by_memory }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_this_process_with_a_redacted_command_line() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30; true", "x", "--password=hunter2"])
            .spawn()
            .unwrap();
        let t = top(usize::MAX, Duration::from_millis(100));
        let _ = child.kill();
        let _ = child.wait();
        let me = std::process::id();
        assert!(
            t.by_memory
                .iter()
                .any(|p| p.pid == me && p.memory_bytes > 0)
        );
        let sleeper = t
            .by_memory
            .iter()
            .find(|p| p.pid == child.id())
            .expect("the child is listed");
        assert_eq!(sleeper.command, "sh -c sleep 30; true x --password=***");
        assert!(
            t.by_memory
                .windows(2)
                .all(|w| w[0].memory_bytes >= w[1].memory_bytes)
        );
    }
}
