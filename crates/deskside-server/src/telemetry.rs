//! Prometheus metrics of this server process (`GET /metrics`). Each node
//! counts its own traffic; Prometheus adds the nodes up.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    responses: [AtomicU64; 5],
    /// Devices enrolled (new or again).
    pub enrollments: AtomicU64,
    /// Check-ins recorded.
    pub checkins: AtomicU64,
    /// Inventories stored.
    pub inventories: AtomicU64,
    /// Tickets created (retries not counted).
    pub tickets: AtomicU64,
}

impl Metrics {
    /// Counts one response.
    pub fn response(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP deskside_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(o, "# TYPE deskside_http_responses_total counter");
        for (i, c) in self.responses.iter().enumerate() {
            let _ = writeln!(
                o,
                "deskside_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        for (name, help, c) in [
            (
                "deskside_enrollments_total",
                "Devices enrolled.",
                &self.enrollments,
            ),
            (
                "deskside_checkins_total",
                "Check-ins recorded.",
                &self.checkins,
            ),
            (
                "deskside_inventories_total",
                "Inventories stored.",
                &self.inventories,
            ),
            (
                "deskside_tickets_created_total",
                "Tickets created.",
                &self.tickets,
            ),
        ] {
            let _ = writeln!(
                o,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        o
    }
}

/// The service desk's gauges in the Prometheus text format.
pub fn render_service(g: &crate::store::ServiceGauges) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP deskside_open_tickets Open (new, open, pending) tickets by priority.\n# TYPE deskside_open_tickets gauge"
    );
    for p in 1..=5 {
        let n = g
            .open_by_priority
            .iter()
            .find(|x| x.0 == p)
            .map_or(0, |x| x.1);
        let _ = writeln!(o, "deskside_open_tickets{{priority=\"{p}\"}} {n}");
    }
    let _ = writeln!(
        o,
        "# HELP deskside_sla_at_risk_tickets Open tickets past an SLA warning, not yet breached.\n# TYPE deskside_sla_at_risk_tickets gauge\ndeskside_sla_at_risk_tickets {}",
        g.at_risk
    );
    let _ = writeln!(
        o,
        "# HELP deskside_sla_breached_open_tickets Open tickets with a breached SLA clock.\n# TYPE deskside_sla_breached_open_tickets gauge\ndeskside_sla_breached_open_tickets {}",
        g.breached_open
    );
    let _ = writeln!(
        o,
        "# HELP deskside_sla_breaches_total SLA breaches recorded, by clock.\n# TYPE deskside_sla_breaches_total counter"
    );
    for clock in ["first_response", "next_response", "resolution"] {
        let n = g
            .breaches_by_clock
            .iter()
            .find(|x| x.0 == clock)
            .map_or(0, |x| x.1);
        let _ = writeln!(o, "deskside_sla_breaches_total{{clock=\"{clock}\"}} {n}");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.response(StatusCode::OK);
        m.response(StatusCode::NOT_FOUND);
        m.response(StatusCode::NOT_FOUND);
        Metrics::inc(&m.checkins);
        let text = m.render();
        assert!(
            text.contains("deskside_http_responses_total{class=\"2xx\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("deskside_http_responses_total{class=\"4xx\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("deskside_checkins_total 1\n"), "{text}");
    }
}
