//! Snap packages, through `snap list`.

use std::time::Duration;

use deskside_protocol::{SoftwarePackage, SoftwareSource};

use crate::collect::command;

/// Parses `snap list --unicode=never --color=never`: a header line, then
/// whitespace-separated `Name Version Rev Tracking Publisher Notes`.
/// Verified publishers carry a trailing `**` (or `✓`), which is dropped.
pub fn parse_list(text: &str) -> Vec<SoftwarePackage> {
    text.lines()
        .skip_while(|l| !l.starts_with("Name"))
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let [name, version, rev, _tracking, publisher, ..] = cols.as_slice() else {
                return None;
            };
            let publisher = publisher.trim_end_matches(['*', '✓', '✪']);
            Some(SoftwarePackage {
                name: (*name).to_owned(),
                source: SoftwareSource::Snap,
                version: Some((*version).to_owned()),
                architecture: None,
                publisher: (publisher != "-").then(|| publisher.to_owned()),
                install_date: None,
                size_bytes: None,
                identifier: Some(format!("{name} (rev {rev})")),
            })
        })
        .collect()
}

/// The installed snaps; `None` when snapd is not installed.
pub fn collect(timeout: Duration) -> Option<Vec<SoftwarePackage>> {
    if !command::on_path("snap") {
        return None;
    }
    command::run(
        "snap",
        &["list", "--unicode=never", "--color=never"],
        timeout,
    )
    .map(|out| parse_list(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_snap_list() {
        let pkgs = parse_list(include_str!("../../../tests/fixtures/snap/list.txt"));
        let names: Vec<&str> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["core22", "firefox", "hello-world"]);
        assert_eq!(pkgs[1].publisher.as_deref(), Some("mozilla"));
        assert_eq!(pkgs[1].version.as_deref(), Some("132.0-1"));
        assert_eq!(pkgs[1].identifier.as_deref(), Some("firefox (rev 5187)"));
        assert!(pkgs[2].publisher.is_none(), "'-' means no publisher");
    }
}
