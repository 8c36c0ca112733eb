//! Technician endpoints for devices: search, detail, metric charts,
//! inventory changes and the software catalogue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use deskside_protocol::{CheckResult, ErrorCode, Inventory, InventoryDiff, Ticket};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ticket_views::ticket_json;
use super::{ApiError, ApiQuery, AppState, UserAuth, bad_query, page_limit};
use crate::metric_tiers::{self, Agg, Window};
use crate::store::{DeviceFilter, DeviceSummary, Store};

/// A device in the technician API.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeviceView {
    id: i64,
    hostname: Option<String>,
    serial_number: Option<String>,
    agent_version: Option<String>,
    /// Overall health at the last check-in: `ok`, `warning`, `critical`,
    /// `unknown`.
    health: Option<String>,
    last_seen: Option<DateTime<Utc>>,
    enrolled_at: DateTime<Utc>,
    /// OS name from the last inventory.
    os_name: Option<String>,
    os_version: Option<String>,
    /// Last known logged-in users.
    users: Vec<String>,
    /// The device this one likely duplicates: the same machine enrolled
    /// again without its key (re-imaged), or a clone. Never merged
    /// automatically.
    duplicate_of: Option<i64>,
    /// When it was revoked (its token no longer works).
    revoked_at: Option<DateTime<Utc>>,
    /// It has not checked in for longer than the desk's `offline_after`
    /// (or never has).
    offline: bool,
}

impl DeviceView {
    fn new(d: DeviceSummary, offline_after: std::time::Duration) -> Self {
        let offline_after =
            chrono::TimeDelta::from_std(offline_after).unwrap_or(chrono::TimeDelta::MAX);
        Self {
            offline: d
                .last_seen
                .is_none_or(|seen| Utc::now().signed_duration_since(seen) > offline_after),
            id: d.id,
            hostname: d.hostname,
            serial_number: d.serial_number,
            agent_version: d.agent_version,
            health: d.health,
            last_seen: d.last_seen,
            enrolled_at: d.enrolled_at,
            os_name: d.os_name,
            os_version: d.os_version,
            users: d
                .users
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            duplicate_of: d.duplicate_of,
            revoked_at: d.revoked_at,
        }
    }
}

/// Query of `GET /api/v1/devices`. Text filters match substrings,
/// ignoring case.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceQuery {
    /// Host name contains.
    search: Option<String>,
    /// A logged-in user's name contains.
    user: Option<String>,
    /// OS name or version contains.
    os: Option<String>,
    /// An installed package's name contains.
    software: Option<String>,
    /// `software` is a package's whole name (ignoring case), not a part.
    software_exact: Option<bool>,
    /// … in exactly this version (with `software`).
    software_version: Option<String>,
    /// … in a version older than this one (with `software`, not with
    /// `software_version`), by the version ordering agents use
    /// (`deskside_protocol::compare_versions`: Debian's, which reads RPM
    /// and Windows versions alike). Packages without a version never match.
    software_older_than: Option<String>,
    /// `ok`, `warning`, `critical` or `unknown` (which includes devices
    /// that have reported no health yet).
    health: Option<String>,
    /// This check (by id) is failing on it: warning or critical.
    failing_check: Option<String>,
    /// Seen at or after (RFC 3339).
    seen_after: Option<DateTime<Utc>>,
    /// Not seen since (RFC 3339); never-seen devices match too.
    seen_before: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size, 1–500 (default 50).
    limit: Option<u32>,
}

/// A page of devices.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DevicePage {
    devices: Vec<DeviceView>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<i64>,
}

fn text_filter(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.len() > 256 => Err(bad_query(format!("{name} is longer than 256 bytes"))),
        Some(v) if v.is_empty() => Ok(None),
        v => Ok(v),
    }
}

