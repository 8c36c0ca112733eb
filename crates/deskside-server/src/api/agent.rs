//! Device endpoints: enrollment, check-in, inventory and the device's own
//! tickets. A device only ever sees its own tickets.

use super::*;
use crate::store::InventoryFacts;

pub(super) async fn enroll<S: Store>(
    State(state): State<AppState<S>>,
    ClientIp(client): ClientIp,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollResponse>), ApiError> {
    if let Err(wait) = state.enroll_limit.check(client) {
        return Err(ApiError::rate_limited(wait));
    }
    bounded("enroll_secret", Some(&req.enroll_secret), 256)?;
    bounded("device.device_key", req.device.device_key.as_deref(), 256)?;
    bounded(
        "device.serial_number",
        req.device.serial_number.as_deref(),
        256,
    )?;
    bounded("device.hostname", req.device.hostname.as_deref(), 256)?;
    let secret = state
        .store
        .enroll_secret_by_hash(&hash_token(&req.enroll_secret))
        .await?;
    if !secret.is_some_and(|s| s.usable(Utc::now())) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidEnrollSecret,
            "the enroll secret is unknown, expired or revoked",
        ));
    }
    // A public key must come with proof of its private key over a fresh
    // challenge: only then may it claim the device it names.
    let public_key = match (&req.public_key, &req.proof) {
        (None, None) => None,
        (Some(key), Some(proof)) => {
            verify_key_proof(&state, key, proof).await?;
            Some(key.as_str())
        }
        (Some(_), None) => {
            return Err(invalid(
                "public_key needs a proof (see /api/v1/enroll/challenge)",
            ));
        }
        (None, Some(_)) => return Err(invalid("proof needs the public_key it proves")),
    };
    let token = new_token("dsk_dev");
    let token_hash = hash_token(&token);
    let enrolled = state
        .store
        .enroll_device(&NewEnrollment {
            device_key: req.device.device_key.as_deref(),
            serial_number: req.device.serial_number.as_deref(),
            hostname: req.device.hostname.as_deref(),
            token_hash: &token_hash,
            public_key,
        })
        .await?;
    tracing::info!(
        device_id = enrolled.device_id,
        reenrolled = enrolled.reenrolled,
        duplicate_of = ?enrolled.duplicate_of,
        with_key = public_key.is_some(),
        "device enrolled"
    );
    Metrics::inc(&state.metrics.enrollments);
    if !enrolled.reenrolled {
        let detail = serde_json::json!({"hostname": req.device.hostname, "duplicate_of": enrolled.duplicate_of});
        super::events::publish_device(&state, "device.enrolled", enrolled.device_id, &detail).await;
    }
    let status = if enrolled.reenrolled {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(EnrollResponse {
            device_id: enrolled.device_id,
            device_token: token,
        }),
    ))
}

/// How long an enrollment challenge may be answered.
const CHALLENGE_SECS: i64 = 300;

/// `POST /api/v1/enroll/challenge`: a single-use challenge for the device's
/// key proof. Rate-limited like enrollment.
pub(super) async fn enroll_challenge<S: Store>(
    State(state): State<AppState<S>>,
    ClientIp(client): ClientIp,
) -> Result<Json<deskside_protocol::EnrollChallenge>, ApiError> {
    if let Err(wait) = state.challenge_limit.check(client) {
        return Err(ApiError::rate_limited(wait));
    }
    let challenge = new_token("dsk_chl");
    let expires_at = Utc::now() + chrono::TimeDelta::seconds(CHALLENGE_SECS);
    state
        .store
        .create_enroll_challenge(&hash_token(&challenge), expires_at)
        .await?;
    Ok(Json(deskside_protocol::EnrollChallenge {
        challenge,
        expires_at,
    }))
}

/// The 32 bytes of a base64 Ed25519 public key.
fn public_key_bytes(key: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| invalid("public_key must be 32 bytes of Ed25519 public key, base64"))
}

