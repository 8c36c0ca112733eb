//! The `http` kind: one request, checked for status, body text and latency.

use std::io::Read;
use std::time::Instant;

use deskside_host::checks::Outcome;
use deskside_host::checks::network::latency_perf;
use deskside_host::checks::policy::Check;
use deskside_host::checks::threshold::{self, Direction};
use deskside_protocol::CheckState;

/// Most of a body read when looking for `body_contains`.
const BODY_CAP: u64 = 1024 * 1024;

fn critical(summary: String) -> Outcome {
    Outcome {
        state: CheckState::Critical,
        summary,
        perfdata: vec![],
        message: None,
    }
}

/// Describes a request error by its cause, not reqwest's wrapper text.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// `http`.
pub fn run(
    check: &Check,
    url: &str,
    status: &[u16],
    body_contains: Option<&str>,
    ca_file: Option<&str>,
    verify: bool,
) -> Outcome {
    let (config, _) = match super::tls::client_config(ca_file, verify) {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                state: CheckState::Unknown,
                summary: e,
                perfdata: vec![],
                message: None,
            };
        }
    };
    let client = match reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(check.timeout)
        .user_agent(concat!("deskside-agent/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                state: CheckState::Unknown,
                summary: describe(&e),
                perfdata: vec![],
                message: None,
            };
        }
    };
    let start = Instant::now();
    let mut resp = match client.get(url).send() {
        Ok(r) => r,
        Err(e) => return critical(format!("GET {url}: {}", describe(&e))),
    };
    let code = resp.status().as_u16();
    let mut body = Vec::new();
    if let Err(e) = (&mut resp).take(BODY_CAP).read_to_end(&mut body) {
        return critical(format!("GET {url}: reading the body: {e}"));
    }
    let elapsed = start.elapsed();
    let perf = vec![latency_perf(check, elapsed)];
    let ms = elapsed.as_secs_f64() * 1000.0;
    let status_ok = if status.is_empty() {
        (200..300).contains(&code)
    } else {
        status.contains(&code)
    };
    if !status_ok {
        let want = if status.is_empty() {
            "2xx".to_owned()
        } else {
            status
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        };
        return Outcome {
            state: CheckState::Critical,
            summary: format!("HTTP {code} from {url}, expected {want} ({ms:.0} ms)"),
            perfdata: perf,
            message: None,
        };
    }
    if let Some(text) = body_contains
        && !String::from_utf8_lossy(&body).contains(text)
    {
        return Outcome {
            state: CheckState::Critical,
            summary: format!("HTTP {code} from {url}, but the body does not contain {text:?}"),
            perfdata: perf,
            message: None,
        };
    }
    Outcome {
        state: threshold::evaluate(
            elapsed.as_secs_f64(),
            check.warn,
            check.crit,
            Direction::HighIsBad,
        ),
        summary: format!(
            "HTTP {code} from {url} in {ms:.0} ms ({} bytes)",
            body.len()
        ),
        perfdata: perf,
        message: None,
    }
}