/// `GET /api/v1/devices`: devices page by page (cursor pagination).
pub(super) async fn list_devices<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<DeviceQuery>,
) -> Result<Json<DevicePage>, ApiError> {
    let limit = page_limit(q.limit)?;
    if let Some(h) = &q.health
        && !["ok", "warning", "critical", "unknown"].contains(&h.as_str())
    {
        return Err(bad_query("health must be ok, warning, critical or unknown"));
    }
    let software = text_filter("software", q.software)?;
    let older_than = text_filter("software_older_than", q.software_older_than)?;
    let software_versions = match (&software, older_than) {
        (_, None) => None,
        (None, Some(_)) => return Err(bad_query("software_older_than needs software")),
        (Some(_), Some(_)) if q.software_version.is_some() => {
            return Err(bad_query(
                "software_version and software_older_than do not go together",
            ));
        }
        (Some(name), Some(bound)) => {
            let older: Vec<String> = state
                .store
                .software_versions(name, q.software_exact.unwrap_or(false))
                .await?
                .into_iter()
                .filter(|v| {
                    !v.is_empty()
                        && deskside_protocol::compare_versions(v, &bound)
                            == std::cmp::Ordering::Less
                })
                .collect();
            if older.is_empty() {
                return Ok(Json(DevicePage {
                    devices: Vec::new(),
                    next_cursor: None,
                }));
            }
            Some(older)
        }
    };
    let filter = DeviceFilter {
        hostname: text_filter("search", q.search)?,
        user: text_filter("user", q.user)?,
        os: text_filter("os", q.os)?,
        software,
        software_exact: q.software_exact.unwrap_or(false),
        software_version: text_filter("software_version", q.software_version)?,
        software_versions,
        health: q.health,
        failing_check: text_filter("failing_check", q.failing_check)?,
        seen_after: q.seen_after,
        seen_before: q.seen_before,
        after_id: q.cursor.unwrap_or(0),
        limit,
    };
    let devices = state.store.list_devices(&filter).await?;
    let next_cursor = (devices.len() == limit as usize)
        .then(|| devices.last().map(|d| d.id))
        .flatten();
    Ok(Json(DevicePage {
        devices: devices
            .into_iter()
            .map(|d| DeviceView::new(d, state.offline_after))
            .collect(),
        next_cursor,
    }))
}

fn device_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such device")
}

async fn known_device<S: Store>(state: &AppState<S>, raw: &str) -> Result<DeviceSummary, ApiError> {
    let id: i64 = raw.parse().map_err(|_| device_not_found())?;
    state.store.device(id).await?.ok_or_else(device_not_found)
}

/// `GET /api/v1/devices/{id}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeviceDetail {
    device: DeviceView,
    inventory_hash: Option<String>,
    /// The current inventory.
    inventory: Option<Inventory>,
    /// The latest result of each check.
    check_results: Vec<CheckResult>,
    /// The last 200 changes of its checks' states, newest first.
    transitions: Vec<TransitionView>,
    /// The device's tickets, newest first.
    tickets: Vec<Ticket>,
}

/// One change of a check's state on a device.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransitionView {
    check_id: String,
    /// `ok`, `warning`, `critical` or `unknown`; null for the check's
    /// first result.
    from: Option<String>,
    /// The state it changed to.
    to: String,
    /// When the desk received it.
    at: DateTime<Utc>,
}

/// `GET /api/v1/devices/{id}`: the device, its inventory, health, latest
/// check results, recent metrics and tickets.
pub(super) async fn get_device<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    Path(raw): Path<String>,
) -> Result<Json<DeviceDetail>, ApiError> {
    let device = known_device(&state, &raw).await?;
    let id = device.id;
    let inventory = state.store.current_inventory(id).await?;
    // Rows this version cannot read are left out rather than failing the
    // whole view.
    let check_results = state
        .store
        .check_results(id)
        .await?
        .into_iter()
        .filter_map(|(_, _, json)| serde_json::from_str(&json).ok())
        .collect();
    let transitions = state
        .store
        .check_transitions(id, 200)
        .await?
        .into_iter()
        .map(|t| TransitionView {
            check_id: t.check_id,
            from: t.from_state,
            to: t.to_state,
            at: t.at,
        })
        .collect();
    let tickets = state
        .store
        .device_tickets(id)
        .await?
        .into_iter()
        .map(|t| ticket_json(t, Vec::new(), Vec::new()))
        .collect();
    Ok(Json(DeviceDetail {
        device: DeviceView::new(device, state.offline_after),
        inventory_hash: inventory.as_ref().map(|(h, _)| h.clone()),
        inventory: inventory.and_then(|(_, body)| serde_json::from_str(&body).ok()),
        check_results,
        transitions,
        tickets,
    }))
}

