//! Flatpak applications and runtimes, through `flatpak list`.

use std::time::Duration;

use deskside_protocol::{SoftwarePackage, SoftwareSource};

use crate::collect::command;

/// The columns [`parse_list`] expects, in order.
pub const COLUMNS: &str = "--columns=application,name,version,branch,arch,origin,installation";

/// Parses `flatpak list COLUMNS` output (tab-separated, no header).
pub fn parse_list(text: &str) -> Vec<SoftwarePackage> {
    text.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
            let [app, name, version, branch, arch, origin, installation] = cols.as_slice() else {
                return None;
            };
            let known = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            let app = known(app)?;
            Some(SoftwarePackage {
                name: known(name).unwrap_or_else(|| app.clone()),
                source: SoftwareSource::Flatpak,
                // Runtimes often have no version; their branch is what
                // identifies them (`23.08`).
                version: known(version).or_else(|| known(branch)),
                architecture: known(arch),
                publisher: known(origin),
                install_date: None,
                size_bytes: None,
                identifier: Some(format!("{app}/{arch}/{branch} ({installation})")),
            })
        })
        .collect()
}

/// The installed flatpaks; `None` when flatpak is not installed.
pub fn collect(timeout: Duration) -> Option<Vec<SoftwarePackage>> {
    if !command::on_path("flatpak") {
        return None;
    }
    command::run("flatpak", &["list", COLUMNS], timeout).map(|out| parse_list(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_apps_and_runtimes() {
        let pkgs = parse_list(include_str!("../../../tests/fixtures/flatpak/list.txt"));
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "Firefox");
        assert_eq!(pkgs[0].version.as_deref(), Some("132.0.1"));
        assert_eq!(pkgs[0].publisher.as_deref(), Some("flathub"));
        assert_eq!(
            pkgs[0].identifier.as_deref(),
            Some("org.mozilla.firefox/x86_64/stable (system)")
        );
        assert_eq!(
            pkgs[1].version.as_deref(),
            Some("24.08"),
            "runtime falls back to branch"
        );
    }
}