/// Checks that `proof` is a signature by `key` over a challenge this desk
/// issued, unexpired and unused; uses the challenge up.
async fn verify_key_proof<S: Store>(
    state: &AppState<S>,
    key: &str,
    proof: &deskside_protocol::KeyProof,
) -> Result<(), ApiError> {
    use base64::Engine;
    let public = public_key_bytes(key)?;
    let refused = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidKeyProof,
            "the key proof is wrong, or its challenge unknown, used or expired",
        )
    };
    bounded("proof.challenge", Some(&proof.challenge), 128)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&proof.signature)
        .map_err(|_| refused())?;
    let message = deskside_protocol::enroll_proof_message(&proof.challenge, key);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
        .verify(&message, &signature)
        .map_err(|_| refused())?;
    // Verified first, used up second: a wrong signature does not burn the
    // device's challenge, and a right one works exactly once.
    if !state
        .store
        .take_enroll_challenge(&hash_token(&proof.challenge))
        .await?
    {
        return Err(refused());
    }
    Ok(())
}

/// `PUT /api/v1/agent/inventory`: the device's full inventory. The desk
/// keeps the current one and a diff for every change, not endless copies.
pub(super) async fn put_inventory<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    ApiJson(inventory): ApiJson<Inventory>,
) -> Result<Json<InventoryAck>, ApiError> {
    let hash = inventory_hash(&inventory);
    let changed = device.inventory_hash.as_deref() != Some(hash.as_str());
    let previous = if changed {
        state.store.current_inventory(device.id).await?
    } else {
        None
    };
    // A stored body this version cannot read is treated as no history.
    let diff = previous
        .and_then(|(_, body)| serde_json::from_str::<Inventory>(&body).ok())
        .map(|old| diff_inventories(&old, &inventory))
        .filter(|d| !d.is_empty())
        .map(|d| serde_json::to_string(&d))
        .transpose()
        .map_err(|e| invalid(e.to_string()))?;
    let body = serde_json::to_string(&inventory).map_err(|e| invalid(e.to_string()))?;
    state
        .store
        .save_inventory(
            device.id,
            &hash,
            &body,
            diff.as_deref(),
            &inventory_facts(&inventory),
            Utc::now(),
        )
        .await?;
    Metrics::inc(&state.metrics.inventories);
    Ok(Json(InventoryAck {
        inventory_hash: hash,
        changed,
    }))
}

/// What searches need from an inventory.
fn inventory_facts(inv: &Inventory) -> InventoryFacts {
    let users = inv.os.logged_in_users.as_ref().and_then(|users| {
        let mut names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        // No one logged in keeps the last known users.
        (!names.is_empty()).then(|| names.join(" "))
    });
    InventoryFacts {
        hostname: inv.device.hostname.clone(),
        os_name: inv.os.long_name.clone().or_else(|| inv.os.name.clone()),
        os_version: inv.os.version.clone(),
        users,
        software: inv
            .software
            .iter()
            .map(|p| (p.name.clone(), p.version.clone().unwrap_or_default()))
            .collect(),
    }
}