/// Query of `GET /api/v1/devices/{id}/metrics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// Start of the range (RFC 3339).
    from: DateTime<Utc>,
    /// End of the range (RFC 3339): after `from`, at most 400 days later.
    to: DateTime<Utc>,
    /// Bucket length in seconds, at least 60 (about 360 buckets when
    /// absent), and at most 5000 buckets. Rounded up to whole minutes, and
    /// to whole hours when the range reaches back more than 48 hours, where
    /// the desk keeps hourly rollups only.
    step: Option<i64>,
}

/// One series of a device's metrics, bucketed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetricSeries {
    /// `kind` or `kind:instance`, as stored.
    name: String,
    /// `cpu`, `load1`, `memory_used`, `swap_used`, `processes`,
    /// `volume_used`, `net_rx`, `net_tx`, `temperature` or `battery`.
    kind: String,
    /// The volume's mount point, the network interface or the battery.
    instance: Option<String>,
    /// `percent`, `bytes`, `bytes_per_second`, `celsius`, `count` or
    /// `none`.
    unit: String,
    /// Per bucket, in the order of `times`; null where no value fell.
    min: Vec<Option<f64>>,
    /// Per bucket, the average of every value that fell in it.
    avg: Vec<Option<f64>>,
    /// Per bucket: spikes survive downsampling here.
    max: Vec<Option<f64>>,
}

/// `GET /api/v1/devices/{id}/metrics`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeviceMetrics {
    /// The bucket length used, in seconds.
    step: i64,
    /// The start of each bucket (Unix seconds). Buckets are aligned to
    /// multiples of `step`; the first holds `from` and the last `to`.
    times: Vec<i64>,
    /// By name.
    series: Vec<MetricSeries>,
}

/// `GET /api/v1/devices/{id}/metrics`: the device's metrics over a range,
/// min / avg / max per bucket, from the full-resolution samples and the
/// hourly rollups the desk keeps.
pub(super) async fn device_metrics<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    Path(raw): Path<String>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<DeviceMetrics>, ApiError> {
    let device = known_device(&state, &raw).await?;
    let window = Window::plan(
        q.from.timestamp(),
        q.to.timestamp(),
        q.step,
        Utc::now().timestamp(),
    )
    .map_err(|e| bad_query(e.to_string()))?;
    let series = metric_tiers::chart(&state.store, device.id, window)
        .await?
        .into_iter()
        .map(|(name, aggs)| {
            let (kind, instance) = metric_tiers::split_name(&name);
            let pick = |f: fn(&Agg) -> f64| aggs.iter().map(|a| a.as_ref().map(f)).collect();
            MetricSeries {
                kind: kind.to_owned(),
                instance: instance.map(str::to_owned),
                unit: metric_tiers::unit_of(kind).to_owned(),
                min: pick(|a| a.min),
                avg: pick(Agg::avg),
                max: pick(|a| a.max),
                name,
            }
        })
        .collect();
    Ok(Json(DeviceMetrics {
        step: window.step,
        times: window.times(),
        series,
    }))
}

/// `GET /api/v1/devices/{id}/glpi`: the device's current inventory in
/// GLPI's native inventory format, as a download (`<host>.json`) to import
/// into GLPI or feed its inventory endpoint. Processes and environment
/// variables are not part of it: the desk never receives them.
pub(super) async fn device_glpi<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    Path(raw): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let device = known_device(&state, &raw).await?;
    let inventory: Inventory = state
        .store
        .current_inventory(device.id)
        .await?
        .and_then(|(_, body)| serde_json::from_str(&body).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "this device has sent no inventory yet",
            )
        })?;
    let doc = deskside_protocol::glpi::to_glpi(&inventory);
    // A file name from the device's host name, reduced to characters no
    // header or file system misreads.
    let name: String = device
        .hostname
        .as_deref()
        .unwrap_or("device")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let mut resp = Json(doc).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "attachment; filename=\"{name}-{}.glpi.json\"",
        device.id
    )) {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// One recorded inventory change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeviceInventoryChange {
    changed_at: DateTime<Utc>,
    diff: InventoryDiff,
}

