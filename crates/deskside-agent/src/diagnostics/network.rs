//! Network state for a diagnostics bundle: interfaces, the default route,
//! DNS servers, and whether (and how fast) the desk answers from here.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use deskside_protocol::NetworkInterface;

pub use deskside_protocol::diagnostics::{DefaultRoute, NetworkState, Reachability};

/// The current state; `desk_url` is probed with a TCP connection of at
/// most `timeout`.
pub fn state(
    interfaces: Vec<NetworkInterface>,
    desk_url: Option<&str>,
    timeout: Duration,
) -> NetworkState {
    NetworkState {
        interfaces,
        default_route: std::fs::read_to_string("/proc/net/route")
            .ok()
            .and_then(|t| default_route(&t)),
        dns_servers: std::fs::read_to_string("/etc/resolv.conf")
            .map(|t| dns_servers(&t))
            .unwrap_or_default(),
        desk: desk_url.map(|u| probe(u, timeout)),
    }
}

/// The default route from Linux's `/proc/net/route` (addresses are
/// little-endian hex).
fn default_route(table: &str) -> Option<DefaultRoute> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 || cols[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(cols[2], 16).ok()?;
        Some(DefaultRoute {
            interface: cols[0].to_owned(),
            gateway: std::net::Ipv4Addr::from(gw.swap_bytes()).to_string(),
        })
    })
}

fn dns_servers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn probe(url: &str, timeout: Duration) -> Reachability {
    let mut r = Reachability {
        url: url.to_owned(),
        addresses: Vec::new(),
        reachable: false,
        connect_ms: None,
        error: None,
    };
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => {
            r.error = Some(format!("not a URL: {e}"));
            return r;
        }
    };
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        r.error = Some("the URL names no host".into());
        return r;
    };
    let addrs: Vec<std::net::SocketAddr> =
        match (host.trim_matches(['[', ']']), port).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                r.error = Some(format!("cannot resolve {host}: {e}"));
                return r;
            }
        };
    r.addresses = addrs.iter().map(|a| a.ip().to_string()).collect();
    let Some(first) = addrs.first() else {
        r.error = Some(format!("{host} resolves to no address"));
        return r;
    };
    let started = Instant::now();
    match TcpStream::connect_timeout(first, timeout) {
        Ok(_) => {
            r.reachable = true;
            r.connect_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        }
        Err(e) => r.error = Some(format!("cannot connect to {first}: {e}")),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_default_route_and_dns_servers() {
        let table = "Iface\tDestination\tGateway \tFlags\n\
                     eth0\t0000A8C0\t00000000\t0001\n\
                     eth0\t00000000\t0100A8C0\t0003\n";
        assert_eq!(
            default_route(table),
            Some(DefaultRoute {
                interface: "eth0".into(),
                gateway: "192.168.0.1".into()
            })
        );
        assert_eq!(default_route("Iface\tDestination\n"), None);
        assert_eq!(
            dns_servers("# x\nnameserver 10.0.0.2\nsearch corp\nnameserver ::1\n"),
            vec!["10.0.0.2".to_owned(), "::1".to_owned()]
        );
    }

    #[test]
    fn probes_the_desk() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let up = probe(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2));
        assert!(up.reachable && up.connect_ms.is_some(), "{up:?}");
        // A port held by a socket that does not listen: connecting is
        // refused, and no test running beside this one can take the port
        // meanwhile (a dropped listener's port could be, and then was,
        // handed to another test's listener).
        let closed = tokio::net::TcpSocket::new_v4().unwrap();
        closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = closed.local_addr().unwrap().port();
        let down = probe(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2));
        assert!(!down.reachable, "{down:?}");
        assert!(down.error.unwrap().contains("cannot connect"));
        assert!(probe("nonsense", Duration::from_secs(1)).error.is_some());
    }
}
