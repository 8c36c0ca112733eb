//! What the Report a problem form gathers before the ticket is filed: the
//! screenshot taken just before the window appeared, and the files the
//! employee added.
//!
//! A draft lives in memory only. Nothing of it reaches the disk (or the
//! desk) unless the employee files the ticket, and then it goes through
//! [`Agent::submit_ticket`](crate::agent::Agent::submit_ticket), which
//! stores it in the outbox first like every ticket. The limits are the
//! desk's, checked here already so that the form can say so next to the
//! file instead of the ticket failing later.

use std::thread::JoinHandle;

use deskside_host::screenshot::Capture;
use serde::Serialize;

use crate::agent::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_TICKET_FILES_BYTES, NamedFile};

/// Why a file was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// Over the desk's per-file limit.
    #[error("{name} is larger than 10 MiB")]
    TooLarge {
        /// The file.
        name: String,
    },
    /// All attachment places are taken.
    #[error("at most {MAX_ATTACHMENTS} files, the screenshot included")]
    TooMany,
    /// The files together would exceed what one ticket carries.
    #[error("the files add up to more than {} MiB", MAX_TICKET_FILES_BYTES / (1024 * 1024))]
    TotalTooLarge,
    /// An empty name.
    #[error("a file needs a name")]
    NoName,
}

impl DraftError {
    /// The message for the employee, in `locale`.
    pub fn localized(&self, locale: crate::i18n::Locale) -> String {
        use crate::i18n::text;
        match self {
            Self::TooLarge { name } => text(locale, "ui.validation.file_large", &[("name", name)]),
            Self::TooMany => text(locale, "ui.validation.file_count", &[]),
            Self::TotalTooLarge => text(locale, "ui.validation.files_total", &[]),
            Self::NoName => text(locale, "ui.validation.file_name", &[]),
        }
    }
}

/// A file of the draft as the form lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftFile {
    /// Its id within the draft.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: usize,
}

enum Screenshot {
    None,
    Encoding(JoinHandle<Result<Vec<u8>, String>>),
    Ready(Vec<u8>),
    Failed(String),
}

/// The screenshot and files of the report being written.
pub struct ReportDraft {
    screenshot: Screenshot,
    files: Vec<(u64, NamedFile)>,
    next_id: u64,
    report: Option<deskside_protocol::TrayReport>,
}

impl Default for ReportDraft {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ReportDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportDraft")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl ReportDraft {
    /// An empty draft.
    pub fn new() -> Self {
        Self {
            screenshot: Screenshot::None,
            files: Vec::new(),
            next_id: 1,
            report: None,
        }
    }

    /// Keeps `capture` as the report's screenshot. It is encoded as PNG on
    /// a thread of its own, so the window that follows opens without
    /// waiting for it.
    pub fn set_screenshot(&mut self, capture: Capture) {
        let encode = std::thread::Builder::new()
            .name("deskside-screenshot".into())
            .spawn(move || capture.to_png().map_err(|e| e.to_string()));
        self.screenshot = match encode {
            Ok(handle) => Screenshot::Encoding(handle),
            Err(e) => Screenshot::Failed(e.to_string()),
        };
    }

    /// The screenshot as PNG, once encoded; `None` when there is none (not
    /// taken, removed, or it could not be encoded).
    pub fn screenshot(&mut self) -> Option<&[u8]> {
        if let Screenshot::Encoding(_) = self.screenshot {
            let Screenshot::Encoding(handle) =
                std::mem::replace(&mut self.screenshot, Screenshot::None)
            else {
                unreachable!("matched above")
            };
            self.screenshot = match handle.join() {
                Ok(Ok(png)) => Screenshot::Ready(png),
                Ok(Err(e)) => Screenshot::Failed(e),
                Err(_) => Screenshot::Failed("the encoder panicked".into()),
            };
            if let Screenshot::Failed(e) = &self.screenshot {
                tracing::warn!("no screenshot for the report: {e}");
            }
        }
        match &self.screenshot {
            Screenshot::Ready(png) => Some(png),
            _ => None,
        }
    }

    /// Leaves the screenshot out of the report.
    pub fn remove_screenshot(&mut self) {
        self.screenshot = Screenshot::None;
    }

    fn has_screenshot(&self) -> bool {
        matches!(
            self.screenshot,
            Screenshot::Encoding(_) | Screenshot::Ready(_)
        )
    }

