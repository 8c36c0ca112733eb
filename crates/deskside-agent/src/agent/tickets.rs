//! Tickets as the employee files and follows them: stored first (with
//! diagnostics and files, within the desk's limits), then replies,
//! ratings and reopening, all through the outbox.

use super::*;

/// A ticket the employee files.
#[derive(Debug, Clone, Default)]
pub struct NewTicketInput {
    /// Subject (1–200 characters).
    pub subject: String,
    /// What happened.
    pub description: String,
    /// Category.
    pub category: Option<TicketCategory>,
    /// Urgency.
    pub urgency: Option<Urgency>,
    /// Something is broken (an incident) or the employee needs something
    /// (a service request).
    pub ticket_type: deskside_protocol::TicketType,
    /// Attach the diagnostics bundle.
    pub include_diagnostics: bool,
    /// A PNG screenshot.
    pub screenshot: Option<Vec<u8>>,
    /// Files to attach, read from disk.
    pub files: Vec<PathBuf>,
    /// Files to attach that the caller holds in memory (what the tray
    /// app's form was given).
    pub attachments: Vec<NamedFile>,
    /// The tray report this ticket ends (what the employee was shown).
    pub report: Option<deskside_protocol::TrayReport>,
    /// Parts the employee leaves out of this report.
    pub leave_out: Vec<crate::diagnostics::LeaveOut>,
    /// The failing check that opens this ticket by itself.
    pub check: Option<deskside_protocol::CheckTicket>,
}

/// A file held in memory, with the name the desk shows.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedFile {
    /// The file name (no directories).
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NamedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedFile")
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// At most this many files beside the diagnostics bundle (the desk's limit;
/// the screenshot counts).
pub const MAX_ATTACHMENTS: usize = 10;
/// The largest file the desk takes.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// All files of one ticket together, leaving room under the desk's 32 MiB
/// request limit for the bundle (at most 2 MB) and the form.
pub const MAX_TICKET_FILES_BYTES: usize = 28 * 1024 * 1024;

/// The screenshot's attachment name.
pub const SCREENSHOT_NAME: &str = "screenshot.png";

/// The name an attachment is shown under: only the last path segment (a
/// name is shown, never used as a path); `None` when nothing is left.
pub fn file_name(name: &str) -> Option<&str> {
    name.rsplit(['/', '\\'])
        .next()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
}

/// An attachment for the outbox, checked against the desk's limits.
pub(super) fn attachment(name: String, bytes: Vec<u8>) -> SyncResult<OutFile> {
    let name = file_name(&name).unwrap_or("file").to_owned();
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(SyncError::Invalid(format!("{name} is larger than 10 MiB")));
    }
    Ok(OutFile {
        part: "attachment".into(),
        content_type: content_type(std::path::Path::new(&name)).into(),
        name,
        bytes,
    })
}

pub(super) fn content_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

impl Agent {
    /// Marks a ticket's replies as read (its conversation was shown).
    pub fn mark_read(&self, id: &str) -> SyncResult<()> {
        let t = self.known(id)?;
        self.store().mark_read(&t.local_id)?;
        self.emit(Event::TicketUpdated {
            local_id: t.local_id,
        });
        Ok(())
    }

    /// Files a ticket: it is stored (with its diagnostics and files) before
    /// this returns, so it survives a crash and works offline; the outbox
    /// delivers it.
    pub fn submit_ticket(&self, t: NewTicketInput) -> SyncResult<LocalTicket> {
        self.submit_ticket_as(&new_id("t"), t)
    }

