//! GLPI export: documents built from this machine and from a fully
//! populated laptop fixture validate against GLPI's published schema.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use deskside_host::collect::{CollectOptions, collect_inventory};
use deskside_host::glpi::to_glpi;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("glpi/inventory.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(doc: &Value) {
    let v = validator();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "GLPI schema violations:\n{}",
        errors.join("\n")
    );
}

#[test]
fn vendored_schema_matches_the_shared_spec() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/glpi/inventory.schema.json");
    if let Ok(spec) = std::fs::read(&shared) {
        assert_eq!(
            spec,
            std::fs::read(fixtures().join("glpi/inventory.schema.json")).unwrap()
        );
    }
}

#[test]
fn this_machine_exports_a_valid_glpi_document() {
    let inv = collect_inventory(&CollectOptions::default());
    let doc = to_glpi(&inv);
    assert_valid(&doc);
    assert_eq!(doc["itemtype"], "Computer");
    let softwares = doc["content"]["softwares"].as_array().map_or(0, Vec::len);
    assert_eq!(softwares, inv.software.len());
    assert!(doc["content"]["cpus"].is_array());
}

#[test]
fn a_laptop_with_every_section_exports_a_valid_glpi_document() {
    let opts = CollectOptions {
        root: fixtures().join("sysroot-laptop"),
        ..CollectOptions::default()
    };
    let inv = collect_inventory(&opts);
    assert_eq!(inv.hardware.batteries.len(), 2);
    assert_eq!(inv.hardware.gpus.len(), 1);
    assert_eq!(inv.os.timezone.as_ref().unwrap().name, "Asia/Seoul");
    let doc = to_glpi(&inv);
    assert_valid(&doc);
    let c = &doc["content"];
    assert_eq!(c["bios"]["smanufacturer"], "LENOVO");
    assert_eq!(c["bios"]["ssn"], "PF1ABCDE");
    assert_eq!(c["bios"]["bdate"], "2023-02-24");
    assert_eq!(c["hardware"]["chassis_type"], "Notebook");
    assert_eq!(c["batteries"][0]["capacity"], 57_000);
    assert_eq!(c["batteries"][0]["real_capacity"], 45_600);
    assert_eq!(
        c["videos"][0]["name"],
        "WhiskeyLake-U GT2 [UHD Graphics 620]"
    );
    assert_eq!(c["storages"][0]["name"], "nvme0n1");
    // Decimal megabytes, as GLPI's schema and example have them.
    assert_eq!(
        c["storages"][0]["disksize"],
        1_000_215_216u64 * 512 / 1_000_000
    );
    assert_eq!(c["versionprovider"]["name"], "Deskside");
    assert!(
        [
            "Physical",
            "KVM",
            "QEMU",
            "VMware",
            "VirtualBox",
            "Xen",
            "Hyper-V",
            "Docker",
            "lxc"
        ]
        .contains(&c["hardware"]["vmsystem"].as_str().unwrap()),
        "{}",
        c["hardware"]["vmsystem"]
    );
    let sw: Vec<&str> = c["softwares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(sw.contains(&"bash") && sw.contains(&"held-pkg"), "{sw:?}");
    assert!(
        c["softwares"][0]["install_date"].is_string()
            || c["softwares"][1]["install_date"].is_string()
    );
}

#[test]
fn an_invalid_document_is_caught_by_the_validator() {
    // Proof the validation above can fail: a bad date and a bad status.
    let mut doc = to_glpi(&collect_inventory(&CollectOptions {
        root: fixtures().join("sysroot-laptop"),
        ..CollectOptions::default()
    }));
    doc["content"]["bios"]["bdate"] = "24/02/2023".into();
    assert!(!validator().is_valid(&doc));
}
