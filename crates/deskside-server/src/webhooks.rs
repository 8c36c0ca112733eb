//! Webhooks: desk events fanned out to subscriptions as a durable outbox
//! of deliveries, each sent by one node at a time under a lease, signed
//! with HMAC-SHA256, retried with exponential backoff for 24 hours, and
//! never sent to loopback, link-local or private networks unless the
//! desk's configuration allows them (server-side request forgery).
//!
//! A receiver verifies `Deskside-Signature: v1=<hex>`, the HMAC-SHA256
//! of `"{Deskside-Timestamp}.{body}"` under the subscription's secret, and
//! drops a `Deskside-Delivery` it has seen (delivery is at least once: a
//! node that dies after sending and before recording resends after its
//! lease).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskside_protocol::{WebhookEvent, WebhookPayload};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::{AttemptOutcome, DeliveryRow, NewDelivery, Store, StoreResult};

/// How long a node holds a delivery it is sending.
pub const LEASE_SECS: i64 = 60;
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries claimed per round.
const CLAIM: u32 = 20;

/// The webhook event a desk event announces, if any.
pub fn event_of(kind: &str) -> Option<WebhookEvent> {
    Some(match kind {
        "ticket.created" => WebhookEvent::TicketCreated,
        "ticket.updated" | "comment.added" => WebhookEvent::TicketUpdated,
        "ticket.resolved" => WebhookEvent::TicketResolved,
        "sla.warning" => WebhookEvent::SlaWarning,
        "sla.breach" => WebhookEvent::SlaBreach,
        "check.failing" => WebhookEvent::CheckFailing,
        "check.recovered" => WebhookEvent::CheckRecovered,
        "device.enrolled" => WebhookEvent::DeviceEnrolled,
        "problem.candidate" => WebhookEvent::ProblemCandidate,
        _ => return None,
    })
}

/// The signature header's value for a body sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`: 10 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    (10_i64 << exp).min(3600)
}

/// A network given as `address/prefix` (`127.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not address/prefix"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = p
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{p:?} is not a prefix length up to {max}"))?;
        Ok(Self { addr, prefix })
    }
}

impl Network {
    /// Whether `ip` lies in it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether an address is on a network a webhook may reach without the
/// configuration allowing it: not loopback, private, link-local (cloud
/// metadata lives there), shared (CGNAT), unspecified, multicast,
/// broadcast, documentation or unique-local.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// Why a webhook address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an `http`/`https` URL with a host, or too long.
    #[error("{0}")]
    Malformed(String),
    /// The host does not resolve.
    #[error("{0} does not resolve")]
    Unresolved(String),
    /// It resolves to an address the desk does not send to.
    #[error(
        "{host} is {ip}, on a network the desk does not send to (allow it with webhook_allowed_networks)"
    )]
    Refused {
        /// The host.
        host: String,
        /// The address.
        ip: IpAddr,
    },
}

/// The URL checked for its form.
pub fn parse_url(raw: &str) -> Result<reqwest::Url, TargetError> {
    if raw.len() > 2000 {
        return Err(TargetError::Malformed(
            "the URL is longer than 2,000 characters".into(),
        ));
    }
    let url =
        reqwest::Url::parse(raw).map_err(|e| TargetError::Malformed(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Malformed("only http and https URLs".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::Malformed("the URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Malformed(
            "credentials do not belong in the URL".into(),
        ));
    }
    Ok(url)
}

/// Resolves the URL's host and checks every address it has: the first
/// one is where the delivery goes (pinned, so that a second lookup cannot
/// answer differently).
pub async fn resolve(url: &reqwest::Url, allowed: &[Network]) -> Result<SocketAddr, TargetError> {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // A resolver that does not answer must not hold a request (or
        // the delivery loop) for long.
        Err(_) => tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| TargetError::Unresolved(host.clone()))?
        .collect(),
    };
    if addrs.is_empty() {
        return Err(TargetError::Unresolved(host));
    }
    for a in &addrs {
        let ip = a.ip();
        if !is_public(ip) && !allowed.iter().any(|n| n.contains(ip)) {
            return Err(TargetError::Refused { host, ip });
        }
    }
    Ok(addrs[0])
}

/// The data of a device event: the device, and the check for check events.
fn device_data(device_id: i64, detail: Option<&str>) -> serde_json::Value {
    let d: serde_json::Value = detail
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let mut data = serde_json::json!({ "device": { "id": device_id, "hostname": d["hostname"] } });
    if d.get("check_id").is_some() {
        data["check"] = serde_json::json!({
            "id": d["check_id"], "state": d["state"], "summary": d["summary"],
        });
    }
    data
}