/// `POST /api/v1/agent/checkin`: what changed on the device; the answer
/// says when to come back, whether to send the inventory, and carries the
/// policy when the agent's is older.
pub(super) async fn checkin<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    ApiJson(req): ApiJson<CheckinRequest>,
) -> Result<Json<CheckinResponse>, ApiError> {
    if req.check_results.len() > 1000 || req.metrics.len() > 2000 {
        return Err(invalid(
            "at most 1000 check results and 2000 metric samples per check-in",
        ));
    }
    bounded("agent_version", req.agent_version.as_deref(), 64)?;
    bounded("inventory_hash", req.inventory_hash.as_deref(), 128)?;
    bounded("kb_version", req.kb_version.as_deref(), 128)?;
    // A device enrolled before it had a key registers one, once; the key
    // of a device that has one never changes this way.
    if let Some(key) = &req.public_key
        && !device.has_public_key
    {
        public_key_bytes(key)?;
        if state.store.register_device_key(device.id, key).await? {
            tracing::info!(device = device.id, "device key registered");
        }
    }
    // The states before this check-in, to tell failing and recovered
    // checks (only read when results came: most check-ins have none).
    let before: std::collections::HashMap<String, String> = if req.check_results.is_empty() {
        Default::default()
    } else {
        state
            .store
            .check_results(device.id)
            .await?
            .into_iter()
            .map(|(id, st, _)| (id, st))
            .collect()
    };
    let running_checks: Option<Vec<&str>> = match &req.checks {
        Some(ids) if ids.len() > 1000 => return Err(invalid("at most 1000 checks per device")),
        Some(ids) => {
            for id in ids {
                bounded("checks", Some(id), 128)?;
            }
            Some(ids.iter().map(String::as_str).collect())
        }
        None => None,
    };
    let mut results = Vec::with_capacity(req.check_results.len());
    for r in &req.check_results {
        bounded("check_results.check_id", Some(&r.check_id), 128)?;
        // A result of a check the device says it does not run would be
        // forgotten in the same breath.
        if running_checks
            .as_ref()
            .is_some_and(|ids| !ids.contains(&r.check_id.as_str()))
        {
            continue;
        }
        let json = serde_json::to_string(r).map_err(|e| invalid(e.to_string()))?;
        // The device's check state is the reported one (after
        // fails_before_alert); the raw state of the run stays in the JSON.
        results.push((r.check_id.as_str(), r.alert_state.as_str(), json));
    }
    let samples = req
        .metrics
        .iter()
        .map(|m| (m.timestamp, crate::metric_tiers::series_of(m)))
        .collect();
    state
        .store
        .record_checkin(&Checkin {
            device_id: device.id,
            agent_version: req.agent_version.as_deref(),
            health: req.overall_health.map(|h| h.as_str()),
            results,
            samples,
            running_checks,
            at: Utc::now(),
        })
        .await?;
    Metrics::inc(&state.metrics.checkins);
    for r in &req.check_results {
        let failing = |s: &str| matches!(s, "warning" | "critical");
        let was = before.get(&r.check_id).map(String::as_str);
        let kind = match (was.is_some_and(failing), failing(r.alert_state.as_str())) {
            (false, true) => "check.failing",
            (true, false) if r.alert_state.as_str() == "ok" => "check.recovered",
            _ => continue,
        };
        let detail = serde_json::json!({"check_id": r.check_id, "state": r.alert_state.as_str(),
            "summary": r.summary, "hostname": device.hostname});
        super::events::publish_device(&state, kind, device.id, &detail).await;
        if kind == "check.failing" {
            // When it failed on the device, not when the desk heard.
            let at = r.last_state_change.unwrap_or(r.timestamp);
            super::check_tickets::on_check_failing(&state, device.id, &r.check_id, at).await?;
        }
    }
    // The device row carried the inventory hash and the newest policy
    // version, so an ordinary check-in reads nothing more than its ticket
    // updates.
    let send_inventory =
        device.inventory_hash.is_none() || device.inventory_hash != req.inventory_hash;
    let newest = u64::try_from(device.policy_version).unwrap_or_default();
    let policy = if newest > req.policy_version.unwrap_or(0) {
        newest_policy(&state, newest).await?.map(|p| (*p).clone())
    } else {
        None
    };
    let changed = state
        .store
        .device_tickets_changed(device.id, req.tickets_seen_at, 100)
        .await?;
    // Every updated ticket's conversation in one query, not one each.
    let ids: Vec<i64> = changed.iter().map(|t| t.id).collect();
    let mut comments: std::collections::HashMap<i64, Vec<CommentRow>> =
        std::collections::HashMap::new();
    for (ticket, c) in state.store.public_comments_of(&ids).await? {
        comments.entry(ticket).or_default().push(c);
    }
    let ticket_updates = changed
        .into_iter()
        .map(|t| {
            let conversation = comments.remove(&t.id).unwrap_or_default();
            ticket_json(t, Vec::new(), conversation)
        })
        .collect();
    let kb = match req.kb_lang {
        Some(lang) => device_kb(&state, lang, req.kb_version.as_deref()).await?,
        None => None,
    };
    Ok(Json(CheckinResponse {
        next_checkin_secs: state.checkin_secs,
        send_inventory,
        policy,
        ticket_updates,
        features: vec![
            deskside_protocol::DeskFeature::TicketRequester,
            deskside_protocol::DeskFeature::KnowledgeBase,
            deskside_protocol::DeskFeature::CheckTickets,
        ],
        kb,
    }))
}

/// The published articles in `lang` when the device's copy (`have`) is
/// not their current version. The version is read from the database on
/// every check-in (a cheap aggregate); the articles are built once per
/// version and node.
async fn device_kb<S: Store>(
    state: &AppState<S>,
    lang: deskside_protocol::ArticleLang,
    have: Option<&str>,
) -> Result<Option<deskside_protocol::DeviceKb>, ApiError> {
    let stamp = state.store.kb_stamp().await?;
    let version = crate::kb::device_kb_version(&stamp, lang);
    if have == Some(version.as_str()) {
        return Ok(None);
    }
    if let Some(kb) = state.device_kb.get(lang, &version) {
        return Ok(Some((*kb).clone()));
    }
    let texts = state
        .store
        .recent_texts(&["published"], crate::kb::MAX_DEVICE_ARTICLES)
        .await?;
    let kb = tokio::task::spawn_blocking(move || crate::kb::device_kb(version, lang, texts))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                format!("building the device's articles failed: {e}"),
            )
        })?;
    let kb = Arc::new(kb);
    state.device_kb.put(Arc::clone(&kb));
    Ok(Some((*kb).clone()))
}

