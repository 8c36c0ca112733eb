//! The HTTP client of the desk API: rustls (ring) with the system's trust
//! store plus the configured CA file, an optional proxy, a timeout on every
//! request, and answers sorted into what the outbox needs to know: done,
//! try again later (and when), enroll again, or refused for good.

use std::time::Duration;

use deskside_protocol::{
    CheckinRequest, CheckinResponse, Comment, DeviceIdentity, EnrollRequest, EnrollResponse,
    ErrorBody, Inventory, InventoryAck, Ticket,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::config::DeskConfig;
use crate::store::OutFile;

/// What went wrong talking to the desk.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No answer: the desk or the network is down, or it took too long.
    #[error("the desk is unreachable: {0}")]
    Unreachable(String),
    /// The desk asked (with `Retry-After`) not to be sent anything for
    /// this long yet; nothing was sent.
    #[error("the desk asked to wait; next try in {} s", .0.as_secs().max(1))]
    Waiting(Duration),
    /// The device token is unknown or was revoked.
    #[error("the desk does not accept this device's token; enroll again")]
    Unauthorized,
    /// The desk is busy or failing; try again (after `retry_after` when it
    /// said so).
    #[error("the desk answered {status}; will retry")]
    Busy {
        /// Status code.
        status: u16,
        /// The desk's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The desk refused the request for good.
    #[error("the desk refused it ({status} {code}): {message}")]
    Rejected {
        /// Status code.
        status: u16,
        /// The error code.
        code: deskside_protocol::ErrorCode,
        /// The error message.
        message: String,
    },
    /// The client could not be set up.
    #[error("desk client: {0}")]
    Setup(String),
}

impl DeskError {
    /// Whether trying the same request again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_) | Self::Busy { .. } | Self::Waiting(_)
        )
    }
}

/// A client of one desk.
#[derive(Debug, Clone)]
pub struct DeskClient {
    http: reqwest::Client,
    base: String,
}

/// Bodies larger than this go gzip-compressed (the desk accepts
/// `Content-Encoding: gzip` everywhere): an idle check-in's metric sample
/// shrinks to a third.
const GZIP_OVER: usize = 1024;

/// `value` as the JSON body of `req`, compressed when that pays.
fn json_body<T: serde::Serialize>(
    req: reqwest::RequestBuilder,
    value: &T,
) -> Result<reqwest::RequestBuilder, DeskError> {
    use std::io::Write;
    let json = serde_json::to_vec(value).map_err(|e| DeskError::Setup(e.to_string()))?;
    let req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
    if json.len() <= GZIP_OVER {
        return Ok(req.body(json));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json)
        .and_then(|()| gz.finish())
        .map(|body| {
            req.header(reqwest::header::CONTENT_ENCODING, "gzip")
                .body(body)
        })
        .map_err(|e| DeskError::Setup(e.to_string()))
}

