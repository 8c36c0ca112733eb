//! Network checks: a TCP port opens, a name resolves — each with latency
//! thresholds and a hard timeout.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use deskside_protocol::{CheckState, PerfValue};

use super::Outcome;
use super::message::Message;
use super::policy::Check;
use super::threshold::{self, Direction, Quantity};

/// An outcome with a plain English summary (the resolver's errors).
fn outcome(state: CheckState, summary: impl Into<String>) -> Outcome {
    Outcome {
        state,
        summary: summary.into(),
        perfdata: Vec::new(),
        message: None,
    }
}

/// Resolves on a helper thread: the system resolver has no timeout of its
/// own, and a dead DNS server must not hold the check past its deadline.
fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    let (tx, rx) = mpsc::channel();
    let target = (host.to_owned(), port);
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(format!("{host} has no addresses")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!(
            "resolving {host} timed out after {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// Perfdata for a response time, with the check's thresholds in seconds.
pub fn latency_perf(check: &Check, elapsed: Duration) -> PerfValue {
    let secs = |q: Quantity| threshold::perf_range(q.value(), Direction::HighIsBad);
    PerfValue {
        label: "time".into(),
        value: elapsed.as_secs_f64(),
        unit: Some("s".into()),
        warn: check.warn.map(secs),
        crit: check.crit.map(secs),
        min: Some(0.0),
        max: None,
    }
}

/// `tcp_connect`: opens (and closes) a connection to `host:port`.
pub fn tcp_connect(check: &Check, host: &str, port: u16) -> Outcome {
    let start = Instant::now();
    let deadline = start + check.timeout;
    let addrs = match resolve(host, port, check.timeout) {
        Ok(a) => a,
        Err(e) => return outcome(CheckState::Critical, e),
    };
    let mut last_err = String::new();
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last_err = format!(
                "timed out after {}",
                humantime::format_duration(check.timeout)
            );
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => {
                let elapsed = start.elapsed();
                drop(stream);
                let state = threshold::evaluate(
                    elapsed.as_secs_f64(),
                    check.warn,
                    check.crit,
                    Direction::HighIsBad,
                );
                return Outcome::said(
                    state,
                    Message::new("tcp.connected")
                        .arg("host", host)
                        .arg("port", port)
                        .arg("address", addr)
                        .arg("ms", format!("{:.1}", elapsed.as_secs_f64() * 1000.0)),
                    vec![latency_perf(check, elapsed)],
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last_err = format!(
                    "timed out after {}",
                    humantime::format_duration(check.timeout)
                );
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    Outcome::said(
        CheckState::Critical,
        Message::new("tcp.failed")
            .arg("host", host)
            .arg("port", port)
            .arg("error", last_err),
        Vec::new(),
    )
}

/// `dns_resolve`: `name` resolves, to `expect` when given.
pub fn dns_resolve(check: &Check, name: &str, expect: Option<IpAddr>) -> Outcome {
    let start = Instant::now();
    let addrs = match resolve(name, 0, check.timeout) {
        Ok(a) => a,
        Err(e) => return outcome(CheckState::Critical, e),
    };
    let elapsed = start.elapsed();
    let mut ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    ips.sort();
    ips.dedup();
    let list = ips
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(want) = expect
        && !ips.contains(&want)
    {
        return Outcome::said(
            CheckState::Critical,
            Message::new("dns.wrong")
                .arg("name", name)
                .arg("addresses", &list)
                .arg("expected", want),
            vec![latency_perf(check, elapsed)],
        );
    }
    Outcome::said(
        threshold::evaluate(
            elapsed.as_secs_f64(),
            check.warn,
            check.crit,
            Direction::HighIsBad,
        ),
        Message::new("dns.resolves")
            .arg("name", name)
            .arg("addresses", list)
            .arg("ms", format!("{:.1}", elapsed.as_secs_f64() * 1000.0)),
        vec![latency_perf(check, elapsed)],
    )
}