/// Query of `GET /api/v1/devices/{id}/inventory/changes`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Changes per page, 1–100 (default 20).
    limit: Option<u32>,
}

/// `GET /api/v1/devices/{id}/inventory/changes`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangesPage {
    /// Newest first. A page holds at most `limit` changes and stops early
    /// past 4 MiB of diffs (it always holds at least one).
    changes: Vec<DeviceInventoryChange>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<i64>,
}

/// The diffs one page of changes may carry before it ends early.
const CHANGES_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// `GET /api/v1/devices/{id}/inventory/changes`: what changed, newest
/// first, one bounded page at a time.
pub(super) async fn device_changes<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    Path(raw): Path<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Result<Json<ChangesPage>, ApiError> {
    let device = known_device(&state, &raw).await?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(bad_query("limit must be between 1 and 100"));
    }
    let rows = state
        .store
        .inventory_changes(device.id, q.cursor.unwrap_or(0).max(0), limit)
        .await?;
    let full = rows.len() == limit as usize;
    let mut changes = Vec::new();
    let (mut bytes, mut last_id, mut cut) = (0usize, None, false);
    for (id, changed_at, diff) in rows {
        if !changes.is_empty() && bytes + diff.len() > CHANGES_PAGE_BYTES {
            cut = true;
            break;
        }
        bytes += diff.len();
        last_id = Some(id);
        if let Ok(diff) = serde_json::from_str(&diff) {
            changes.push(DeviceInventoryChange { changed_at, diff });
        }
    }
    Ok(Json(ChangesPage {
        changes,
        next_cursor: last_id.filter(|_| full || cut),
    }))
}

/// Query of `GET /api/v1/software`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoftwareQuery {
    /// Package name contains (ignoring case).
    search: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Names per page, 1–500 (default 50).
    limit: Option<u32>,
}

/// One version of a package.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SoftwareVersion {
    /// Version string; empty when the package manager gave none.
    version: String,
    /// Devices that have it.
    devices: i64,
}

/// A package across the fleet.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SoftwareView {
    name: String,
    /// Devices that have any version.
    devices: i64,
    /// Newest first, by the agents' version order.
    versions: Vec<SoftwareVersion>,
}

/// A page of the software catalogue.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SoftwarePage {
    /// By name.
    software: Vec<SoftwareView>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// `GET /api/v1/software`: each package with its versions and how many
/// devices have each.
pub(super) async fn software<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<SoftwareQuery>,
) -> Result<Json<SoftwarePage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let search = text_filter("search", q.search)?;
    let cursor = text_filter("cursor", q.cursor)?;
    let entries = state
        .store
        .software(search.as_deref(), cursor.as_deref(), limit)
        .await?;
    let next_cursor = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.name.clone()))
        .flatten();
    Ok(Json(SoftwarePage {
        software: entries
            .into_iter()
            .map(|e| SoftwareView {
                devices: e.devices,
                name: e.name,
                versions: {
                    // Newest first, in the version order agents use (the
                    // database sorts them as text: 10.0 before 9.0).
                    let mut v: Vec<SoftwareVersion> = e
                        .versions
                        .into_iter()
                        .map(|(version, devices)| SoftwareVersion { version, devices })
                        .collect();
                    v.sort_by(|a, b| deskside_protocol::compare_versions(&b.version, &a.version));
                    v
                },
            })
            .collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_offline_once_silent_for_longer_than_the_setting() {
        let after = std::time::Duration::from_secs(600);
        let seen = |ago: i64| DeviceSummary {
            last_seen: Some(Utc::now() - chrono::TimeDelta::seconds(ago)),
            ..Default::default()
        };
        assert!(!DeviceView::new(seen(30), after).offline);
        assert!(DeviceView::new(seen(601), after).offline);
        assert!(
            DeviceView::new(DeviceSummary::default(), after).offline,
            "never seen"
        );
    }
}
