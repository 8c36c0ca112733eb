//! The network configuration around the interfaces: resolver (DNS
//! servers, domain, fully qualified name), default route and host id, and
//! per interface whether it is virtual, its driver and whether it is
//! wireless. Linux reads `/etc` and `/proc`/`/sys` under a root (fixtures in
//! tests).

use std::net::{Ipv4Addr, ToSocketAddrs};
use std::path::Path;

use deskside_protocol::NetworkInterface;

/// What `/etc/resolv.conf` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolver {
    /// `nameserver` lines, in order.
    pub servers: Vec<String>,
    /// `domain`, else the first `search` entry.
    pub domain: Option<String>,
}

/// Parses `resolv.conf`.
pub fn parse_resolv_conf(text: &str) -> Resolver {
    let mut r = Resolver::default();
    let mut search = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("nameserver"), Some(ip)) => r.servers.push(ip.to_owned()),
            (Some("domain"), Some(d)) => r.domain = Some(d.to_owned()),
            (Some("search"), Some(d)) if search.is_none() => search = Some(d.to_owned()),
            _ => {}
        }
    }
    if r.domain.is_none() {
        r.domain = search;
    }
    r
}

/// The default route from `/proc/net/route`: gateway and interface.
pub fn parse_proc_route(text: &str) -> Option<(Ipv4Addr, String)> {
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[1] != "00000000" || f[7] != "00000000" {
            return None;
        }
        // Little-endian hex, as the kernel prints it.
        let gw = u32::from_str_radix(f[2], 16).ok()?;
        Some((Ipv4Addr::from(gw.swap_bytes()), f[0].to_owned()))
    })
}

/// The fully qualified name of `hostname`: the name itself when it has a
/// dot, else the first dotted alias on its line of `hosts`.
pub fn fqdn(hostname: &str, hosts: Option<&str>) -> String {
    if hostname.contains('.') {
        return hostname.to_owned();
    }
    hosts
        .into_iter()
        .flat_map(str::lines)
        .map(|l| l.split('#').next().unwrap_or_default())
        .find_map(|l| {
            let names: Vec<&str> = l.split_whitespace().skip(1).collect();
            let short = |n: &&str| n.split('.').next() == Some(hostname);
            names
                .contains(&hostname)
                .then(|| names.iter().find(|n| n.contains('.') && short(n)).copied())
                .flatten()
        })
        .unwrap_or(hostname)
        .to_owned()
}

/// `gethostid()` as glibc computes it: `/etc/hostid` when present, else
/// the host name's first IPv4 address with its 16-bit halves swapped.
pub fn host_id(root: &Path, hostname: Option<&str>) -> Option<String> {
    if let Ok(bytes) = std::fs::read(root.join("etc/hostid"))
        && let Ok(b) = <[u8; 4]>::try_from(bytes.get(..4).unwrap_or_default())
    {
        return Some(format!("{:08x}", u32::from_ne_bytes(b)));
    }
    let addr = (hostname?, 0)
        .to_socket_addrs()
        .ok()?
        .find_map(|a| match a.ip() {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(_) => None,
        })?;
    // glibc reads the address as a native-endian word (the bytes as they
    // are in memory) and swaps its halves.
    let word = u32::from_ne_bytes(addr.octets());
    Some(format!("{:08x}", word.rotate_left(16)))
}

/// Linux: marks each interface virtual or not, with its driver, and
/// wireless, from `root/sys/class/net/<name>`.
pub fn annotate_interfaces_linux(root: &Path, interfaces: &mut [NetworkInterface]) {
    for i in interfaces {
        let dir = root.join("sys/class/net").join(&i.name);
        if !dir.exists() {
            continue;
        }
        let device = dir.join("device");
        i.virtual_device = Some(!device.exists());
        i.driver = std::fs::read_link(device.join("driver"))
            .ok()
            .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()));
        i.wireless = Some(dir.join("wireless").exists() || dir.join("phy80211").exists());
        // The loopback's operstate is "unknown": its IFF_UP flag says.
        if i.up.is_none()
            && let Some(flags) = std::fs::read_to_string(dir.join("flags"))
                .ok()
                .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        {
            i.up = Some(flags & 1 == 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_route_and_names() {
        let r = parse_resolv_conf(
            "# generated\nsearch corp.example.com example.com\nnameserver 10.0.0.53\nnameserver 10.0.1.53\n",
        );
        assert_eq!(r.servers, ["10.0.0.53", "10.0.1.53"]);
        assert_eq!(r.domain.as_deref(), Some("corp.example.com"));
        assert_eq!(
            parse_resolv_conf("domain a.example\nsearch b.example\n")
                .domain
                .as_deref(),
            Some("a.example")
        );
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(
            parse_proc_route(route),
            Some((Ipv4Addr::new(192, 0, 2, 1), "eth0".to_owned()))
        );
        assert_eq!(
            fqdn("pc1", Some("127.0.1.1 pc1.corp.example.com pc1\n")),
            "pc1.corp.example.com"
        );
        assert_eq!(fqdn("pc1", Some("127.0.0.1 localhost\n")), "pc1");
        assert_eq!(fqdn("pc1.example", None), "pc1.example");
    }

    #[test]
    fn host_id_from_etc_hostid_or_the_address() {
        let root = tempfile::tempdir().unwrap();
        // 127.0.0.1 gives 007f0100, as `hostid` prints on such a host.
        assert_eq!(
            host_id(root.path(), Some("127.0.0.1")).as_deref(),
            Some("007f0100")
        );
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/hostid"),
            0x1234_abcd_u32.to_ne_bytes(),
        )
        .unwrap();
        assert_eq!(host_id(root.path(), None).as_deref(), Some("1234abcd"));
    }
}
