//! `deskside-agent inventory --format glpi` against FusionInventory on the
//! same machine, section by section: what GLPI users get from the agent
//! they know, Deskside gives them too (the test script installs
//! `fusioninventory-agent` from Debian). The document stays valid against
//! GLPI's schema with every section filled, processes and environment
//! included.

#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

type Section = BTreeMap<String, String>;

/// FusionInventory's XML: each section's entries, as key → text (nested
/// elements left out).
fn fusion() -> BTreeMap<String, Vec<Section>> {
    let bin = "/usr/bin/fusioninventory-inventory";
    assert!(
        Path::new(bin).exists(),
        "fusioninventory-agent is missing (scripts/test.sh installs it)"
    );
    let out = Command::new(bin).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let content = doc
        .descendants()
        .find(|n| n.has_tag_name("CONTENT"))
        .unwrap();
    let mut out: BTreeMap<String, Vec<Section>> = BTreeMap::new();
    for section in content.children().filter(roxmltree::Node::is_element) {
        let fields: Section = section
            .children()
            .filter(|n| n.is_element() && n.children().all(|c| c.is_text()))
            .map(|n| {
                (
                    n.tag_name().name().to_ascii_lowercase(),
                    n.text().unwrap_or_default().trim().to_owned(),
                )
            })
            .collect();
        out.entry(section.tag_name().name().to_ascii_lowercase())
            .or_default()
            .push(fields);
    }
    out
}

fn deskside(envs: bool) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args(["inventory", "--format", "glpi"])
        .env_remove("DESKSIDE_CONFIG")
        .env(
            "DESKSIDE_INVENTORY_GLPI_ENVIRONMENT",
            if envs { "true" } else { "false" },
        )
        .env("DESKSIDE_PARITY_MARKER", "present")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A field of ours as FusionInventory writes it.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn ours_list<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc["content"][key].as_array().map_or(&[], Vec::as_slice)
}

/// Every field FusionInventory filled in `theirs` that is in `keys` is in
/// `ours` with the same value.
fn same(section: &str, ours: &Value, theirs: &Section, keys: &[&str]) {
    for k in keys {
        let Some(t) = theirs.get(*k).filter(|t| !t.is_empty()) else {
            continue;
        };
        assert_eq!(
            &text(&ours[*k]),
            t,
            "{section}.{k}: Deskside {} / FusionInventory {t}",
            ours[*k]
        );
    }
}