/// The body of a delivery of a desk event.
pub async fn payload<S: Store>(
    store: &S,
    e: &crate::store::EventRow,
    event: WebhookEvent,
) -> StoreResult<String> {
    let (event_id, ticket_id, at) = (e.id, e.ticket_id, e.at);
    if event == WebhookEvent::ProblemCandidate {
        let candidate: serde_json::Value = e
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let body = WebhookPayload {
            version: 1,
            id: event_id,
            event,
            at,
            data: serde_json::json!({ "candidate": candidate }),
        };
        return Ok(serde_json::to_string(&body).unwrap_or_default());
    }
    if let Some(device_id) = e.device_id {
        let body = WebhookPayload {
            version: 1,
            id: event_id,
            event,
            at,
            data: device_data(device_id, e.detail.as_deref()),
        };
        return Ok(serde_json::to_string(&body).unwrap_or_default());
    }
    let ticket = match ticket_id {
        Some(id) => store.ticket_work(id).await?,
        None => None,
    };
    let data = match ticket {
        Some(w) => serde_json::json!({ "ticket": {
            "id": w.row.id,
            "subject": w.row.subject,
            "status": w.row.status,
            "priority": w.row.priority,
            "type": w.row.ticket_type,
            "category": w.row.category,
            "team_id": w.team_id,
            "assignee_id": w.assignee_id,
            "requester_name": w.requester_name,
            "sla_state": w.sla_state,
            "sla_due_at": w.sla_due_at.and_then(|s| DateTime::from_timestamp(s, 0)),
        }}),
        None => serde_json::json!({ "ticket": { "id": ticket_id } }),
    };
    let body = WebhookPayload {
        version: 1,
        id: event_id,
        event,
        at,
        data,
    };
    Ok(serde_json::to_string(&body).unwrap_or_default())
}

/// Fans the desk events after the cursor out to the subscriptions that
/// want them; returns how many events it handled. Several nodes may run
/// it at once: one moves the cursor, the others change nothing.
pub async fn fan_out<S: Store>(store: &S) -> StoreResult<usize> {
    let mut handled = 0;
    // A bounded number of rounds per pass: the loop comes back.
    for _ in 0..10 {
        let from = store.webhook_cursor().await?;
        let events = store.events_after(from, 200).await?;
        let Some(last) = events.last().map(|e| e.id) else {
            break;
        };
        let hooks: Vec<(i64, Vec<WebhookEvent>)> = store
            .list_webhooks()
            .await?
            .into_iter()
            .filter(|w| w.active)
            .map(|w| (w.id, serde_json::from_str(&w.events).unwrap_or_default()))
            .collect();
        let mut deliveries = Vec::new();
        for e in &events {
            let Some(event) = event_of(&e.kind) else {
                continue;
            };
            let wanting: Vec<i64> = hooks
                .iter()
                .filter(|(_, evs)| evs.contains(&event))
                .map(|(id, _)| *id)
                .collect();
            if wanting.is_empty() {
                continue;
            }
            let body = payload(store, e, event).await?;
            for webhook_id in wanting {
                deliveries.push(NewDelivery {
                    webhook_id,
                    event_id: e.id,
                    event: event.as_str().to_owned(),
                    payload: body.clone(),
                    at: e.at,
                });
            }
        }
        if !store.fan_out(from, last, &deliveries).await? {
            // Another node moved the cursor: it made these deliveries.
            continue;
        }
        handled += events.len();
    }
    Ok(handled)
}

/// Sends one claimed delivery: what the attempt came to.
async fn attempt<S: Store>(
    store: &S,
    d: &DeliveryRow,
    allowed: &[Network],
    now: i64,
) -> AttemptOutcome {
    let failed = |status: Option<i64>, error: String| AttemptOutcome::Failed {
        status,
        error,
        retry_at: now + backoff(d.attempts),
    };
    let hook = match store.webhook(d.webhook_id).await {
        Ok(Some(h)) => h,
        Ok(None) => return failed(None, "the subscription is gone".into()),
        Err(e) => return failed(None, format!("storage: {e}")),
    };
    let url = match parse_url(&hook.url) {
        Ok(u) => u,
        Err(e) => return failed(None, e.to_string()),
    };
    let addr = match resolve(&url, allowed).await {
        Ok(a) => a,
        Err(e) => return failed(None, e.to_string()),
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = match client(&host, addr) {
        Ok(c) => c,
        Err(e) => return failed(None, format!("client: {e}")),
    };
    let timestamp = Utc::now().timestamp();
    let body = d.payload.clone().into_bytes();
    let signature = sign(&hook.secret, timestamp, &body);
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("deskside-event", &d.event)
        .header("deskside-delivery", d.event_id.to_string())
        .header("deskside-timestamp", timestamp.to_string())
        .header("deskside-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => AttemptOutcome::Delivered {
            status: i64::from(r.status().as_u16()),
        },
        Ok(r) => failed(
            Some(i64::from(r.status().as_u16())),
            format!("the receiver answered {}", r.status()),
        ),
        Err(e) => failed(None, format!("not delivered: {}", without_url(&e))),
    }
}