/// A report begun in the tray, or a later stage of it (`POST
/// /agent/reports`): the deflection figures' source. Idempotent by the
/// report's id; another device's id is refused.
pub(super) async fn report<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    ApiJson(report): ApiJson<deskside_protocol::TrayReport>,
) -> Result<StatusCode, ApiError> {
    record_report(&state, device.id, &report, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a tray report of `device_id` (from the report endpoint or a
/// ticket that ends it).
async fn record_report<S: Store>(
    state: &AppState<S>,
    device_id: i64,
    report: &deskside_protocol::TrayReport,
    ticket_id: Option<i64>,
) -> Result<(), ApiError> {
    check_report(report)?;
    // A stolen device token must not fill the table: new reports are
    // capped per device and day (a later stage of one still goes).
    let (known, recent) = state
        .store
        .report_load(
            &report.id,
            device_id,
            Utc::now() - chrono::TimeDelta::days(1),
        )
        .await?;
    if !known && recent >= MAX_REPORTS_PER_DAY {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("at most {MAX_REPORTS_PER_DAY} tray reports per device and day"),
        ));
    }
    let shown = serde_json::to_string(&report.shown).map_err(|e| invalid(e.to_string()))?;
    let mine = state
        .store
        .record_report(&crate::store::ReportRecord {
            id: &report.id,
            device_id,
            started_at: report.started_at,
            shown: &shown,
            solved_by: report.solved_by,
            ticket_id,
            now: Utc::now(),
        })
        .await?;
    if !mine {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::AlreadyExists,
            "this report id belongs to another device",
        ));
    }
    Ok(())
}

/// New tray reports a device may record per day.
pub const MAX_REPORTS_PER_DAY: i64 = 200;

/// A report's id is a UUID-like token; at most 20 articles shown, the
/// solving one among them or alone; not started in the future.
fn check_report(r: &deskside_protocol::TrayReport) -> Result<(), ApiError> {
    if r.id.is_empty()
        || r.id.len() > 64
        || !r.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(invalid(
            "report id: 1 to 64 letters, digits or hyphens (a UUID)",
        ));
    }
    if r.shown.len() > 20 {
        return Err(invalid("at most 20 articles shown per report"));
    }
    if r.started_at > Utc::now() + chrono::TimeDelta::minutes(10) {
        return Err(invalid("started_at is in the future"));
    }
    Ok(())
}

/// The newest policy, known to be `version`: from this node's cache when
/// it holds that version, else from the database.
async fn newest_policy<S: Store>(
    state: &AppState<S>,
    version: u64,
) -> Result<Option<Arc<Policy>>, ApiError> {
    if let Some(p) = state.policy.get(version) {
        return Ok(Some(p));
    }
    let Some((version, checks)) = state.store.current_policy().await? else {
        return Ok(None);
    };
    let p = Arc::new(super::policy::policy_from_row(version, &checks)?);
    state.policy.put(Arc::clone(&p));
    Ok(Some(p))
}

/// Largest ticket submission (all parts together).
pub(super) const MAX_TICKET_BYTES: usize = 32 * 1024 * 1024;
/// Largest attachment.
pub(super) const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Largest diagnostics bundle (the agent caps its bundles at 2 MB).
pub(super) const MAX_DIAGNOSTICS_BYTES: usize = 4 * 1024 * 1024;
/// Most attachments per ticket.
pub(super) const MAX_ATTACHMENTS: usize = 10;

pub(super) fn multipart_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            "the submission is too large",
        )
    } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send multipart/form-data",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidMultipart, text)
    }
}