    /// [`Agent::submit_ticket`] under a chosen local id (also its
    /// idempotency key): a ticket that must exist once, whoever files it.
    pub(super) fn submit_ticket_as(
        &self,
        local_id: &str,
        t: NewTicketInput,
    ) -> SyncResult<LocalTicket> {
        let subject = t.subject.trim().to_owned();
        check_subject(&subject).map_err(SyncError::Invalid)?;
        check_description(&t.description).map_err(SyncError::Invalid)?;
        let mut t = t;
        if t.leave_out
            .contains(&crate::diagnostics::LeaveOut::Screenshot)
        {
            t.screenshot = None;
        }
        if t.leave_out.contains(&crate::diagnostics::LeaveOut::Files) {
            t.files.clear();
            t.attachments.clear();
        }
        let count = t.files.len() + t.attachments.len() + usize::from(t.screenshot.is_some());
        if count > MAX_ATTACHMENTS {
            return Err(SyncError::Invalid(format!(
                "at most {MAX_ATTACHMENTS} files, the screenshot included"
            )));
        }
        let mut files = Vec::new();
        for path in &t.files {
            let bytes = crate::local_file::read_regular(path, MAX_ATTACHMENT_BYTES)
                .map_err(|e| SyncError::Invalid(e.to_string()))?;
            let name = path
                .file_name()
                .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
            files.push(attachment(name, bytes)?);
        }
        for f in t.attachments {
            files.push(attachment(f.name, f.bytes)?);
        }
        let screenshot = match t.screenshot {
            Some(_) if !self.cfg.privacy.screenshots => {
                return Err(SyncError::Invalid(
                    "screenshots are turned off by this device's privacy settings".into(),
                ));
            }
            Some(png) if !png.starts_with(b"\x89PNG\r\n\x1a\n") => {
                return Err(SyncError::Invalid(
                    "the screenshot is not a PNG image".into(),
                ));
            }
            Some(png) if png.len() > MAX_ATTACHMENT_BYTES => {
                return Err(SyncError::Invalid(
                    "the screenshot is larger than 10 MiB".into(),
                ));
            }
            Some(png) => {
                files.push(OutFile {
                    part: "attachment".into(),
                    name: SCREENSHOT_NAME.into(),
                    content_type: "image/png".into(),
                    bytes: png,
                });
                Some(SCREENSHOT_NAME)
            }
            None => None,
        };
        if files.iter().map(|f| f.bytes.len()).sum::<usize>() > MAX_TICKET_FILES_BYTES {
            return Err(SyncError::Invalid(format!(
                "the files add up to more than {} MiB",
                MAX_TICKET_FILES_BYTES / (1024 * 1024)
            )));
        }
        if t.include_diagnostics {
            let mut bundle = self.diagnostics(screenshot)?;
            crate::diagnostics::leave_out(&mut bundle, &t.leave_out);
            let bytes = crate::diagnostics::compress(bundle).map_err(|source| SyncError::Read {
                path: self.state_dir.clone(),
                source,
            })?;
            files.push(OutFile {
                part: "diagnostics".into(),
                name: "diagnostics.json.gz".into(),
                content_type: "application/gzip".into(),
                bytes,
            });
        }
        let mut payload = serde_json::json!({
            "subject": subject,
            "description": t.description,
            "category": t.category.unwrap_or(TicketCategory::Other),
            "urgency": t.urgency.unwrap_or(Urgency::Medium),
        });
        // Only a service request says so: an incident (the default) is
        // accepted by desks from before ticket types too, which refuse
        // fields they do not know.
        if t.ticket_type != deskside_protocol::TicketType::Incident {
            payload["ticket_type"] = serde_json::json!(t.ticket_type);
        }
        if let Some(name) = self.requester_name()? {
            payload["requester"] = serde_json::json!(name);
        }
        if let Some(report) = t.report
            && self.desk_has(deskside_protocol::DeskFeature::KnowledgeBase)?
        {
            payload["report"] = serde_json::json!(report);
        }
        // Older desks refuse fields they do not know: to them a check's
        // ticket is an ordinary one.
        if let Some(check) = t.check
            && self.desk_has(deskside_protocol::DeskFeature::CheckTickets)?
        {
            payload["check"] = serde_json::json!(check);
        }
        self.store()
            .queue_ticket(local_id, &subject, &payload, &files)?;
        self.emit(Event::TicketUpdated {
            local_id: local_id.to_owned(),
        });
        self.store()
            .ticket(local_id)?
            .ok_or_else(|| SyncError::Invalid("the ticket vanished".into()))
    }

    /// Who files the ticket: the account running this agent, named when
    /// the privacy settings allow user names and the desk said it takes
    /// a requester (an older desk refuses the field, and would refuse the
    /// ticket with it).
    fn requester_name(&self) -> SyncResult<Option<String>> {
        if !self.cfg.privacy.user_names
            || !self.desk_has(deskside_protocol::DeskFeature::TicketRequester)?
        {
            return Ok(None);
        }
        Ok(deskside_host::collect::accounts::current_user_name())
    }

    /// Whether the desk's last check-in answer named `feature`.
    pub(super) fn desk_has(&self, feature: deskside_protocol::DeskFeature) -> SyncResult<bool> {
        let known: Vec<deskside_protocol::DeskFeature> = self
            .store()
            .get(KEY_DESK_FEATURES)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        Ok(known.contains(&feature))
    }

