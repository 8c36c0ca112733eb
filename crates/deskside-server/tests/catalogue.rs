//! The software catalogue's counts, on every backend: kept by each
//! inventory write (not counted per page), they must equal a recount of
//! the devices' software after upgrades, removals, packages in two
//! versions, repeated uploads, and many devices uploading at once; and the
//! device search by package and version reads the same rows.

#![allow(clippy::unwrap_used, clippy::manual_is_multiple_of)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use deskside_server::store::{DeviceFilter, InventoryFacts, NewEnrollment, Store};

type Software = Vec<(String, String)>;

fn packages(list: &[(&str, &str)]) -> Software {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// Device `i`'s software in `round`: everyone has bash; openssl 3.0.11,
/// upgraded to 3.0.13 on even devices in round 1; vim on devices not
/// divisible by 3, removed from odd ones in round 1; two kernels on every
/// fourth device; one package of its own.
fn software(i: usize, round: u32) -> Software {
    let mut s = packages(&[("bash", "5.2.15")]);
    let openssl = if round == 1 && i % 2 == 0 {
        "3.0.13"
    } else {
        "3.0.11"
    };
    s.push(("openssl".into(), openssl.into()));
    if i % 3 != 0 && !(round == 1 && i % 2 == 1) {
        s.push(("vim".into(), "9.0".into()));
    }
    if i % 4 == 0 {
        s.push(("linux-image".into(), "6.1.0".into()));
        s.push(("linux-image".into(), "6.1.0".into()));
        s.push(("linux-image".into(), "6.6.0".into()));
    }
    s.push((format!("tool-{i}"), format!("{round}.0")));
    s
}

/// Devices per (name, version) and per name, counted from the inventories.
fn expected(all: &[Software]) -> (BTreeMap<(String, String), i64>, BTreeMap<String, i64>) {
    let mut versions = BTreeMap::new();
    let mut names = BTreeMap::new();
    for s in all {
        let unique: BTreeSet<&(String, String)> = s.iter().collect();
        for p in &unique {
            *versions.entry((*p).clone()).or_insert(0) += 1;
        }
        for n in unique.iter().map(|(n, _)| n).collect::<BTreeSet<_>>() {
            *names.entry(n.clone()).or_insert(0) += 1;
        }
    }
    (versions, names)
}

async fn upload<S: Store>(s: &S, id: i64, round: u32, soft: Software) {
    s.save_inventory(
        id,
        &format!("hash-{id}-{round}"),
        "{}",
        None,
        &InventoryFacts {
            hostname: None,
            os_name: Some("Debian".into()),
            os_version: None,
            users: None,
            software: soft,
        },
        Utc::now(),
    )
    .await
    .unwrap();
}

async fn check<S: Store>(s: &S, all: &[Software]) {
    let (versions, names) = expected(all);
    let cat = s.software(None, None, 500).await.unwrap();
    let got_names: BTreeMap<String, i64> =
        cat.iter().map(|e| (e.name.clone(), e.devices)).collect();
    let got_versions: BTreeMap<(String, String), i64> = cat
        .iter()
        .flat_map(|e| {
            e.versions
                .iter()
                .map(|(v, n)| ((e.name.clone(), v.clone()), *n))
        })
        .collect();
    assert_eq!(got_names, names);
    assert_eq!(got_versions, versions);
}

async fn counts_follow_inventories<S: Store + Clone + Send + Sync + 'static>(s: S) {
    const DEVICES: usize = 24;
    let mut ids = Vec::new();
    for i in 0..DEVICES {
        let key = format!("dev-{i}");
        let e = s
            .enroll_device(&NewEnrollment {
                device_key: Some(&key),
                serial_number: None,
                hostname: Some(&key),
                token_hash: &key,
                public_key: Some(&key),
            })
            .await
            .unwrap();
        ids.push(e.device_id);
    }
    // Every device uploads at once, twice per round (an agent retrying):
    // shared counters are updated by many writers in parallel.
    for round in 0..2 {
        let mut tasks = Vec::new();
        for (i, id) in ids.iter().copied().enumerate() {
            for _ in 0..2 {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    upload(&s, id, round, software(i, round)).await;
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let all: Vec<Software> = (0..DEVICES).map(|i| software(i, round)).collect();
        check(&s, &all).await;
    }
    // Round 1 dropped every device's round-0 tool and vim from odd devices;
    // nothing counts zero devices.
    let cat = s.software(Some("tool-1"), None, 500).await.unwrap();
    assert!(
        cat.iter()
            .all(|e| e.versions.iter().all(|(v, n)| v == "1.0" && *n == 1))
    );

    // The device search reads the same rows: openssl older than 3.0.13 is
    // on the odd devices.
    let versions = s.software_versions("openssl", true).await.unwrap();
    assert_eq!(
        versions.iter().collect::<BTreeSet<_>>(),
        ["3.0.11".to_owned(), "3.0.13".to_owned()].iter().collect()
    );
    let older = s
        .list_devices(&DeviceFilter {
            software: Some("openssl".into()),
            software_exact: true,
            software_versions: Some(vec!["3.0.11".into()]),
            limit: 100,
            ..DeviceFilter::default()
        })
        .await
        .unwrap();
    let want: Vec<i64> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(older.iter().map(|d| d.id).collect::<Vec<_>>(), want);
    // Substring search over names, paged by id.
    let vim = s
        .list_devices(&DeviceFilter {
            software: Some("VI".into()),
            limit: 5,
            ..DeviceFilter::default()
        })
        .await
        .unwrap();
    let with_vim: Vec<i64> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0 && i % 2 == 0)
        .map(|(_, id)| *id)
        .take(5)
        .collect();
    assert_eq!(vim.iter().map(|d| d.id).collect::<Vec<_>>(), with_vim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_counts_follow_inventories() {
    let (s, _dir) = common::sqlite().await;
    counts_follow_inventories(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_counts_follow_inventories() {
    if let Some(s) = common::postgres().await {
        counts_follow_inventories(s).await;
    }
}
