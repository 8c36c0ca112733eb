//! `GET /api/v1/fleet`: the fleet at a glance for the console's overview.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiQuery, AppState, UserAuth, bad_query};
use crate::store::{FleetQuery, Store};

/// Query of `GET /api/v1/fleet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetParams {
    /// Days of the per-day series, ending today (UTC), 1–90 (default 30).
    days: Option<u32>,
}

/// A count by name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Count {
    /// The health state, agent version or check id.
    name: String,
    /// Devices.
    devices: i64,
}

/// A device silent for a while.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SilentDevice {
    id: i64,
    hostname: Option<String>,
    /// Null: it never checked in.
    last_seen: Option<DateTime<Utc>>,
}

/// One UTC day of the activity series.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    day: String,
    /// Tickets filed that day.
    tickets: i64,
    /// Checks that started failing that day (ok or unknown to warning or
    /// critical, or a first result that fails), over all devices.
    failures: i64,
}

/// `GET /api/v1/fleet`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Fleet {
    /// Devices (not revoked) by overall health; `unknown` includes devices
    /// that reported none yet.
    by_health: Vec<Count>,
    /// Devices not seen for longer than the desk's `offline_after`.
    offline: i64,
    /// Devices not seen for 7 days.
    unseen_7d: i64,
    /// Up to 20 of those, the longest silent first.
    unseen_devices: Vec<SilentDevice>,
    /// Agents by version, most devices first (empty: not reported).
    by_agent_version: Vec<Count>,
    /// The 10 checks failing on the most devices.
    failing_checks: Vec<Count>,
    /// Every day of the range, oldest first, empty days included.
    days: Vec<Day>,
}

/// `GET /api/v1/fleet`: devices by health, offline and silent devices,
/// agents by version, the checks failing on the most devices, and tickets
/// beside new check failures per day.
pub(super) async fn fleet<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<FleetParams>,
) -> Result<Json<Fleet>, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(bad_query("days must be between 1 and 90"));
    }
    let now = Utc::now();
    let today = now.date_naive();
    let first = today - TimeDelta::days(i64::from(days) - 1);
    let offline_after = TimeDelta::from_std(state.offline_after).unwrap_or(TimeDelta::MAX);
    let o = state
        .store
        .fleet_overview(&FleetQuery {
            offline_before: now - offline_after,
            unseen_before: now - TimeDelta::days(7),
            since: first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        })
        .await?;
    let count = |v: Vec<(String, i64)>| {
        v.into_iter()
            .map(|(name, devices)| Count { name, devices })
            .collect()
    };
    let on =
        |v: &[(String, i64)], day: &str| v.iter().find(|(d, _)| d == day).map_or(0, |(_, n)| *n);
    let series = first
        .iter_days()
        .take_while(|d| *d <= today)
        .map(|d| {
            let day = d.format("%Y-%m-%d").to_string();
            Day {
                tickets: on(&o.tickets_per_day, &day),
                failures: on(&o.failures_per_day, &day),
                day,
            }
        })
        .collect();
    Ok(Json(Fleet {
        by_health: count(o.by_health),
        offline: o.offline,
        unseen_7d: o.unseen,
        unseen_devices: o
            .unseen_devices
            .into_iter()
            .map(|(id, hostname, last_seen)| SilentDevice {
                id,
                hostname,
                last_seen,
            })
            .collect(),
        by_agent_version: count(o.by_agent_version),
        failing_checks: count(o.failing_checks),
        days: series,
    }))
}