    /// Every ticket: queued ones and the desk's, newest first.
    pub fn my_tickets(&self) -> SyncResult<Vec<LocalTicket>> {
        Ok(self.store().tickets()?)
    }

    /// One ticket (local id or `#number`), with its conversation as last
    /// seen; reading it marks replies as read.
    pub fn ticket(&self, id: &str) -> SyncResult<Option<LocalTicket>> {
        let store = self.store();
        let t = store.ticket(id)?;
        if let Some(t) = &t {
            store.mark_read(&t.local_id)?;
        }
        Ok(t)
    }

    pub(super) fn known(&self, id: &str) -> SyncResult<LocalTicket> {
        self.store()
            .ticket(id)?
            .ok_or_else(|| SyncError::Invalid(format!("no ticket {id}")))
    }

    /// Answers on a ticket (queued like everything else).
    pub fn reply(&self, id: &str, message: &str) -> SyncResult<()> {
        let body = message.trim();
        check_reply(body).map_err(SyncError::Invalid)?;
        let t = self.known(id)?;
        self.store().queue(
            Kind::Comment,
            &new_id("c"),
            &t.local_id,
            &serde_json::json!({"body": body}),
        )?;
        Ok(())
    }

    /// Rates a resolved ticket 1–5.
    pub fn rate(&self, id: &str, score: u8, comment: Option<&str>) -> SyncResult<()> {
        if !(1..=5).contains(&score) {
            return Err(SyncError::Invalid("the score must be 1 to 5".into()));
        }
        let t = self.known(id)?;
        // Refused now rather than queued into a dead letter: the desk takes
        // a rating once, after resolution.
        if !matches!(t.status.as_str(), "resolved" | "closed") {
            return Err(SyncError::Refused(format!(
                "ticket {} is {}: only a resolved or closed ticket can be rated \
                 (run `deskside-agent sync` if IT resolved it a moment ago)",
                t.local_id, t.status
            )));
        }
        // The desk watches the fix for a while before it asks.
        if let Some(opens) = t.server.as_ref().and_then(|s| s.rating_opens_at)
            && opens > Utc::now()
        {
            return Err(SyncError::Refused(format!(
                "ticket {} can be rated from {}, once the fix has held",
                t.local_id,
                opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        if self.store().queued_for(&t.local_id, Kind::Rating)? {
            return Err(SyncError::Refused(format!(
                "ticket {} already has a rating waiting to be sent",
                t.local_id
            )));
        }
        self.store().queue(
            Kind::Rating,
            &new_id("r"),
            &t.local_id,
            &serde_json::json!({"score": score, "comment": comment}),
        )?;
        Ok(())
    }

    /// Reopens a ticket.
    pub fn reopen(&self, id: &str) -> SyncResult<()> {
        let t = self.known(id)?;
        if !matches!(t.status.as_str(), "resolved" | "closed") {
            return Err(SyncError::Refused(format!(
                "ticket {} is {}: only a resolved or closed ticket can be reopened",
                t.local_id, t.status
            )));
        }
        if self.store().queued_for(&t.local_id, Kind::Reopen)? {
            return Err(SyncError::Refused(format!(
                "ticket {} is already waiting to be reopened",
                t.local_id
            )));
        }
        self.store().queue(
            Kind::Reopen,
            &new_id("o"),
            &t.local_id,
            &serde_json::json!({}),
        )?;
        Ok(())
    }
}

/// A ticket's subject: 1 to 200 characters once trimmed.
pub fn check_subject(subject: &str) -> Result<(), String> {
    let n = subject.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(format!(
            "the subject must be 1 to 200 characters (it has {n})"
        ));
    }
    Ok(())
}

/// A ticket's description: at most 20,000 characters.
pub fn check_description(description: &str) -> Result<(), String> {
    let n = description.chars().count();
    if n > 20_000 {
        return Err(format!(
            "the description must be at most 20000 characters (it has {n})"
        ));
    }
    Ok(())
}

/// A reply: 1 to 10,000 characters once trimmed.
pub fn check_reply(body: &str) -> Result<(), String> {
    let n = body.trim().chars().count();
    if n == 0 || n > 10_000 {
        return Err(format!(
            "a reply must be 1 to 10000 characters (it has {n})"
        ));
    }
    Ok(())
}
