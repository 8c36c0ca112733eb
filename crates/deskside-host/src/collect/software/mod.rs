//! Installed software from every package source this machine has. Each
//! source is skipped when absent; slow ones run concurrently.

pub mod dpkg;
pub mod flatpak;
pub mod macos;
pub mod rpm;
pub mod snap;
pub mod windows;

use std::path::Path;
use std::time::Duration;

use deskside_protocol::{SoftwarePackage, SoftwareSource};

/// Every source, in the order they are reported.
pub const ALL_SOURCES: &[SoftwareSource] = &SoftwareSource::KNOWN;

fn collect_one(
    source: SoftwareSource,
    root: &Path,
    timeout: Duration,
) -> Option<Vec<SoftwarePackage>> {
    match source {
        SoftwareSource::Dpkg if cfg!(target_os = "linux") => dpkg::collect(root),
        SoftwareSource::Rpm if cfg!(target_os = "linux") => rpm::collect(root, timeout),
        SoftwareSource::Flatpak if cfg!(target_os = "linux") => flatpak::collect(timeout),
        SoftwareSource::Snap if cfg!(target_os = "linux") => snap::collect(timeout),
        #[cfg(windows)]
        SoftwareSource::WindowsRegistry => windows::collect(),
        // Applications and receipts are read in one pass.
        #[cfg(target_os = "macos")]
        SoftwareSource::MacosApplication => macos::collect(),
        _ => None,
    }
}

/// The installed software from `sources`, sorted by source, name,
/// architecture and version. `root` is the file system root (`/` except in
/// tests); `timeout` bounds each helper program.
pub fn collect(root: &Path, sources: &[SoftwareSource], timeout: Duration) -> Vec<SoftwarePackage> {
    // One macOS pass reads both applications and receipts.
    let mut jobs: Vec<SoftwareSource> = sources
        .iter()
        .map(|&s| match s {
            SoftwareSource::MacosPackage => SoftwareSource::MacosApplication,
            s => s,
        })
        .collect();
    jobs.sort();
    jobs.dedup();
    let mut all: Vec<SoftwarePackage> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|&src| s.spawn(move || collect_one(src, root, timeout)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok().flatten())
            .flatten()
            .collect()
    });
    all.retain(|p| sources.contains(&p.source));
    all.sort_by(|a, b| {
        (a.source, &a.name, &a.architecture, &a.version).cmp(&(
            b.source,
            &b.name,
            &b.architecture,
            &b.version,
        ))
    });
    all
}
