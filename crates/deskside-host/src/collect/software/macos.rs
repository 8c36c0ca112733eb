//! macOS applications (`/Applications/*.app/Contents/Info.plist`) and
//! installer package receipts (the database `pkgutil` reads). Parsing is
//! pure and tested on any OS; only the directory walk is macOS-specific.

use chrono::{DateTime, Utc};
use deskside_protocol::{SoftwarePackage, SoftwareSource};
use plist::Value;

fn dict_string(dict: &plist::Dictionary, key: &str) -> Option<String> {
    dict.get(key)
        .and_then(Value::as_string)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The application an `Info.plist` (XML or binary) describes. `bundle_path`
/// is the `.app` folder, used for the name when the plist has none.
pub fn app_from_info_plist(bytes: &[u8], bundle_path: &str) -> Option<SoftwarePackage> {
    let value = Value::from_reader(std::io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let folder_name = bundle_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|n| n.strip_suffix(".app"))
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let name = dict_string(dict, "CFBundleDisplayName")
        .or_else(|| dict_string(dict, "CFBundleName"))
        .or(folder_name)?;
    let version = dict_string(dict, "CFBundleShortVersionString")
        .or_else(|| dict_string(dict, "CFBundleVersion"));
    let bundle_id = dict_string(dict, "CFBundleIdentifier");
    Some(SoftwarePackage {
        name,
        source: SoftwareSource::MacosApplication,
        version,
        architecture: None,
        // Bundle identifiers are reverse DNS of the publisher: the best
        // publisher hint an app bundle carries.
        publisher: bundle_id.as_deref().and_then(publisher_from_bundle_id),
        install_date: None,
        size_bytes: None,
        identifier: bundle_id,
    })
}

fn publisher_from_bundle_id(id: &str) -> Option<String> {
    let mut parts = id.split('.');
    let (tld, org) = (parts.next()?, parts.next()?);
    (["com", "org", "net", "io", "de", "jp", "kr"].contains(&tld) && !org.is_empty())
        .then(|| org.to_owned())
}

/// The package a receipt describes: either a `/var/db/receipts/*.plist`
/// (`PackageIdentifier`, `PackageVersion`, `InstallDate`) or the output of
/// `pkgutil --pkg-info-plist` (`pkg-id`, `pkg-version`, `install-time`).
pub fn package_from_receipt(bytes: &[u8]) -> Option<SoftwarePackage> {
    let value = Value::from_reader(std::io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    let id = dict_string(dict, "PackageIdentifier").or_else(|| dict_string(dict, "pkg-id"))?;
    let version = dict_string(dict, "PackageVersion").or_else(|| dict_string(dict, "pkg-version"));
    let install_date = match (dict.get("InstallDate"), dict.get("install-time")) {
        (Some(Value::Date(d)), _) => Some(DateTime::<Utc>::from(std::time::SystemTime::from(*d))),
        (_, Some(Value::Integer(t))) => t.as_signed().and_then(|t| DateTime::from_timestamp(t, 0)),
        _ => None,
    };
    Some(SoftwarePackage {
        name: id.clone(),
        source: SoftwareSource::MacosPackage,
        version,
        architecture: None,
        publisher: publisher_from_bundle_id(&id),
        install_date,
        size_bytes: None,
        identifier: Some(id),
    })
}

/// Applications and package receipts of this Mac.
#[cfg(target_os = "macos")]
pub fn collect() -> Option<Vec<SoftwarePackage>> {
    let mut out = Vec::new();
    let mut app_dirs = vec![
        std::path::PathBuf::from("/Applications"),
        "/Applications/Utilities".into(),
        "/System/Applications".into(),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        app_dirs.push(std::path::Path::new(&home).join("Applications"));
    }
    for dir in app_dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "app") {
                if let Ok(bytes) = std::fs::read(path.join("Contents/Info.plist")) {
                    out.extend(app_from_info_plist(&bytes, &path.to_string_lossy()));
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/var/db/receipts") {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "plist") {
                if let Ok(bytes) = std::fs::read(&path) {
                    out.extend(package_from_receipt(&bytes));
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/macos");

    #[test]
    fn reads_an_xml_info_plist() {
        let bytes = std::fs::read(format!("{FIX}/Info.plist")).unwrap();
        let app = app_from_info_plist(&bytes, "/Applications/Firefox.app").unwrap();
        assert_eq!(app.name, "Firefox");
        assert_eq!(app.version.as_deref(), Some("132.0.1"));
        assert_eq!(app.identifier.as_deref(), Some("org.mozilla.firefox"));
        assert_eq!(app.publisher.as_deref(), Some("mozilla"));
    }

    #[test]
    fn reads_a_binary_plist_and_falls_back_to_the_folder_name() {
        let mut dict = plist::Dictionary::new();
        dict.insert("CFBundleVersion".into(), "1.2".into());
        let mut bytes = Vec::new();
        Value::Dictionary(dict)
            .to_writer_binary(&mut bytes)
            .unwrap();
        let app = app_from_info_plist(&bytes, "/Applications/Tool.app/").unwrap();
        assert_eq!(app.name, "Tool");
        assert_eq!(app.version.as_deref(), Some("1.2"));
        assert!(app_from_info_plist(b"not a plist", "/Applications/X.app").is_none());
    }

    #[test]
    fn reads_receipts_in_both_spellings() {
        let bytes = std::fs::read(format!("{FIX}/receipt.plist")).unwrap();
        let pkg = package_from_receipt(&bytes).unwrap();
        assert_eq!(pkg.name, "com.microsoft.package.Microsoft_Word.app");
        assert_eq!(pkg.version.as_deref(), Some("16.78.23100802"));
        assert_eq!(
            pkg.install_date.unwrap().to_rfc3339(),
            "2023-10-20T08:30:00+00:00"
        );
        assert_eq!(pkg.publisher.as_deref(), Some("microsoft"));

        let bytes = std::fs::read(format!("{FIX}/pkgutil-pkg-info.plist")).unwrap();
        let pkg = package_from_receipt(&bytes).unwrap();
        assert_eq!(pkg.name, "com.apple.pkg.CLTools_Executables");
        assert_eq!(pkg.version.as_deref(), Some("15.3.0.0.1.1708646388"));
        assert_eq!(pkg.install_date.unwrap().timestamp(), 1_710_000_000);
    }
}