/// Whether this status means "try again later".
fn transient(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

impl DeskClient {
    /// A client for the desk in `cfg` (which must name a server).
    pub fn new(cfg: &DeskConfig) -> Result<Self, DeskError> {
        let base = cfg
            .server_url
            .as_deref()
            .ok_or_else(|| DeskError::Setup("no desk configured (desk.server_url)".into()))?
            .trim_end_matches('/')
            .to_owned();
        let tls = match &cfg.server_cert_sha256 {
            Some(fp) => {
                let pin = crate::config::parse_fingerprint(fp).ok_or_else(|| {
                    DeskError::Setup(format!("{fp:?} is not a SHA-256 fingerprint"))
                })?;
                crate::checks::tls::pinned_client_config(pin).map_err(DeskError::Setup)?
            }
            None => {
                let ca = cfg.ca_file.as_ref().map(|p| p.display().to_string());
                crate::checks::tls::client_config(ca.as_deref(), true)
                    .map_err(DeskError::Setup)?
                    .0
            }
        };
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(cfg.request_timeout)
            .connect_timeout(Duration::from_secs(10).min(cfg.request_timeout))
            .user_agent(concat!("deskside-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(p) = &cfg.proxy {
            builder = builder.proxy(
                reqwest::Proxy::all(p).map_err(|e| DeskError::Setup(format!("proxy {p}: {e}")))?,
            );
        }
        let http = builder
            .build()
            .map_err(|e| DeskError::Setup(e.to_string()))?;
        Ok(Self { http, base })
    }

    /// The desk's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    async fn answer<T: DeserializeOwned>(
        resp: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, DeskError> {
        let resp = resp.map_err(|e| DeskError::Unreachable(describe(&e)))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| DeskError::Unreachable(describe(&e)))?;
        if status.is_success() {
            let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(body).map_err(|e| {
                // An answer this agent cannot read is the desk's problem,
                // and may pass: keep the item.
                tracing::warn!("unreadable answer from the desk: {e}");
                DeskError::Busy {
                    status: status.as_u16(),
                    retry_after: None,
                }
            });
        }
        if status == StatusCode::UNAUTHORIZED {
            let code = serde_json::from_slice::<ErrorBody>(&bytes)
                .map_or(deskside_protocol::ErrorCode::Unknown, |b| b.error.code);
            // A refused enroll secret is final; a refused device token asks
            // for enrollment.
            if code == deskside_protocol::ErrorCode::InvalidEnrollSecret {
                return Err(DeskError::Rejected {
                    status: 401,
                    code,
                    message: "the enroll secret is unknown, expired or revoked".into(),
                });
            }
            return Err(DeskError::Unauthorized);
        }
        if transient(status) {
            return Err(DeskError::Busy {
                status: status.as_u16(),
                retry_after,
            });
        }
        let (code, message) = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| (b.error.code, b.error.message))
            .unwrap_or_else(|_| {
                (
                    deskside_protocol::ErrorCode::Unknown,
                    String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                )
            });
        Err(DeskError::Rejected {
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// `POST /enroll/challenge`: a single-use challenge to sign. `None`
    /// from a desk older than device keys.
    pub async fn enroll_challenge(
        &self,
    ) -> Result<Option<deskside_protocol::EnrollChallenge>, DeskError> {
        let r = self
            .http
            .post(self.url("/enroll/challenge"))
            .json(&serde_json::json!({}))
            .send()
            .await;
        match Self::answer(r).await {
            Ok(c) => Ok(Some(c)),
            Err(DeskError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /enroll`, with the device's public key and its proof when the
    /// desk knows device keys.
    pub async fn enroll(
        &self,
        secret: &str,
        device: &DeviceIdentity,
        key: Option<(String, deskside_protocol::KeyProof)>,
    ) -> Result<EnrollResponse, DeskError> {
        let (public_key, proof) = key.unzip();
        let req = EnrollRequest {
            enroll_secret: secret.to_owned(),
            device: device.clone(),
            agent_version: Some(crate::AGENT_VERSION.to_owned()),
            public_key,
            proof,
        };
        Self::answer(self.http.post(self.url("/enroll")).json(&req).send().await).await
    }

    /// `POST /agent/checkin`.
    pub async fn checkin(
        &self,
        token: &str,
        req: &CheckinRequest,
    ) -> Result<CheckinResponse, DeskError> {
        let r = self
            .http
            .post(self.url("/agent/checkin"))
            .bearer_auth(token);
        let r = json_body(r, req)?.send().await;
        Self::answer(r).await
    }

    /// `PUT /agent/inventory`.
    pub async fn put_inventory(
        &self,
        token: &str,
        inventory: &Inventory,
    ) -> Result<InventoryAck, DeskError> {
        let r = self
            .http
            .put(self.url("/agent/inventory"))
            .bearer_auth(token);
        let r = json_body(r, inventory)?.send().await;
        Self::answer(r).await
    }

    /// `POST /agent/tickets` with the ticket and its files.
    pub async fn submit_ticket(
        &self,
        token: &str,
        key: &str,
        ticket: &serde_json::Value,
        files: &[OutFile],
    ) -> Result<Ticket, DeskError> {
        let mut form = reqwest::multipart::Form::new().part(
            "ticket",
            reqwest::multipart::Part::bytes(ticket.to_string().into_bytes())
                .mime_str("application/json")
                .map_err(|e| DeskError::Setup(e.to_string()))?,
        );
        for f in files {
            let part = reqwest::multipart::Part::bytes(f.bytes.clone())
                .file_name(f.name.clone())
                .mime_str(&f.content_type)
                .unwrap_or_else(|_| {
                    reqwest::multipart::Part::bytes(f.bytes.clone()).file_name(f.name.clone())
                });
            form = form.part(f.part.clone(), part);
        }
        let r = self
            .http
            .post(self.url("/agent/tickets"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .multipart(form)
            .send()
            .await;
        Self::answer(r).await
    }

    /// `POST /agent/tickets/{id}/comments`.
    pub async fn comment(
        &self,
        token: &str,
        ticket: i64,
        key: &str,
        body: &serde_json::Value,
    ) -> Result<Comment, DeskError> {
        let r = self
            .http
            .post(self.url(&format!("/agent/tickets/{ticket}/comments")))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await;
        Self::answer(r).await
    }

    /// `POST /agent/reports`: a report begun in the tray, or how it ended.
    pub async fn report(&self, token: &str, body: &serde_json::Value) -> Result<(), DeskError> {
        let r = self
            .http
            .post(self.url("/agent/reports"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await;
        Self::answer::<serde_json::Value>(r).await.map(drop)
    }

    /// `POST /agent/tickets/{id}/rating` or `/reopen` (no answer body).
    pub async fn ticket_action(
        &self,
        token: &str,
        ticket: i64,
        action: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), DeskError> {
        let mut r = self
            .http
            .post(self.url(&format!("/agent/tickets/{ticket}/{action}")))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(b);
        }
        Self::answer::<serde_json::Value>(r.send().await)
            .await
            .map(drop)
    }
}

/// A reqwest error with its causes, without the URL's query (no secrets
/// travel in URLs, but keep logs short).
fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}
