//! The software catalogue kept as counts: how many devices have each
//! package version and each package. Counting `device_software` (800 rows
//! per device, 80 million for 100,000 devices) on every catalogue page
//! takes seconds; the counts change only when an inventory does, by the
//! difference between the device's old and new software, which both
//! backends write in the inventory's own transaction.

use std::collections::BTreeSet;

use super::{DeviceFilter, Store, StoreResult};

/// The package names a device search's software filter stands for: `None`
/// without the filter, empty when no installed package matches. Both
/// backends search devices by these names, on the index
/// `device_software (name, version, device_id)`.
pub(crate) async fn filter_names<S: Store>(
    s: &S,
    f: &DeviceFilter,
) -> StoreResult<Option<Vec<String>>> {
    match f.software.as_deref() {
        None => Ok(None),
        Some(text) => Ok(Some(s.software_names(text, f.software_exact).await?)),
    }
}

/// What a new inventory changes in one device's software.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SoftwareDelta {
    /// (name, version) rows the device no longer has.
    pub removed: Vec<(String, String)>,
    /// (name, version) rows it has now and did not before.
    pub added: Vec<(String, String)>,
    /// Package names the device no longer has in any version.
    pub names_removed: Vec<String>,
    /// Package names it has now and had in no version before.
    pub names_added: Vec<String>,
}

impl SoftwareDelta {
    /// From the rows stored for the device to the inventory's software
    /// (duplicates in either count once, as the table's key does).
    pub(crate) fn between(old: &[(String, String)], new: &[(String, String)]) -> Self {
        let old: BTreeSet<&(String, String)> = old.iter().collect();
        let new: BTreeSet<&(String, String)> = new.iter().collect();
        let names = |s: &BTreeSet<&(String, String)>| -> BTreeSet<String> {
            s.iter().map(|(n, _)| n.clone()).collect()
        };
        let (old_names, new_names) = (names(&old), names(&new));
        Self {
            removed: old.difference(&new).map(|p| (*p).clone()).collect(),
            added: new.difference(&old).map(|p| (*p).clone()).collect(),
            names_removed: old_names.difference(&new_names).cloned().collect(),
            names_added: new_names.difference(&old_names).cloned().collect(),
        }
    }

    /// Nothing changes.
    pub(crate) fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }

    /// Count changes per (name, version), sorted: every writer touches
    /// the shared counter rows in the same order, so two devices' uploads
    /// wait for each other instead of deadlocking.
    pub(crate) fn version_counts(&self) -> Vec<(&str, &str, i64)> {
        let mut out: Vec<(&str, &str, i64)> = self
            .removed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str(), -1))
            .chain(self.added.iter().map(|(n, v)| (n.as_str(), v.as_str(), 1)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Count changes per package name, sorted likewise.
    pub(crate) fn name_counts(&self) -> Vec<(&str, i64)> {
        let mut out: Vec<(&str, i64)> = self
            .names_removed
            .iter()
            .map(|n| (n.as_str(), -1))
            .chain(self.names_added.iter().map(|n| (n.as_str(), 1)))
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_upgrade_changes_versions_not_names() {
        let d = SoftwareDelta::between(
            &rows(&[("openssl", "3.0.11"), ("bash", "5.2"), ("vim", "9.0")]),
            &rows(&[("openssl", "3.0.13"), ("bash", "5.2"), ("git", "2.39")]),
        );
        assert_eq!(d.removed, rows(&[("openssl", "3.0.11"), ("vim", "9.0")]));
        assert_eq!(d.added, rows(&[("git", "2.39"), ("openssl", "3.0.13")]));
        assert_eq!(d.names_removed, vec!["vim".to_owned()]);
        assert_eq!(d.names_added, vec!["git".to_owned()]);
        assert_eq!(
            d.version_counts(),
            vec![
                ("git", "2.39", 1),
                ("openssl", "3.0.11", -1),
                ("openssl", "3.0.13", 1),
                ("vim", "9.0", -1)
            ]
        );
        assert_eq!(d.name_counts(), vec![("git", 1), ("vim", -1)]);
    }

    #[test]
    fn two_versions_of_one_package_count_the_name_once() {
        let d = SoftwareDelta::between(
            &rows(&[]),
            &rows(&[("kernel", "6.1"), ("kernel", "6.6"), ("kernel", "6.6")]),
        );
        assert_eq!(d.added.len(), 2);
        assert_eq!(d.name_counts(), vec![("kernel", 1)]);
        // Dropping one of the two versions keeps the name.
        let d = SoftwareDelta::between(
            &rows(&[("kernel", "6.1"), ("kernel", "6.6")]),
            &rows(&[("kernel", "6.6")]),
        );
        assert_eq!(d.version_counts(), vec![("kernel", "6.1", -1)]);
        assert!(d.name_counts().is_empty());
        assert!(SoftwareDelta::between(&rows(&[("a", "1")]), &rows(&[("a", "1")])).is_empty());
    }
}