#[test]
fn sections_match_fusioninventory_on_this_machine() {
    let theirs = fusion();
    let doc = deskside(false);
    let c = &doc["content"];

    // hardware: the same facts, FusionInventory's legacy fields included.
    let hw = &theirs["hardware"][0];
    same(
        "hardware",
        &c["hardware"],
        hw,
        &[
            "name",
            "memory",
            "dns",
            "defaultgateway",
            "osname",
            "osversion",
            "processorn",
            "processort",
            "vmsystem",
        ],
    );
    let ips = |s: &str| s.split('/').map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(
        ips(&text(&c["hardware"]["ipaddr"])),
        ips(&hw["ipaddr"]),
        "hardware.ipaddr"
    );

    // operatingsystem.
    let os = &theirs["operatingsystem"][0];
    same(
        "operatingsystem",
        &c["operatingsystem"],
        os,
        &[
            "name",
            "full_name",
            "fqdn",
            "hostid",
            "kernel_name",
            "kernel_version",
            "arch",
        ],
    );
    // FusionInventory reads /etc/debian_version (12.11); os-release says 12.
    assert!(
        os["version"].starts_with(&text(&c["operatingsystem"]["version"])),
        "operatingsystem.version: {} / {}",
        c["operatingsystem"]["version"],
        os["version"]
    );
    assert_eq!(
        text(&c["operatingsystem"]["dns_domain"]),
        os.get("dns_domain").cloned().unwrap_or_default(),
        "operatingsystem.dns_domain"
    );

    // bios: whatever the firmware tells FusionInventory, Deskside says too.
    if let Some(bios) = theirs.get("bios").and_then(|b| b.first()) {
        same(
            "bios",
            &c["bios"],
            bios,
            &[
                "bdate",
                "bmanufacturer",
                "bversion",
                "mmanufacturer",
                "mmodel",
                "msn",
                "smanufacturer",
                "smodel",
                "ssn",
            ],
        );
    }

    // cpus.
    same(
        "cpus",
        &ours_list(&doc, "cpus")[0],
        &theirs["cpus"][0],
        &["name", "manufacturer", "core", "thread"],
    );

    // storages, by name.
    for s in &theirs["storages"] {
        let ours = ours_list(&doc, "storages")
            .iter()
            .find(|o| o["name"] == s["name"].as_str())
            .unwrap_or_else(|| panic!("storage {} missing", s["name"]));
        same("storages", ours, s, &["disksize", "manufacturer", "type"]);
        assert_eq!(
            text(&ours["serial"]),
            s.get("serialnumber").cloned().unwrap_or_default()
        );
    }

    // drives, by mount point.
    for d in &theirs["drives"] {
        let ours = ours_list(&doc, "drives")
            .iter()
            .find(|o| text(&o["type"]) == d["type"])
            .unwrap_or_else(|| panic!("drive {} missing", d["type"]));
        same("drives", ours, d, &["filesystem", "total", "volumn"]);
    }

    // networks: the same interface/address entries, with the same facts.
    let key = |desc: &str, ip: &str, ip6: &str| format!("{desc} {ip} {ip6}");
    let theirs_net: BTreeMap<String, &Section> = theirs["networks"]
        .iter()
        .map(|n| {
            let get = |k: &str| n.get(k).cloned().unwrap_or_default();
            (
                key(&get("description"), &get("ipaddress"), &get("ipaddress6")),
                n,
            )
        })
        .collect();
    let ours_net: BTreeMap<String, &Value> = ours_list(&doc, "networks")
        .iter()
        .map(|n| {
            (
                key(
                    &text(&n["description"]),
                    &text(&n["ipaddress"]),
                    &text(&n["ipaddress6"]),
                ),
                n,
            )
        })
        .collect();
    assert_eq!(
        ours_net.keys().collect::<Vec<_>>(),
        theirs_net.keys().collect::<Vec<_>>(),
        "network entries"
    );
    for (k, t) in &theirs_net {
        let o = ours_net[k];
        same(
            "networks",
            o,
            t,
            &["ipmask", "ipsubnet", "ipgateway", "virtualdev", "type"],
        );
        if t.get("ipmask6").is_some() && t["description"] != "lo" {
            assert_eq!(text(&o["ipmask6"]), t["ipmask6"], "{k}: ipmask6");
        }
        // FusionInventory writes a loopback's MAC as zeros; Deskside leaves it out.
        if t.get("macaddr").is_some_and(|m| m != "00:00:00:00:00:00") {
            assert_eq!(text(&o["mac"]), t["macaddr"], "{k}: mac");
        }
        assert_eq!(
            text(&o["status"]),
            t["status"].to_ascii_lowercase(),
            "{k}: status (lower-case, as GLPI's schema wants)"
        );
    }

    // controllers, by PCI slot.
    let ours_ctl: BTreeMap<String, &Value> = ours_list(&doc, "controllers")
        .iter()
        .map(|c| (text(&c["pcislot"]), c))
        .collect();
    assert_eq!(
        ours_ctl.keys().cloned().collect::<BTreeSet<_>>(),
        theirs["controllers"]
            .iter()
            .map(|c| c["pcislot"].clone())
            .collect::<BTreeSet<_>>(),
        "controllers"
    );
    for t in &theirs["controllers"] {
        same(
            "controllers",
            ours_ctl[&t["pcislot"]],
            t,
            &[
                "vendorid",
                "productid",
                "pciclass",
                "manufacturer",
                "name",
                "caption",
                "pcisubsystemid",
                "rev",
                "type",
            ],
        );
    }

    // firewall.
    assert_eq!(
        text(&ours_list(&doc, "firewalls")[0]["status"]),
        theirs["firewall"][0]["status"],
        "firewall status"
    );

    // local users and groups.
    let ours_users: BTreeMap<String, &Value> = ours_list(&doc, "local_users")
        .iter()
        .map(|u| (text(&u["login"]), u))
        .collect();
    for t in &theirs["local_users"] {
        let o = ours_users
            .get(&t["login"])
            .unwrap_or_else(|| panic!("local user {} missing", t["login"]));
        same("local_users", o, t, &["id", "home", "shell"]);
        // FusionInventory copies the whole GECOS field; its first part is
        // the name.
        let name = t
            .get("name")
            .map(|n| n.split(',').next().unwrap_or_default());
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            assert_eq!(text(&o["name"]), name, "{}: name", t["login"]);
        }
    }
    assert_eq!(ours_users.len(), theirs["local_users"].len(), "local users");
    let groups = |names: Vec<(String, String)>| names.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        groups(
            ours_list(&doc, "local_groups")
                .iter()
                .map(|g| (text(&g["name"]), text(&g["id"])))
                .collect()
        ),
        groups(
            theirs
                .get("local_groups")
                .into_iter()
                .flatten()
                .map(|g| (g["name"].clone(), g["id"].clone()))
                .collect()
        ),
        "local groups with members"
    );

    // software: the same packages and versions (both read dpkg).
    let sw = |list: Vec<(String, String)>| list.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        sw(ours_list(&doc, "softwares")
            .iter()
            .filter(|s| s["from"] == "deb")
            .map(|s| (text(&s["name"]), text(&s["version"])))
            .collect()),
        sw(theirs["softwares"]
            .iter()
            .filter(|s| s.get("from").is_some_and(|f| f == "deb"))
            .map(|s| (s["name"].clone(), s["version"].clone()))
            .collect()),
        "software packages"
    );

    // processes: the ones both saw (the list moves) have the same owner
    // and command.
    let ours_ps: BTreeMap<String, &Value> = ours_list(&doc, "processes")
        .iter()
        .map(|p| (text(&p["pid"]), p))
        .collect();
    // A process may exec or exit and its pid be reused between the two
    // reads (CI runs scripts that do), so a few may differ; most must agree.
    let mut common = 0;
    let mut differ = Vec::new();
    for t in &theirs["processes"] {
        let Some(o) = ours_ps.get(&t["pid"]) else {
            continue;
        };
        common += 1;
        // ps truncates long users to a uid or a name with "+"; kernel threads are [name].
        let user_agrees = t["user"].ends_with('+') || text(&o["user"]) == t["user"];
        let ours_cmd = text(&o["cmd"]);
        // Kernel workers rename themselves as they work: both show [name].
        let cmd_agrees = if t["cmd"].starts_with('[') {
            ours_cmd.starts_with('[')
        } else {
            ours_cmd.starts_with(t["cmd"].trim_end_matches("..."))
                || t["cmd"].starts_with(&ours_cmd)
        };
        if !(user_agrees && cmd_agrees) {
            let clip = |s: &str| s.chars().take(120).collect::<String>();
            differ.push(format!(
                "pid {}: {} {} / {} {}",
                t["pid"],
                text(&o["user"]),
                clip(&ours_cmd),
                t["user"],
                clip(&t["cmd"])
            ));
        }
    }
    assert!(
        common * 2 > theirs["processes"].len(),
        "most processes seen by both: {common}"
    );
    assert!(
        differ.len() * 20 <= common,
        "owner and command differ for {} of {common} processes:\n{}",
        differ.len(),
        differ.join("\n")
    );

    // versionprovider, and no environment unless asked.
    assert_eq!(c["versionprovider"]["name"], "Deskside");
    assert!(
        c.get("envs").is_none(),
        "environment variables are off by default"
    );
}

#[test]
fn a_full_export_is_valid_against_glpis_schema() {
    let doc = deskside(true);
    let envs = ours_list(&doc, "envs");
    assert!(
        envs.iter()
            .any(|e| e["key"] == "DESKSIDE_PARITY_MARKER" && e["val"] == "present"),
        "environment on request"
    );
    for section in [
        "controllers",
        "local_users",
        "processes",
        "networks",
        "firewalls",
    ] {
        assert!(!ours_list(&doc, section).is_empty(), "{section} filled");
    }
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deskside-host/tests/fixtures/glpi/inventory.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "GLPI schema violations:\n{}",
        errors.join("\n")
    );
}

#[test]
fn privacy_settings_leave_accounts_and_processes_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(
        &cfg,
        "[privacy]\nuser_names = false\nprocess_list = false\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_deskside-agent"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "inventory",
            "--format",
            "glpi",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for section in ["local_users", "local_groups", "processes", "users"] {
        assert!(
            doc["content"].get(section).is_none(),
            "{section} must be left out"
        );
    }
}
