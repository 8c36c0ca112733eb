//! Problem candidates: when several devices have incidents (a ticket
//! filed, a health check turning failing) within [`LEAD`] of the same
//! software change on that device (a package added, or upgraded, to one
//! version), the change is a likely common cause, and the desk proposes a
//! problem record listing those incidents and the other devices that have
//! the same version (they may be next). A technician accepts (a problem
//! with the incidents linked) or dismisses it; either is final for that
//! package and version.
//!
//! [`find`] is the pure part: incidents and changes in, candidates out.
//! The desk runs it on a timer over the last [`WINDOW`] of incidents.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use deskside_protocol::{InventoryDiff, SoftwareChangeKind};

/// How long before an incident a change counts as its possible cause.
pub const LEAD: TimeDelta = TimeDelta::hours(48);
/// How far back incidents are looked at.
pub const WINDOW: TimeDelta = TimeDelta::days(7);
/// How many devices with incidents after one change make a candidate.
pub const MIN_DEVICES: usize = 3;

/// An incident on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The device.
    pub device_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The ticket filed, with its subject.
    pub ticket: Option<(i64, String)>,
    /// The check that began failing.
    pub check_id: Option<String>,
}

/// A package that reached a version on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The device.
    pub device_id: i64,
    /// When the desk recorded it.
    pub at: DateTime<Utc>,
    /// The package.
    pub name: String,
    /// The version it was added or upgraded to.
    pub version: String,
}

/// A candidate found: a change and the incidents that followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The package.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Each affected device and when the change reached it.
    pub devices: BTreeMap<i64, DateTime<Utc>>,
    /// The incidents, oldest first.
    pub incidents: Vec<Incident>,
}

/// The packages an inventory change added or upgraded (name, version);
/// downgrades and removals are not a new version arriving.
pub fn arrivals(diff: &InventoryDiff) -> Vec<(String, String)> {
    let added = diff
        .software_added
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.version.clone()?)));
    let upgraded = diff
        .software_changed
        .iter()
        .filter(|c| c.kind == SoftwareChangeKind::Upgraded)
        .filter_map(|c| Some((c.name.clone(), c.new_version.clone()?)));
    added.chain(upgraded).collect()
}

/// The candidates among `incidents` and `changes`: every (package,
/// version) that reached at least [`MIN_DEVICES`] devices within
/// [`LEAD`] before an incident on that device. Largest first.
pub fn find(incidents: &[Incident], changes: &[Change]) -> Vec<Found> {
    let mut by_device: BTreeMap<i64, Vec<&Change>> = BTreeMap::new();
    for c in changes {
        by_device.entry(c.device_id).or_default().push(c);
    }
    let mut found: BTreeMap<(String, String), Found> = BTreeMap::new();
    for i in incidents {
        let Some(before) = by_device.get(&i.device_id) else {
            continue;
        };
        // One incident counts once per package version, however often
        // the device reported it.
        let mut seen = BTreeSet::new();
        for c in before {
            if c.at > i.at || i.at - c.at > LEAD || !seen.insert((&c.name, &c.version)) {
                continue;
            }
            let f = found
                .entry((c.name.clone(), c.version.clone()))
                .or_insert_with(|| Found {
                    name: c.name.clone(),
                    version: c.version.clone(),
                    devices: BTreeMap::new(),
                    incidents: Vec::new(),
                });
            let when = f.devices.entry(c.device_id).or_insert(c.at);
            *when = (*when).min(c.at);
            f.incidents.push(i.clone());
        }
    }
    let mut out: Vec<Found> = found
        .into_values()
        .filter(|f| f.devices.len() >= MIN_DEVICES)
        .map(|mut f| {
            f.incidents.sort_by_key(|i| i.at);
            f
        })
        .collect();
    out.sort_by(|a, b| {
        b.devices
            .len()
            .cmp(&a.devices.len())
            .then_with(|| (&a.name, &a.version).cmp(&(&b.name, &b.version)))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::hours(hours)
    }

    fn change(device_id: i64, hours: i64, name: &str, version: &str) -> Change {
        Change {
            device_id,
            at: at(hours),
            name: name.into(),
            version: version.into(),
        }
    }

    fn ticket(device_id: i64, hours: i64, id: i64) -> Incident {
        Incident {
            device_id,
            at: at(hours),
            ticket: Some((id, format!("ticket {id}"))),
            check_id: None,
        }
    }

    #[test]
    fn three_devices_after_one_version_make_a_candidate() {
        let changes = [
            change(1, 0, "libfoo", "2.0"),
            change(2, 1, "libfoo", "2.0"),
            change(3, 2, "libfoo", "2.0"),
            // Another version of it, and another package, on two only.
            change(4, 0, "libfoo", "1.9"),
            change(1, 0, "bar", "1"),
            change(2, 0, "bar", "1"),
        ];
        let check = Incident {
            device_id: 3,
            at: at(10),
            ticket: None,
            check_id: Some("printing".into()),
        };
        let incidents = [ticket(1, 5, 11), ticket(2, 47, 12), check, ticket(4, 3, 14)];
        let found = find(&incidents, &changes);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!((f.name.as_str(), f.version.as_str()), ("libfoo", "2.0"));
        assert_eq!(f.devices.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(f.devices[&2], at(1));
        let order: Vec<i64> = f.incidents.iter().map(|i| i.device_id).collect();
        assert_eq!(order, [1, 3, 2], "oldest first");
    }

    #[test]
    fn a_change_after_the_incident_or_long_before_it_is_no_cause() {
        let changes = [
            change(1, 0, "libfoo", "2.0"),
            change(2, 0, "libfoo", "2.0"),
            change(3, 10, "libfoo", "2.0"),
        ];
        // Device 2's ticket came 49 h after; device 3's before the change.
        let incidents = [ticket(1, 1, 1), ticket(2, 49, 2), ticket(3, 9, 3)];
        assert!(find(&incidents, &changes).is_empty());
        // Within 48 h on all three: a candidate.
        let incidents = [ticket(1, 1, 1), ticket(2, 48, 2), ticket(3, 10, 3)];
        assert_eq!(find(&incidents, &changes).len(), 1);
    }

    #[test]
    fn one_device_with_many_incidents_is_not_several_devices() {
        let changes = [change(1, 0, "libfoo", "2.0"), change(1, 1, "libfoo", "2.0")];
        let incidents: Vec<Incident> = (0..5).map(|n| ticket(1, 2 + n, n)).collect();
        assert!(find(&incidents, &changes).is_empty());
    }

    #[test]
    fn arrivals_are_additions_and_upgrades() {
        let diff: InventoryDiff = serde_json::from_value(serde_json::json!({
            "software_added": [{"name": "new", "source": "dpkg", "version": "1.0"}, {"name": "noversion", "source": "dpkg"}],
            "software_removed": [{"name": "gone", "source": "dpkg", "version": "3"}],
            "software_changed": [
                {"name": "up", "source": "dpkg", "old_version": "1", "new_version": "2", "kind": "upgraded"},
                {"name": "down", "source": "dpkg", "old_version": "2", "new_version": "1", "kind": "downgraded"},
            ],
        }))
        .unwrap();
        assert_eq!(
            arrivals(&diff),
            [("new".into(), "1.0".into()), ("up".into(), "2".into())]
        );
    }
}
