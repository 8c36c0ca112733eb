//! RPM packages, through `rpm -qa` with a tab-separated query format.

use std::path::Path;
use std::time::Duration;

use chrono::DateTime;
use deskside_protocol::{SoftwarePackage, SoftwareSource};

use crate::collect::command;

/// The `--queryformat` whose output [`parse_query`] reads.
pub const QUERY_FORMAT: &str = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{INSTALLTIME}\\t%{SIZE}\\n";

/// Parses `rpm -qa --queryformat QUERY_FORMAT` output. rpm prints `(none)`
/// for a missing tag; that becomes an absent value. An epoch of 0 is
/// dropped, as rpm itself does when it prints a version.
pub fn parse_query(text: &str) -> Vec<SoftwarePackage> {
    text.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let [name, evr, arch, vendor, time, size] = cols.as_slice() else {
                return None;
            };
            let known = |s: &str| (!s.is_empty() && s != "(none)").then(|| s.to_owned());
            let name = known(name)?;
            let version = evr.strip_prefix("0:").unwrap_or(evr);
            Some(SoftwarePackage {
                name,
                source: SoftwareSource::Rpm,
                version: known(version),
                architecture: known(arch),
                publisher: known(vendor),
                install_date: time
                    .parse::<i64>()
                    .ok()
                    .and_then(|t| DateTime::from_timestamp(t, 0)),
                size_bytes: size.parse().ok(),
                identifier: None,
            })
        })
        .collect()
}

/// The installed RPM packages; `None` when this is not an RPM system. An
/// `rpm` binary alone is not enough: Debian ships one with an empty database.
pub fn collect(root: &Path, timeout: Duration) -> Option<Vec<SoftwarePackage>> {
    let has_db = ["var/lib/rpm", "usr/lib/sysimage/rpm"]
        .iter()
        .any(|d| std::fs::read_dir(root.join(d)).is_ok_and(|mut e| e.next().is_some()));
    if !has_db || !command::on_path("rpm") {
        return None;
    }
    let out = command::run("rpm", &["-qa", "--queryformat", QUERY_FORMAT], timeout)?;
    Some(parse_query(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_output() {
        let pkgs = parse_query(include_str!("../../../tests/fixtures/rpm/qa.txt"));
        assert_eq!(pkgs.len(), 3);
        let bash = &pkgs[0];
        assert_eq!(bash.name, "bash");
        assert_eq!(bash.version.as_deref(), Some("5.2.26-3.fc40"));
        assert_eq!(bash.architecture.as_deref(), Some("x86_64"));
        assert_eq!(bash.publisher.as_deref(), Some("Fedora Project"));
        assert_eq!(bash.size_bytes, Some(8_470_286));
        assert_eq!(
            bash.install_date.unwrap().to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
        let key = &pkgs[1];
        assert_eq!(key.name, "gpg-pubkey");
        assert!(key.publisher.is_none(), "(none) is absent");
        assert_eq!(
            pkgs[2].version.as_deref(),
            Some("1:1.1.1w-1.fc40"),
            "a real epoch stays"
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse_query("just one column\n\t\t\t\t\t\n").is_empty());
    }
}
