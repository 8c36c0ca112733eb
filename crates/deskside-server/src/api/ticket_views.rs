//! How a ticket is shown, the same for the device and for technicians: its
//! wire form, and attachments served as safe downloads. Shared by the
//! device and technician endpoints, so neither imports the other.

use super::*;

/// The wire form of a stored ticket.
pub(super) fn ticket_json(
    t: TicketRow,
    attachments: Vec<AttachmentRow>,
    comments: Vec<CommentRow>,
) -> deskside_protocol::Ticket {
    use deskside_protocol::{AttachmentInfo, TicketCategory, TicketStatus, Urgency};
    deskside_protocol::Ticket {
        id: t.id,
        subject: t.subject,
        description: t.description,
        category: enum_from(&t.category, TicketCategory::Other),
        urgency: enum_from(&t.urgency, Urgency::Medium),
        status: enum_from(&t.status, TicketStatus::New),
        priority: u8::try_from(t.priority).unwrap_or(3),
        ticket_type: enum_from(&t.ticket_type, deskside_protocol::TicketType::Incident),
        created_at: t.created_at,
        updated_at: t.updated_at,
        attachments: attachments
            .into_iter()
            .map(|a| AttachmentInfo {
                id: a.id,
                name: a.name,
                content_type: a.content_type,
                size_bytes: u64::try_from(a.size_bytes).unwrap_or_default(),
                diagnostics: a.diagnostics,
            })
            .collect(),
        comments: comments
            .into_iter()
            .map(|c| {
                let note: Option<deskside_protocol::DeskNote> =
                    c.note.as_deref().and_then(|n| serde_json::from_str(n).ok());
                deskside_protocol::Comment {
                    id: c.id,
                    // The desk's own notes read as IT's to agents that do
                    // not know notes.
                    author: if c.user_id.is_some() || note.is_some() {
                        deskside_protocol::CommentAuthor::Technician
                    } else {
                        deskside_protocol::CommentAuthor::Employee
                    },
                    body: c.body,
                    created_at: c.created_at,
                    note,
                }
            })
            .collect(),
        rating_opens_at: t.rating_opens_at,
    }
}

/// Serves an attachment as a download: the stored content type, but never
/// rendered inline and never sniffed, so an uploaded HTML or SVG file
/// cannot run in a technician's browser.
pub(super) async fn attachment_response<S: Store>(
    state: &AppState<S>,
    ticket_id: i64,
    raw: &str,
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such attachment",
        )
    };
    let att_id: i64 = raw.parse().map_err(|_| not_found())?;
    let att = state
        .store
        .attachment(ticket_id, att_id)
        .await?
        .ok_or_else(not_found)?;
    let bytes = state.blobs.get(&att.blob_key).await.map_err(|e| {
        tracing::error!("blob {}: {e}", att.blob_key);
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StorageUnavailable,
            "the attachment is unavailable",
        )
    })?;
    // Only a plain, quoted file name goes into the header.
    let safe: String = att
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let content_type = axum::http::HeaderValue::from_str(&att.content_type).unwrap_or(
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, content_type);
    h.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