    /// Adds a file the employee picked.
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>) -> Result<DraftFile, DraftError> {
        let name = crate::agent::file_name(name)
            .ok_or(DraftError::NoName)?
            .to_owned();
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(DraftError::TooLarge { name });
        }
        if self.files.len() + usize::from(self.has_screenshot()) >= MAX_ATTACHMENTS {
            return Err(DraftError::TooMany);
        }
        let screenshot = match &self.screenshot {
            Screenshot::Ready(png) => png.len(),
            _ => 0,
        };
        let total: usize = self.files.iter().map(|(_, f)| f.bytes.len()).sum();
        if total + screenshot + bytes.len() > MAX_TICKET_FILES_BYTES {
            return Err(DraftError::TotalTooLarge);
        }
        let id = self.next_id;
        self.next_id += 1;
        let listed = DraftFile {
            id,
            name: name.clone(),
            size: bytes.len(),
        };
        self.files.push((id, NamedFile { name, bytes }));
        Ok(listed)
    }

    /// Takes a file out again; `false` when there was no such file.
    pub fn remove_file(&mut self, id: u64) -> bool {
        let before = self.files.len();
        self.files.retain(|(i, _)| *i != id);
        self.files.len() != before
    }

    /// The files, in the order they were added.
    pub fn files(&self) -> Vec<DraftFile> {
        self.files
            .iter()
            .map(|(id, f)| DraftFile {
                id: *id,
                name: f.name.clone(),
                size: f.bytes.len(),
            })
            .collect()
    }

    /// Begins the report's record (the form opened); a record already
    /// begun is replaced.
    pub fn begin(&mut self, report: deskside_protocol::TrayReport) {
        self.report = Some(report);
    }

    /// Notes articles suggested to the employee (each once, at most 20,
    /// the desk's limit).
    pub fn shown(&mut self, ids: impl IntoIterator<Item = i64>) {
        if let Some(r) = self.report.as_mut() {
            for id in ids {
                if !r.shown.contains(&id) && r.shown.len() < 20 {
                    r.shown.push(id);
                }
            }
        }
    }

    /// The report's record, handed over (to a ticket or as solved).
    pub fn take_report(&mut self) -> Option<deskside_protocol::TrayReport> {
        self.report.take()
    }

    /// Empties the draft, handing over what the ticket carries: the
    /// screenshot and the files.
    pub fn take(&mut self) -> (Option<Vec<u8>>, Vec<NamedFile>) {
        let png = self.screenshot().map(<[u8]>::to_vec);
        let files = std::mem::take(&mut self.files)
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        *self = Self::new();
        (png, files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture() -> Capture {
        Capture {
            width: 2,
            height: 2,
            rgb: vec![200; 12],
        }
    }

    #[test]
    fn the_screenshot_is_encoded_off_the_caller_and_can_be_removed() {
        let mut d = ReportDraft::new();
        assert!(d.screenshot().is_none());
        d.set_screenshot(capture());
        let png = d.screenshot().expect("encoded").to_vec();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        d.remove_screenshot();
        assert!(d.screenshot().is_none());
        assert_eq!(d.take(), (None, vec![]));
    }

    #[test]
    fn files_are_listed_removed_and_handed_over() {
        let mut d = ReportDraft::new();
        d.set_screenshot(capture());
        let a = d.add_file("/home/kim/error.log", b"boom".to_vec()).unwrap();
        assert_eq!(a.name, "error.log", "only the name, never a path");
        let b = d
            .add_file("C:\\Users\\kim\\photo.jpg", vec![1; 10])
            .unwrap();
        assert_eq!(b.name, "photo.jpg");
        assert_ne!(a.id, b.id);
        assert!(d.remove_file(a.id));
        assert!(!d.remove_file(a.id), "already gone");
        assert_eq!(
            d.files(),
            vec![DraftFile {
                id: b.id,
                name: "photo.jpg".into(),
                size: 10
            }]
        );
        let (png, files) = d.take();
        assert!(png.is_some());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].bytes, vec![1; 10]);
        assert!(d.files().is_empty(), "take empties the draft");
        assert!(d.screenshot().is_none());
    }

    #[test]
    fn errors_speak_the_employees_language() {
        use crate::i18n::Locale;
        let e = DraftError::TooLarge {
            name: "a.iso".into(),
        };
        assert_eq!(e.localized(Locale::En), "a.iso is larger than 10 MB.");
        assert!(e.localized(Locale::Ko).contains("a.iso"));
        for e in [
            DraftError::TooMany,
            DraftError::TotalTooLarge,
            DraftError::NoName,
        ] {
            for l in [Locale::En, Locale::Ko, Locale::Ja] {
                assert!(!e.localized(l).starts_with("ui."), "{e:?} in {l:?}");
            }
        }
    }

    #[test]
    fn the_desks_limits_are_checked_when_a_file_is_added() {
        let mut d = ReportDraft::new();
        assert_eq!(
            d.add_file("big.iso", vec![0; MAX_ATTACHMENT_BYTES + 1]),
            Err(DraftError::TooLarge {
                name: "big.iso".into()
            })
        );
        assert_eq!(d.add_file("  ", vec![1]), Err(DraftError::NoName));
        d.set_screenshot(capture());
        for i in 0..MAX_ATTACHMENTS - 1 {
            d.add_file(&format!("f{i}.txt"), vec![1]).unwrap();
        }
        assert_eq!(
            d.add_file("one-more.txt", vec![1]),
            Err(DraftError::TooMany),
            "the screenshot takes a place"
        );
        d.remove_screenshot();
        d.add_file("now.txt", vec![1]).unwrap();

        let mut d = ReportDraft::new();
        for i in 0..2 {
            d.add_file(&format!("{i}.bin"), vec![0; MAX_ATTACHMENT_BYTES])
                .unwrap();
        }
        assert_eq!(
            d.add_file("third.bin", vec![0; MAX_ATTACHMENT_BYTES]),
            Err(DraftError::TotalTooLarge)
        );
    }
}