/// The client of one attempt: pinned to the address that was checked,
/// following no redirect (one could lead anywhere).
fn client(host: &str, addr: SocketAddr) -> reqwest::Result<reqwest::Client> {
    // reqwest's rustls has no built-in crypto provider; ring is the one
    // the workspace uses (a no-op when one is installed already). Without
    // it building a client panics, which ended the delivery loop: found by
    // the browser test against the real binary.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ATTEMPT_TIMEOUT)
        .resolve(host, addr)
        .user_agent(concat!("deskside-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// An error's text without the URL (it may hold a token in its path).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the connection failed".into()
    }
}

/// One round of deliveries due at `now`: claimed, sent, recorded; returns
/// how many were attempted.
pub async fn deliver<S: Store>(
    store: &S,
    allowed: &[Network],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let secs = now.timestamp();
    let lease = secs + LEASE_SECS;
    let claimed = store.claim_deliveries(secs, lease, CLAIM).await?;
    for d in &claimed {
        let outcome = attempt(store, d, allowed, secs).await;
        if !store
            .finish_attempt(d.id, lease, &outcome, Utc::now())
            .await?
        {
            tracing::warn!(
                delivery = d.id,
                "a webhook delivery's lease ran out before it was recorded"
            );
        }
    }
    Ok(claimed.len())
}

/// A whole pass at `now`: fan out, then deliver what is due.
pub async fn run_pass<S: Store>(
    store: &S,
    allowed: &[Network],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    fan_out(store).await?;
    deliver(store, allowed, now).await
}

/// Runs passes every `every`, and at once when this node publishes an
/// event (`wake`).
pub async fn webhook_loop<S: Store>(
    store: S,
    wake: std::sync::Arc<tokio::sync::Notify>,
    allowed: Vec<Network>,
    every: Duration,
) {
    loop {
        // A pass runs as its own task: whatever goes wrong in it (a panic
        // included) ends that pass, not the loop.
        let pass = {
            let (store, allowed) = (store.clone(), allowed.clone());
            tokio::spawn(async move { run_pass(&store, &allowed, Utc::now()).await })
        };
        match pass.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("webhook pass failed: {e}"),
            Err(e) => tracing::error!("webhook pass ended abnormally: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_timestamp_and_body() {
        // RFC 4231 test case 2 shape: a known HMAC-SHA256.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let a = sign("whsec_1", 1_700_000_000, b"{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64);
        assert_ne!(a, sign("whsec_1", 1_700_000_001, b"{}"));
        assert_ne!(a, sign("whsec_2", 1_700_000_000, b"{}"));
    }

    #[test]
    fn backs_off_doubling_up_to_an_hour() {
        assert_eq!(
            (1..=10).map(backoff).collect::<Vec<_>>(),
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
        );
        assert_eq!(backoff(1000), 3600);
    }

    #[test]
    fn refuses_private_networks_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        let lo: Network = "127.0.0.0/8".parse().unwrap();
        assert!(lo.contains("127.9.9.9".parse().unwrap()));
        assert!(!lo.contains("128.0.0.1".parse().unwrap()));
        assert!(!lo.contains("::1".parse().unwrap()));
        let v6: Network = "::1/128".parse().unwrap();
        assert!(v6.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
    }

    #[test]
    fn builds_a_client_in_a_process_without_a_crypto_provider() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(client("hooks.example.com", addr).is_ok());
    }

    #[tokio::test]
    async fn resolves_and_refuses_before_sending() {
        let url = parse_url("http://127.0.0.1:9/hook").unwrap();
        assert!(matches!(
            resolve(&url, &[]).await,
            Err(TargetError::Refused { .. })
        ));
        let allowed: Vec<Network> = vec!["127.0.0.0/8".parse().unwrap()];
        assert_eq!(resolve(&url, &allowed).await.unwrap().port(), 9);
        // A name that resolves to loopback is refused as its address is.
        let named = parse_url("http://localhost:9/hook").unwrap();
        assert!(matches!(
            resolve(&named, &[]).await,
            Err(TargetError::Refused { .. })
        ));
        for bad in [
            "ftp://example.com/x",
            "http://",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