pub(super) async fn read_part(
    mut field: axum::extract::multipart::Field<'_>,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        if out.len() + chunk.len() > cap {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PartTooLarge,
                format!("the {what} is larger than {cap} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Priority from the ITIL impact × urgency matrix; a device's ticket starts
/// at medium impact until a technician assesses it.
pub(super) fn priority(urgency: deskside_protocol::Urgency) -> i64 {
    itil_priority(deskside_protocol::Urgency::Medium, urgency)
}

pub use crate::workflow::itil_priority;

/// `POST /api/v1/agent/tickets`: multipart with a `ticket` JSON part, an
/// optional `diagnostics` part and up to 10 `attachment` parts. The
/// `Idempotency-Key` header is required: the same key returns the same
/// ticket (200) instead of creating another (201).
pub(super) async fn create_ticket<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    headers: axum::http::HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<deskside_protocol::Ticket>), ApiError> {
    let key = idempotency_key(&headers)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::IdempotencyKeyRequired,
            "send an Idempotency-Key header",
        )
    })?;
    let mut mp = multipart.map_err(|e| multipart_error(e.status(), e.body_text()))?;
    let mut ticket: Option<(deskside_protocol::NewTicket, Vec<u8>)> = None;
    let mut files: Vec<(String, String, Vec<u8>, bool)> = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        let part = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        match part.as_str() {
            "ticket" if ticket.is_some() => {
                return Err(invalid("more than one ticket part"));
            }
            "ticket" => {
                let bytes = read_part(field, 64 * 1024, "ticket part").await?;
                ticket = Some((new_ticket(&bytes)?, bytes));
            }
            "diagnostics" if files.iter().any(|f| f.3) => {
                return Err(invalid("more than one diagnostics part"));
            }
            "diagnostics" => {
                let bytes = read_part(field, MAX_DIAGNOSTICS_BYTES, "diagnostics bundle").await?;
                files.push((
                    file_name.unwrap_or_else(|| "diagnostics".into()),
                    content_type,
                    bytes,
                    true,
                ));
            }
            "attachment" => {
                if files.iter().filter(|f| !f.3).count() >= MAX_ATTACHMENTS {
                    return Err(invalid(format!("at most {MAX_ATTACHMENTS} attachments")));
                }
                let bytes = read_part(field, MAX_ATTACHMENT_BYTES, "attachment").await?;
                files.push((
                    file_name.unwrap_or_else(|| "attachment".into()),
                    content_type,
                    bytes,
                    false,
                ));
            }
            other => {
                return Err(invalid(format!(
                    "unexpected part {other:?} (ticket, diagnostics, attachment)"
                )));
            }
        }
    }
    let (ticket, ticket_bytes) = ticket.ok_or_else(|| invalid("the ticket part is missing"))?;
    let subject = ticket.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(invalid("subject must be 1 to 200 characters"));
    }
    if ticket.description.chars().count() > 20_000 {
        return Err(invalid("description must be at most 20000 characters"));
    }
    for (name, ct, _, _) in &files {
        if name.len() > 255 || ct.len() > 255 {
            return Err(invalid(
                "file names and content types must be at most 255 bytes",
            ));
        }
        if name.contains('\0') || ct.contains('\0') {
            return Err(invalid(
                "file names and content types must not contain NUL characters",
            ));
        }
    }
    if let Some(r) = &ticket.report {
        check_report(r)?;
    }
    if let Some(c) = &ticket.check {
        super::check_tickets::validate(c)?;
        // A later failing episode of a check whose ticket is still worked
        // (or resolved and watched) goes to that ticket: the files are
        // not stored, the diagnostics of the first episode stay.
        if let Some(id) = super::check_tickets::attach(&state, device.id, c, &key).await? {
            let (row, atts) = state
                .store
                .device_ticket(device.id, id)
                .await?
                .ok_or_else(ticket_not_found)?;
            return Ok((
                StatusCode::OK,
                Json(ticket_json(
                    row,
                    atts,
                    state.store.comments(id, false).await?,
                )),
            ));
        }
    }
    let request_hash = request_hash(&ticket_bytes, &files);
    // The logged-in user's name, when the agent may send it; anything
    // unreadable as a name is left out rather than refusing the ticket.
    let requester = ticket
        .requester
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 200 && !n.chars().any(char::is_control))
        .map(str::to_owned);
    // The bundle is checked as it arrives (a technician sees the same
    // verdict when opening it); a bad one never costs the employee the
    // ticket, but it is logged for whoever runs the desk.
    let bundle = files.iter().find(|f| f.3).map(|f| f.2.clone());
    let bundle_state = match bundle {
        Some(bytes) => tokio::task::spawn_blocking(move || {
            let v = super::diagnostics::read_bundle(&bytes);
            (v.state, v.reason)
        })
        .await
        .ok(),
        None => None,
    };
    // Content first, rows second: a crash in between leaves an unreferenced
    // blob, never a row without content. A refused or failed insert removes
    // what it stored.
    let mut attachments: Vec<(String, String, i64, String, bool)> = Vec::with_capacity(files.len());
    for (name, ct, bytes, diagnostics) in files {
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let stored = state.blobs.put(bytes).await;
        let key = match stored {
            Ok(key) => key,
            Err(e) => {
                tracing::error!("blob store: {e}");
                for (_, _, _, k, _) in &attachments {
                    state.blobs.delete(k).await;
                }
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::StorageUnavailable,
                    "cannot store the attachment",
                ));
            }
        };
        attachments.push((name, ct, size, key, diagnostics));
    }
    let keys: Vec<String> = attachments.iter().map(|a| a.3.clone()).collect();
    let category = snake(ticket.category);
    let urgency = snake(ticket.urgency);
    let created = state
        .store
        .create_ticket(&NewTicketRow {
            device_id: device.id,
            idempotency_key: &key,
            subject,
            description: &ticket.description,
            category: &category,
            urgency: &urgency,
            priority: priority(ticket.urgency),
            ticket_type: &snake(ticket.ticket_type),
            requester_name: requester.as_deref(),
            request_hash: &request_hash,
            attachments,
            check: ticket.check.as_ref().map(|c| {
                (
                    c.check_id.as_str(),
                    i64::try_from(c.resolve_after_secs).unwrap_or(3600),
                )
            }),
        })
        .await;
    let (id, created) = match created {
        Ok(done) => done,
        Err(e) => {
            for k in &keys {
                state.blobs.delete(k).await;
            }
            return Err(e.into());
        }
    };
    if created {
        Metrics::inc(&state.metrics.tickets);
        super::sla::after_change(&state, id).await;
    } else {
        // A retry: the ticket exists with the first submission's files.
        for k in &keys {
            state.blobs.delete(k).await;
        }
    }
    let (row, atts) = state
        .store
        .device_ticket(device.id, id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageUnavailable,
                "ticket vanished",
            )
        })?;
    tracing::info!(ticket = id, device = device.id, created, "ticket submitted");
    if let Some((state, reason)) = bundle_state
        && state != super::diagnostics::BundleState::Ok
    {
        tracing::warn!(
            ticket = id,
            device = device.id,
            ?state,
            reason = reason.as_deref().unwrap_or_default(),
            "the ticket's diagnostics bundle cannot be shown"
        );
    }
    if created {
        super::events::publish(&state, "ticket.created", id, Some("device")).await;
    }
    // What the employee was shown before filing (a retry records it again,
    // harmlessly). Another device's report id costs the ticket nothing.
    if let Some(r) = &ticket.report
        && let Err(e) = record_report(&state, device.id, r, Some(id)).await
    {
        tracing::warn!(
            ticket = id,
            device = device.id,
            "tray report not recorded: {e:?}"
        );
    }
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(ticket_json(
            row,
            atts,
            state.store.comments(id, false).await?,
        )),
    ))
}

