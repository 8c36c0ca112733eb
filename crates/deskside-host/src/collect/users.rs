//! Interactive sessions. Linux reads the utmp database (what `who` reads)
//! and falls back to systemd-logind's session files on systems without
//! utmp.

use std::path::Path;

use chrono::DateTime;
use deskside_protocol::LoggedInUser;

/// Size of glibc's `struct utmp` on every 64-bit Linux architecture.
const UTMP_RECORD: usize = 384;
const USER_PROCESS: i16 = 7;

fn c_string(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let s = String::from_utf8_lossy(&bytes[..end]).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Parses a glibc utmp file: the user sessions (`USER_PROCESS` records).
/// A truncated trailing record is ignored.
pub fn parse_utmp(bytes: &[u8]) -> Vec<LoggedInUser> {
    bytes
        .chunks_exact(UTMP_RECORD)
        .filter_map(|r| {
            let ut_type = i16::from_ne_bytes([r[0], r[1]]);
            if ut_type != USER_PROCESS {
                return None;
            }
            let secs = i32::from_ne_bytes([r[340], r[341], r[342], r[343]]);
            Some(LoggedInUser {
                name: c_string(&r[44..76])?,
                terminal: c_string(&r[8..40]),
                host: c_string(&r[76..332]),
                since: DateTime::from_timestamp(i64::from(secs), 0),
            })
        })
        .collect()
}

/// Parses one `/run/systemd/sessions/ID` file (`KEY=value` lines).
pub fn parse_logind_session(text: &str) -> Option<LoggedInUser> {
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_owned)
            .filter(|v| !v.is_empty())
    };
    if get("CLASS").is_some_and(|c| c != "user")
        || get("ACTIVE").as_deref() == Some("0") && get("STATE").as_deref() == Some("closing")
    {
        return None;
    }
    Some(LoggedInUser {
        name: get("USER")?,
        terminal: get("TTY")
            .or_else(|| get("DISPLAY"))
            .or_else(|| get("SEAT")),
        host: get("REMOTE_HOST"),
        since: get("REALTIME")
            .and_then(|us| us.parse::<i64>().ok())
            .and_then(|us| DateTime::from_timestamp(us / 1_000_000, 0)),
    })
}

/// Linux: sessions under `root`; `None` when the system keeps no record.
pub fn read_linux(root: &Path) -> Option<Vec<LoggedInUser>> {
    for utmp in ["run/utmp", "var/run/utmp"] {
        if let Ok(bytes) = std::fs::read(root.join(utmp)) {
            return Some(parse_utmp(&bytes));
        }
    }
    let dir = std::fs::read_dir(root.join("run/systemd/sessions")).ok()?;
    let mut users: Vec<LoggedInUser> = dir
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".ref"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| parse_logind_session(&t))
        .collect();
    users.sort_by(|a, b| (&a.name, &a.terminal).cmp(&(&b.name, &b.terminal)));
    Some(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ut_type: i16, user: &str, line: &str, host: &str, secs: i32) -> Vec<u8> {
        let mut r = vec![0u8; UTMP_RECORD];
        r[0..2].copy_from_slice(&ut_type.to_ne_bytes());
        r[8..8 + line.len()].copy_from_slice(line.as_bytes());
        r[44..44 + user.len()].copy_from_slice(user.as_bytes());
        r[76..76 + host.len()].copy_from_slice(host.as_bytes());
        r[340..344].copy_from_slice(&secs.to_ne_bytes());
        r
    }

    #[test]
    fn reads_user_sessions_from_utmp() {
        let mut bytes = record(2, "reboot", "~", "6.1.0", 1_700_000_000); // BOOT_TIME
        bytes.extend(record(7, "alice", "tty2", "", 1_700_000_100));
        bytes.extend(record(8, "gone", "pts/3", "", 1_700_000_200)); // DEAD_PROCESS
        bytes.extend(record(7, "bob", "pts/0", "10.1.2.3", 1_700_000_300));
        bytes.extend([0u8; 100]); // torn write at the end
        let users = parse_utmp(&bytes);
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].name, "alice");
        assert_eq!(users[0].terminal.as_deref(), Some("tty2"));
        assert_eq!(users[0].host, None);
        assert_eq!(users[1].host.as_deref(), Some("10.1.2.3"));
        assert_eq!(users[1].since.unwrap().timestamp(), 1_700_000_300);
    }

    #[test]
    fn reads_logind_sessions() {
        let u = parse_logind_session("UID=1000\nUSER=carol\nACTIVE=1\nSTATE=active\nCLASS=user\nTTY=tty2\nREALTIME=1700000000123456\n").unwrap();
        assert_eq!(u.name, "carol");
        assert_eq!(u.terminal.as_deref(), Some("tty2"));
        assert_eq!(u.since.unwrap().timestamp(), 1_700_000_000);
        assert!(parse_logind_session("USER=gdm\nCLASS=greeter\n").is_none());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_linux(dir.path()),
            None,
            "no utmp and no logind: unknown"
        );
        std::fs::create_dir_all(dir.path().join("run/systemd/sessions")).unwrap();
        std::fs::write(
            dir.path().join("run/systemd/sessions/3"),
            "USER=dave\nCLASS=user\n",
        )
        .unwrap();
        assert_eq!(read_linux(dir.path()).unwrap()[0].name, "dave");
    }
}
