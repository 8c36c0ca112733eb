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
