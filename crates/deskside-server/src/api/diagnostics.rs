//! A ticket's diagnostics bundle, read back for technicians: validated
//! (gzip, size, JSON, format version) and served parsed, so the console
//! never has to trust or unpack what a device sent. A missing, corrupt or
//! unknown-version bundle is a state of the answer, not an error.

use std::io::Read;

use deskside_protocol::diagnostics::{DiagnosticsBundle, SUPPORTED_FORMAT_VERSIONS};

use super::*;

/// Largest bundle the desk unpacks: the agent caps the compressed file at
/// 2 MiB, whose JSON is rarely over 20 MiB; anything past this is a
/// compression bomb, not diagnostics.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// What the desk could make of a ticket's bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BundleState {
    /// Read; `bundle` holds it.
    Ok,
    /// The ticket was filed without diagnostics.
    Missing,
    /// Not gzip, not JSON, or larger than the desk unpacks.
    Corrupt,
    /// Written in a format version this desk does not know.
    UnsupportedVersion,
    /// The stored file could not be read now; try again.
    Unavailable,
}

/// `GET /api/v1/tickets/{id}/diagnostics` answer.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct DiagnosticsView {
    /// What the desk could make of it.
    pub state: BundleState,
    /// Why it is not `ok`, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The attachment holding it (for the raw download).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<i64>,
    /// Its compressed size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// The format version it declares, when it could be read that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
    /// The bundle, when `state` is `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Box<DiagnosticsBundle>>,
}

impl DiagnosticsView {
    fn state(state: BundleState, reason: impl Into<String>) -> Self {
        Self {
            state,
            reason: Some(reason.into()),
            attachment_id: None,
            size_bytes: None,
            format_version: None,
            bundle: None,
        }
    }
}

/// Reads a stored bundle: gzip (or plain JSON from old agents), at most
/// [`MAX_UNPACKED_BYTES`], of a known format version.
pub(crate) fn read_bundle(bytes: &[u8]) -> DiagnosticsView {
    let mut json = Vec::new();
    let unpacked = if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_UNPACKED_BYTES + 1)
            .read_to_end(&mut json)
            .map(|_| ())
    } else {
        json.extend_from_slice(bytes);
        Ok(())
    };
    if let Err(e) = unpacked {
        return DiagnosticsView::state(BundleState::Corrupt, format!("not a gzip file: {e}"));
    }
    if json.len() as u64 > MAX_UNPACKED_BYTES {
        return DiagnosticsView::state(
            BundleState::Corrupt,
            format!(
                "unpacks to more than {} MiB",
                MAX_UNPACKED_BYTES / 1024 / 1024
            ),
        );
    }
    // The version first, so a newer agent's bundle is reported as such
    // even when its shape changed.
    #[derive(serde::Deserialize)]
    struct Head {
        format_version: u32,
    }
    let version = match serde_json::from_slice::<Head>(&json) {
        Ok(h) => h.format_version,
        Err(e) => {
            return DiagnosticsView::state(
                BundleState::Corrupt,
                format!("not a diagnostics document: {e}"),
            );
        }
    };
    if !SUPPORTED_FORMAT_VERSIONS.contains(&version) {
        return DiagnosticsView {
            format_version: Some(version),
            ..DiagnosticsView::state(
                BundleState::UnsupportedVersion,
                format!(
                    "format version {version}; this desk reads versions {} to {}",
                    SUPPORTED_FORMAT_VERSIONS.start(),
                    SUPPORTED_FORMAT_VERSIONS.end()
                ),
            )
        };
    }
    match serde_json::from_slice::<DiagnosticsBundle>(&json) {
        Ok(b) => DiagnosticsView {
            state: BundleState::Ok,
            reason: None,
            attachment_id: None,
            size_bytes: None,
            format_version: Some(version),
            bundle: Some(Box::new(b)),
        },
        Err(e) => DiagnosticsView {
            format_version: Some(version),
            ..DiagnosticsView::state(BundleState::Corrupt, format!("unreadable: {e}"))
        },
    }
}

/// `GET /api/v1/tickets/{id}/diagnostics`: the ticket's bundle, parsed.
pub(super) async fn ticket_diagnostics<S: Store>(
    State(state): State<AppState<S>>,
    UserAuth(_): UserAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<DiagnosticsView>, ApiError> {
    let w = super::tickets::work_item(&state, &raw).await?;
    let atts = state.store.ticket_attachments(w.row.id).await?;
    let Some(att) = atts.into_iter().find(|a| a.diagnostics) else {
        return Ok(Json(DiagnosticsView::state(
            BundleState::Missing,
            "the ticket was filed without diagnostics",
        )));
    };
    let mut view = match state.blobs.get(&att.blob_key).await {
        Ok(bytes) => {
            let bytes = bytes.to_vec();
            // Unpacking and parsing several MiB is CPU work: off the
            // request threads.
            tokio::task::spawn_blocking(move || read_bundle(&bytes))
                .await
                .unwrap_or_else(|e| DiagnosticsView::state(BundleState::Corrupt, e.to_string()))
        }
        Err(e) => {
            tracing::error!("blob {}: {e}", att.blob_key);
            DiagnosticsView::state(
                BundleState::Unavailable,
                "the stored bundle cannot be read now",
            )
        }
    };
    view.attachment_id = Some(att.id);
    view.size_bytes = Some(att.size_bytes);
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn reads_a_bundle() {
        let v = read_bundle(&gz(
            br#"{"format_version": 2, "logs": ["x"], "agent_version": "1"}"#,
        ));
        assert_eq!(v.state, BundleState::Ok);
        assert_eq!(v.bundle.expect("bundle").logs, ["x"]);
    }

    #[test]
    fn a_newer_version_is_named() {
        let v = read_bundle(&gz(br#"{"format_version": 99, "logs": 5}"#));
        assert_eq!(v.state, BundleState::UnsupportedVersion);
        assert_eq!(v.format_version, Some(99));
    }

    #[test]
    fn garbage_is_corrupt() {
        assert_eq!(read_bundle(b"\x1f\x8bnot gzip").state, BundleState::Corrupt);
        assert_eq!(read_bundle(&gz(b"[1,2")).state, BundleState::Corrupt);
        assert_eq!(
            read_bundle(&gz(br#"{"format_version": 2, "logs": 5}"#)).state,
            BundleState::Corrupt
        );
    }

    #[test]
    fn a_compression_bomb_is_refused_without_unpacking_it_all() {
        let zeros = vec![b' '; (MAX_UNPACKED_BYTES + 10) as usize];
        let v = read_bundle(&gz(&zeros));
        assert_eq!(v.state, BundleState::Corrupt);
        assert!(v.reason.expect("reason").contains("more than"));
    }
}
