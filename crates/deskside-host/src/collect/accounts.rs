//! Local accounts and groups. Unix reads `/etc/passwd` and `/etc/group`
//! (the files themselves, not NSS: directory accounts are not local).

use std::path::Path;

use deskside_protocol::{LocalGroup, LocalUser};

/// Parses `/etc/passwd`: `login:x:uid:gid:gecos:home:shell`.
pub fn parse_passwd(text: &str) -> Vec<LocalUser> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let login = (*f.first()?).to_owned();
            if login.is_empty() || login.starts_with('+') || login.starts_with('-') {
                return None;
            }
            let nonempty = |i: usize| f.get(i).filter(|v| !v.is_empty()).map(|v| (*v).to_owned());
            Some(LocalUser {
                login,
                id: f.get(2).and_then(|v| v.parse().ok()),
                // The GECOS field's first part is the full name.
                name: nonempty(4)
                    .and_then(|g| Some(g.split(',').next()?.to_owned()).filter(|n| !n.is_empty())),
                home: nonempty(5),
                shell: nonempty(6),
            })
        })
        .collect()
}

/// Parses `/etc/group`: `name:x:gid:member,member`; only groups with
/// members are kept (as FusionInventory does: the others say nothing about
/// who may do what).
pub fn parse_group(text: &str) -> Vec<LocalGroup> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let members: Vec<String> = f
                .get(3)?
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect();
            (!members.is_empty()).then(|| LocalGroup {
                name: f[0].to_owned(),
                id: f.get(2).and_then(|v| v.parse().ok()),
                members,
            })
        })
        .collect()
}

/// Unix: the local users and groups under `root`; `None` where the files
/// cannot be read.
pub fn read_unix(root: &Path) -> (Option<Vec<LocalUser>>, Option<Vec<LocalGroup>>) {
    let read = |f: &str| std::fs::read_to_string(root.join(f)).ok();
    (
        read("etc/passwd").map(|t| parse_passwd(&t)),
        read("etc/group").map(|t| parse_group(&t)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group() {
        let users = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# comment\n\
             alice:x:1000:1000:Alice Kim,,,:/home/alice:/bin/zsh\n+::::::\nbad\n",
        );
        assert_eq!(users.len(), 3);
        assert_eq!(users[1].name.as_deref(), Some("Alice Kim"));
        assert_eq!(users[1].id, Some(1000));
        assert_eq!(users[1].shell.as_deref(), Some("/bin/zsh"));
        assert_eq!(users[2].login, "bad");
        assert_eq!(users[2].id, None);
        let groups = parse_group("root:x:0:\nsudo:x:27:alice,bob\nssl-cert:x:103:postgres\n");
        assert_eq!(groups.len(), 2, "groups without members are left out");
        assert_eq!(groups[0].members, ["alice", "bob"]);
        assert_eq!(groups[1].id, Some(103));
    }
}

/// The real uid in `/proc/self/status` (its `Uid:` line's first number).
pub fn uid_from_status(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A person's name for an account: the full name when the account has
/// one, else the login.
pub fn display_name(users: &[LocalUser], uid: Option<u32>, login: Option<&str>) -> Option<String> {
    let found = users
        .iter()
        .find(|u| uid.is_some() && u.id == uid)
        .or_else(|| users.iter().find(|u| login.is_some_and(|l| u.login == l)));
    match found {
        Some(u) => Some(u.name.clone().unwrap_or_else(|| u.login.clone())),
        None => login.map(str::to_owned),
    }
}

/// Who runs this process, as a person's name ("Ana Example", or the login
/// when the account has no full name): the requester of a ticket filed
/// from here. Linux finds the account by the process's uid in
/// `/etc/passwd` (no NSS: directory accounts fall back to the login the
/// environment names); elsewhere the login from the environment.
pub fn current_user_name() -> Option<String> {
    let login = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
    #[cfg(target_os = "linux")]
    {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| uid_from_status(&s));
        let users = std::fs::read_to_string("/etc/passwd")
            .map(|t| parse_passwd(&t))
            .unwrap_or_default();
        display_name(&users, uid, login.as_deref())
    }
    #[cfg(not(target_os = "linux"))]
    {
        login
    }
}

#[cfg(test)]
mod current_user_tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        ana:x:1000:1000:Ana Example,Room 3,,:/home/ana:/bin/bash\n\
        svc:x:1001:1001::/home/svc:/usr/sbin/nologin\n";

    #[test]
    fn the_full_name_of_the_uid_else_the_login() {
        let users = parse_passwd(PASSWD);
        assert_eq!(
            display_name(&users, Some(1000), None).as_deref(),
            Some("Ana Example")
        );
        assert_eq!(
            display_name(&users, Some(1001), None).as_deref(),
            Some("svc")
        );
        // The uid wins over a login the environment may have inherited.
        assert_eq!(
            display_name(&users, Some(1000), Some("root")).as_deref(),
            Some("Ana Example")
        );
        // A directory account: only the environment knows it.
        assert_eq!(
            display_name(&users, Some(5000), Some("bo")).as_deref(),
            Some("bo")
        );
        assert_eq!(display_name(&users, None, None), None);
    }

    #[test]
    fn the_uid_of_proc_status() {
        let status = "Name:\tdeskside\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\n";
        assert_eq!(uid_from_status(status), Some(1000));
        assert_eq!(uid_from_status("Name: x\n"), None);
    }
}