/// The fields a ticket part may have; anything else is refused rather
/// than silently dropped.
const TICKET_FIELDS: &[&str] = &[
    "subject",
    "description",
    "category",
    "urgency",
    "ticket_type",
    "requester",
    "report",
    "check",
];

/// The `ticket` part, strictly: no unknown field, no unknown category, no
/// NUL character (which PostgreSQL cannot store).
fn new_ticket(bytes: &[u8]) -> Result<deskside_protocol::NewTicket, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("ticket part: {e}")))?;
    let Some(fields) = value.as_object() else {
        return Err(invalid("ticket part: must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !TICKET_FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "ticket part: unknown field {unknown:?} (subject, description, category, urgency, ticket_type, requester, report, check)"
        )));
    }
    if has_nul(&value) {
        return Err(invalid("text must not contain NUL characters"));
    }
    if let Some(t) = fields.get("ticket_type")
        && !matches!(t.as_str(), Some("incident" | "service_request"))
    {
        return Err(invalid(format!(
            "ticket part: unknown ticket_type {t} (incident, service_request)"
        )));
    }
    if let Some(c) = fields.get("category")
        && c.as_str().is_none_or(|name| known_category(name).is_err())
    {
        return Err(invalid(format!(
            "ticket part: unknown category {c} (hardware, software, network, account, printer, other)"
        )));
    }
    serde_json::from_value(value).map_err(|e| invalid(format!("ticket part: {e}")))
}

