//! The running processes as GLPI lists them (what `ps aux` shows), for an
//! export only: they change by the second, so they are not part of the
//! inventory the desk keeps.

use chrono::DateTime;
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System, ThreadKind, UpdateKind};

use crate::glpi::GlpiProcess;

/// Every process (threads left out), by process id.
pub fn for_glpi() -> Vec<GlpiProcess> {
    let Ok(mut sys) = System::new_with_specifics(
        RefreshKind::nothing().with_memory(sysinfo::MemoryRefreshKind::nothing().with_ram()),
    ) else {
        return Vec::new();
    };
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_memory()
            .with_cpu()
            .with_user(UpdateKind::Always)
            .with_cmd(UpdateKind::Always)
            .without_tasks(),
    );
    // Owners by uid from the local accounts (where a uid has no account,
    // the number).
    let users: std::collections::HashMap<String, String> =
        super::accounts::read_unix(std::path::Path::new("/"))
            .0
            .unwrap_or_default()
            .into_iter()
            .filter_map(|u| Some((u.id?.to_string(), u.login)))
            .collect();
    let total = sys.total_memory().max(1) as f64;
    let mut out: Vec<GlpiProcess> = sys
        .processes()
        .values()
        // sysinfo lists threads as processes too.
        .filter(|p| p.thread_kind() != Some(ThreadKind::Userland))
        .map(|p| {
            let user = p
                .user_id()
                .map(|uid| {
                    let uid = uid.to_string();
                    users.get(&uid).cloned().unwrap_or(uid)
                })
                .unwrap_or_default();
            let cmd: Vec<String> = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let cmd = if cmd.is_empty() {
                // Kernel threads have no command line; ps shows [name].
                format!("[{}]", p.name().to_string_lossy())
            } else {
                one_line(&cmd.join(" "))
            };
            let run = p.run_time().max(1) as f64;
            GlpiProcess {
                pid: p.pid().as_u32(),
                user,
                cmd,
                // Lifetime CPU time over lifetime, as ps computes %CPU.
                cpu_percent: p.accumulated_cpu_time() as f64 / 1000.0 / run * 100.0,
                memory_percent: p.memory() as f64 * 100.0 / total,
                virtual_kib: p.virtual_memory() / 1024,
                started: DateTime::from_timestamp(i64::try_from(p.start_time()).unwrap_or(0), 0),
                tty: None,
            }
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// A command line as one printable line: ps (and so GLPI's own agent)
/// shows each control character, a newline in a `bash -c` script for one,
/// as `?`, and a process list is read a row per process.
fn one_line(cmd: &str) -> String {
    cmd.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_read_as_ps_shows_them() {
        assert_eq!(one_line("bash -c a=0\nb='x\ty'"), "bash -c a=0?b='x?y'");
        assert_eq!(one_line("/usr/bin/日本語 --x"), "/usr/bin/日本語 --x");
    }

    #[test]
    fn this_process_is_listed_with_its_command() {
        let me = std::process::id();
        let list = for_glpi();
        let found = list.iter().find(|p| p.pid == me).expect("this process");
        assert!(!found.cmd.is_empty());
        assert!(list.iter().all(|p| !p.cmd.contains('\n')));
    }
}
