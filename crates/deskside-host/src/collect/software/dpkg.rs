//! Debian packages, read straight from dpkg's status database: no
//! `dpkg-query` process, and the same answer it would give.

use std::path::Path;

use chrono::{DateTime, Utc};
use deskside_protocol::{SoftwarePackage, SoftwareSource};

/// One stanza of `/var/lib/dpkg/status` that describes an installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgEntry {
    /// `Package:`
    pub name: String,
    /// `Version:`
    pub version: Option<String>,
    /// `Architecture:`
    pub architecture: Option<String>,
    /// `Maintainer:` without the e-mail address.
    pub maintainer: Option<String>,
    /// `Installed-Size:` in bytes.
    pub installed_size: Option<u64>,
    /// `Multi-Arch: same`: dpkg names its files `name:arch.list`.
    pub multiarch_same: bool,
}

/// Parses a dpkg status file and returns the packages whose current state is
/// `installed` (what `dpkg-query` shows as `ii`, or `hi` for held ones).
/// Half-installed, config-files-only and unpacked packages are left out.
pub fn parse_status(text: &str) -> Vec<DpkgEntry> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut entry = DpkgEntry {
            name: String::new(),
            version: None,
            architecture: None,
            maintainer: None,
            installed_size: None,
            multiarch_same: false,
        };
        let mut installed = false;
        for line in stanza.lines() {
            // Continuation lines (descriptions, conffiles) start with space.
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Package" => entry.name = value.to_owned(),
                "Status" => {
                    // "want eflag status": the package is fully installed
                    // when the last word is "installed" and no error flag
                    // asks for a reinstall.
                    let words: Vec<&str> = value.split_whitespace().collect();
                    installed = words.len() == 3 && words[1] == "ok" && words[2] == "installed";
                }
                "Version" => entry.version = Some(value.to_owned()),
                "Architecture" => entry.architecture = Some(value.to_owned()),
                "Maintainer" => {
                    let name = value.split('<').next().unwrap_or(value).trim();
                    entry.maintainer = (!name.is_empty()).then(|| name.to_owned());
                }
                "Installed-Size" => {
                    entry.installed_size = value.parse::<u64>().ok().map(|kib| kib * 1024);
                }
                "Multi-Arch" => entry.multiarch_same = value == "same",
                _ => {}
            }
        }
        if installed && !entry.name.is_empty() {
            out.push(entry);
        }
    }
    out
}

impl DpkgEntry {
    /// The name of this package's file list under `/var/lib/dpkg/info`.
    pub fn list_file_name(&self) -> String {
        match (&self.architecture, self.multiarch_same) {
            (Some(arch), true) => format!("{}:{arch}.list", self.name),
            _ => format!("{}.list", self.name),
        }
    }

    /// The protocol form; `install_date` is the file list's modification
    /// time, the moment dpkg last unpacked the package.
    pub fn into_package(self, install_date: Option<DateTime<Utc>>) -> SoftwarePackage {
        SoftwarePackage {
            name: self.name,
            source: SoftwareSource::Dpkg,
            version: self.version,
            architecture: self.architecture,
            publisher: self.maintainer,
            install_date,
            size_bytes: self.installed_size,
            identifier: None,
        }
    }
}

/// The installed Debian packages under `root` (normally `/`); `None` when
/// this is not a dpkg system.
pub fn collect(root: &Path) -> Option<Vec<SoftwarePackage>> {
    let admin = root.join("var/lib/dpkg");
    let text = std::fs::read_to_string(admin.join("status")).ok()?;
    let info = admin.join("info");
    Some(
        parse_status(&text)
            .into_iter()
            .map(|e| {
                let date = std::fs::metadata(info.join(e.list_file_name()))
                    .and_then(|m| m.modified())
                    .ok()
                    .map(DateTime::<Utc>::from);
                e.into_package(date)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/dpkg/status");

    #[test]
    fn only_installed_packages_with_their_fields() {
        let entries = parse_status(FIXTURE);
        let names: Vec<String> = entries
            .iter()
            .map(|e| format!("{}:{}", e.name, e.architecture.as_deref().unwrap_or("?")))
            .collect();
        assert_eq!(
            names,
            [
                "bash:amd64",
                "libc6:amd64",
                "libc6:i386",
                "tzdata:all",
                "held-pkg:amd64"
            ]
        );
        let bash = &entries[0];
        assert_eq!(bash.version.as_deref(), Some("5.2.15-2+b7"));
        assert_eq!(bash.maintainer.as_deref(), Some("Matthias Klose"));
        assert_eq!(bash.installed_size, Some(7163 * 1024));
        assert!(!bash.multiarch_same);
        assert!(entries[1].multiarch_same);
        assert_eq!(entries[2].list_file_name(), "libc6:i386.list");
        assert_eq!(bash.list_file_name(), "bash.list");
    }

    #[test]
    fn collect_reads_install_dates_from_file_lists() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path().join("var/lib/dpkg");
        std::fs::create_dir_all(admin.join("info")).unwrap();
        std::fs::write(admin.join("status"), FIXTURE).unwrap();
        std::fs::write(admin.join("info/libc6:amd64.list"), "/.\n").unwrap();
        let pkgs = collect(dir.path()).unwrap();
        assert_eq!(pkgs.len(), 5);
        assert!(
            pkgs[1].install_date.is_some(),
            "libc6:amd64 has a file list"
        );
        assert!(
            pkgs[0].install_date.is_none(),
            "bash has none in the fixture"
        );
        assert!(collect(&dir.path().join("nothing")).is_none());
    }

    #[test]
    fn garbage_is_not_a_package() {
        assert!(parse_status("").is_empty());
        assert!(parse_status("\u{0}\u{1}binary\n\n:::\nStatus: install ok installed\n").is_empty());
    }
}