/// SHA-256 over everything a ticket submission carries, to tell a retry
/// from a different request under the same idempotency key.
fn request_hash(ticket: &[u8], files: &[(String, String, Vec<u8>, bool)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(ticket);
    for (name, ct, bytes, diagnostics) in files {
        field(name.as_bytes());
        field(ct.as_bytes());
        field(&Sha256::digest(bytes));
        field(&[u8::from(*diagnostics)]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /api/v1/agent/tickets`: this device's tickets, newest first.
pub(super) async fn list_tickets<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<Vec<deskside_protocol::Ticket>>, ApiError> {
    let rows = state.store.device_tickets(device.id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| ticket_json(t, Vec::new(), Vec::new()))
            .collect(),
    ))
}

/// `GET /api/v1/agent/tickets/{id}`: one of this device's tickets; another
/// device's ticket is answered exactly like a missing one.
pub(super) async fn get_ticket<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<deskside_protocol::Ticket>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such ticket");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let (row, atts) = state
        .store
        .device_ticket(device.id, id)
        .await?
        .ok_or_else(not_found)?;
    // Internal notes never reach a device.
    let comments = state.store.comments(id, false).await?;
    Ok(Json(ticket_json(row, atts, comments)))
}

/// The `Idempotency-Key` header, when sent: 1 to 128 letters, digits,
/// `-`, `_`, `:` or `.`.
pub(super) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty()
        || key.len() > 128
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidIdempotencyKey,
            "Idempotency-Key: 1 to 128 letters, digits, '-', '_', ':' or '.'",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// `POST /api/v1/agent/tickets/{id}/comments`: the employee answers. With
/// an `Idempotency-Key`, a retry returns the first comment (200) instead
/// of adding another.
pub(super) async fn device_comment<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    ApiJson(c): ApiJson<deskside_protocol::NewComment>,
) -> Result<(StatusCode, Json<deskside_protocol::Comment>), ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    let body = comment_body(&c.body)?;
    let key = idempotency_key(&headers)?;
    let (comment_id, created) = match &key {
        Some(k) => state.store.add_device_comment(id, body, k).await?,
        None => (state.store.add_comment(id, None, body, false).await?, true),
    };
    if created {
        super::sla::after_change(&state, id).await;
        super::events::publish(&state, "comment.added", id, Some("device")).await;
    }
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(deskside_protocol::Comment {
            id: comment_id,
            author: deskside_protocol::CommentAuthor::Employee,
            body: body.to_owned(),
            created_at: Utc::now(),
            note: None,
        }),
    ))
}

/// `GET /api/v1/agent/tickets/{id}/attachments/{attachment}`: the device's
/// own tickets only.
pub(super) async fn device_attachment<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path((raw_ticket, raw_att)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: i64 = raw_ticket.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    attachment_response(&state, id, &raw_att).await
}

/// `POST /api/v1/agent/tickets/{id}/rating` body.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// 1 to 5.
    score: u8,
    /// Optional words.
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /api/v1/agent/tickets/{id}/rating`: once, after resolution.
pub(super) async fn device_rating<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(r): ApiJson<Rating>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    if !(1..=5).contains(&r.score) {
        return Err(invalid("score must be 1 to 5"));
    }
    bounded("comment", r.comment.as_deref(), 2000)?;
    if !state
        .store
        .rate_ticket(id, i64::from(r.score), r.comment.as_deref())
        .await?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::CannotRate,
            "a ticket can be rated once, after it was resolved (and, when the desk watches the fix, \
             once it held: rating_opens_at)",
        ));
    }
    super::events::publish(&state, "ticket.updated", id, Some("device")).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/agent/tickets/{id}/reopen`: the problem is back.
pub(super) async fn device_reopen<S: Store>(
    State(state): State<AppState<S>>,
    DeviceAuth(device): DeviceAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ticket_not_found())?;
    if state.store.device_ticket(device.id, id).await?.is_none() {
        return Err(ticket_not_found());
    }
    if !state.store.reopen_ticket(id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidTransition,
            "only a resolved or closed ticket can be reopened",
        ));
    }
    super::sla::after_change(&state, id).await;
    super::events::publish(&state, "ticket.updated", id, Some("device")).await;
    Ok(StatusCode::NO_CONTENT)
}
