//! Reports for the desk's managers: the KPIs over a period, split by team,
//! technician, category, priority or type, as JSON or CSV.

use super::*;
use crate::store::KpiGroup;

/// Query of `GET /api/v1/reports/kpis`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// From this day (`YYYY-MM-DD`, UTC) or instant (RFC 3339); default
    /// 30 days before `to`.
    from: Option<String>,
    /// To this day (exclusive) or instant; default now.
    to: Option<String>,
    /// `team`, `technician`, `category`, `priority` or `type`.
    group_by: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
    /// With `format=csv`: `figures` (default, one row per group) or
    /// `series` (one row per day).
    table: Option<String>,
}

fn instant(raw: &str, what: &str) -> Result<chrono::DateTime<Utc>, ApiError> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad_query(format!("{what} must be YYYY-MM-DD or an RFC 3339 instant")))
}

/// A report's period: `to` (default `now`) and `from` (default 30 days
/// before `to`), from before to, at most ten years.
fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> Result<(chrono::DateTime<Utc>, chrono::DateTime<Utc>), ApiError> {
    let to = match to {
        None | Some("") => now,
        Some(raw) => instant(raw, "to")?,
    };
    let from = match from {
        None | Some("") => to - chrono::TimeDelta::days(30),
        Some(raw) => instant(raw, "from")?,
    };
    if from >= to {
        return Err(bad_query("from must be before to"));
    }
    if to - from > chrono::TimeDelta::days(3660) {
        return Err(bad_query("the period is at most ten years"));
    }
    Ok((from, to))
}

/// `GET /api/v1/reports/kpis`.
pub(super) async fn kpis<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), now)?;
    let group = match q.group_by.as_deref() {
        None | Some("") => None,
        Some(g) => Some(KpiGroup::parse(g).ok_or_else(|| {
            bad_query(format!(
                "unknown group_by {g:?} (team, technician, category, priority, type)"
            ))
        })?),
    };
    let report = crate::kpi::report(&state.store, from, to, group, now).await?;
    match (q.format.as_deref(), q.table.as_deref()) {
        (None | Some("" | "json"), None) => Ok(Json(report).into_response()),
        (Some("csv"), None | Some("figures")) => Ok(csv(crate::kpi::figures_csv(&report), "kpis")),
        (Some("csv"), Some("series")) => Ok(csv(crate::kpi::series_csv(&report), "kpis-daily")),
        (Some("csv"), Some(other)) => Err(bad_query(format!(
            "unknown table {other:?} (figures, series)"
        ))),
        (None | Some("" | "json"), Some(_)) => Err(bad_query("table needs format=csv")),
        (Some(other), _) => Err(bad_query(format!("unknown format {other:?} (json, csv)"))),
    }
}

/// Query of `GET /api/v1/reports/deflection`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeflectionQuery {
    /// From this day (`YYYY-MM-DD`, UTC) or instant; default 30 days
    /// before `to`.
    from: Option<String>,
    /// To this day (exclusive) or instant; default now.
    to: Option<String>,
    /// Article titles in this language where they have it.
    lang: Option<deskside_protocol::ArticleLang>,
}

/// `GET /api/v1/reports/deflection`: reports begun in the tray in the
/// period, how many an article ended, and the articles that did.
pub(super) async fn deflection<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    ApiQuery(q): ApiQuery<DeflectionQuery>,
) -> Result<Json<deskside_protocol::Deflection>, ApiError> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), Utc::now())?;
    let rows = state.store.report_outcomes(from, to).await?;
    let mut figures = crate::kb::deflection(&rows);
    for a in &mut figures.useful {
        if let Some((row, texts)) = state.store.article(a.id).await?
            && let Some(hit) = crate::kb::hit_in(row, texts, q.lang)
        {
            a.title = hit.title;
        }
    }
    // A deleted article has no title left to show.
    figures.useful.retain(|a| !a.title.is_empty());
    Ok(Json(figures))
}

fn csv(body: String, name: &str) -> Response {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}
