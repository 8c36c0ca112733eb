//! Self-service before a ticket: the articles kept on this device, the
//! suggestions of the report form and the health window, and the report's
//! record (begun, solved by an article, or filed) that the desk's
//! deflection figures count. Everything here works offline: records go
//! through the outbox.

use std::sync::Arc;

use deskside_protocol::{DeskFeature, DeviceArticle, DeviceKb, TrayReport};

use super::*;
use crate::kb::{FailingCheck, Suggestion};

impl Agent {
    /// The articles the desk sent last, if any.
    pub fn local_kb(&self) -> SyncResult<Option<Arc<DeviceKb>>> {
        let mut cache = self.kb_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kb) = cache.as_ref() {
            return Ok(Some(Arc::clone(kb)));
        }
        let kb = self
            .store()
            .get(KEY_KB)?
            .and_then(|s| serde_json::from_str::<DeviceKb>(&s).ok())
            .map(Arc::new);
        cache.clone_from(&kb);
        Ok(kb)
    }

    /// Keeps the articles a check-in answer brought.
    pub(super) fn keep_kb(&self, kb: DeviceKb) -> SyncResult<()> {
        self.store().set(
            KEY_KB,
            Some(&serde_json::to_string(&kb).unwrap_or_default()),
        )?;
        *self.kb_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(kb));
        Ok(())
    }

    /// The language the employee reads (the app's setting, else the
    /// system's).
    pub fn reader_locale(&self) -> crate::i18n::Locale {
        self.app_setting("language")
            .ok()
            .flatten()
            .and_then(|l| crate::i18n::Locale::from_tag(&l))
            .unwrap_or_else(crate::i18n::Locale::detect)
    }

    /// The checks failing on this device now, titled in `locale`.
    pub fn failing_checks(&self, locale: crate::i18n::Locale) -> SyncResult<Vec<FailingCheck>> {
        let policy = self.active_policy()?;
        let tracker = deskside_host::checks::Tracker::load(&self.state_dir.join("checks.json"))
            .unwrap_or_default();
        let view = crate::health::view(&policy, &tracker, locale);
        Ok(view
            .checks
            .into_iter()
            .filter(|c| c.state == "warning" || c.state == "critical")
            .filter_map(|c| {
                let kind = policy
                    .checks
                    .iter()
                    .find(|p| p.spec.id == c.id)?
                    .spec
                    .kind
                    .clone();
                Some(FailingCheck {
                    id: c.id,
                    kind,
                    title: c.title,
                })
            })
            .collect())
    }

    /// Up to three articles for what the employee typed, those of failing
    /// checks first; none without kept articles.
    pub fn kb_suggestions(
        &self,
        text: &str,
        locale: crate::i18n::Locale,
    ) -> SyncResult<Vec<Suggestion>> {
        let Some(kb) = self.local_kb()? else {
            return Ok(Vec::new());
        };
        let failing = self.failing_checks(locale)?;
        Ok(crate::kb::suggest(&kb, text, &failing))
    }

    /// The health window's view, each failing check with its article.
    pub fn health_with_articles(
        &self,
        locale: crate::i18n::Locale,
    ) -> SyncResult<crate::health::HealthView> {
        let mut view = self.health(locale)?;
        let (Some(kb), failing) = (self.local_kb()?, self.failing_checks(locale)?) else {
            return Ok(view);
        };
        for check in &mut view.checks {
            let Some(f) = failing.iter().find(|f| f.id == check.id) else {
                continue;
            };
            check.article = kb
                .articles
                .iter()
                .find(|a| crate::kb::linked_check(a, std::slice::from_ref(f)).is_some())
                .map(|a| crate::health::ArticleLink {
                    id: a.id,
                    title: a.title.clone(),
                });
        }
        Ok(view)
    }

    /// A kept article.
    pub fn kb_article(&self, id: i64) -> SyncResult<Option<DeviceArticle>> {
        Ok(self
            .local_kb()?
            .and_then(|kb| kb.articles.iter().find(|a| a.id == id).cloned()))
    }

    /// Begins a report in the tray: its record, sent to a desk that takes
    /// them (through the outbox, so also when offline).
    pub fn begin_report(&self) -> SyncResult<TrayReport> {
        let report = TrayReport {
            id: uuid(),
            started_at: Utc::now(),
            shown: Vec::new(),
            solved_by: None,
        };
        self.queue_report(&report, "started")?;
        Ok(report)
    }

    /// The employee said `report`'s `solved_by` article solved it: no
    /// ticket, and the desk counts it.
    pub fn report_solved(&self, report: &TrayReport) -> SyncResult<()> {
        if report.solved_by.is_none() {
            return Err(SyncError::Invalid("which article solved it?".into()));
        }
        self.queue_report(report, "solved")
    }

    fn queue_report(&self, report: &TrayReport, stage: &str) -> SyncResult<()> {
        // A desk from before the knowledge base would refuse the record
        // for good: nothing to count there.
        if !self.desk_has(DeskFeature::KnowledgeBase)? {
            return Ok(());
        }
        let payload = serde_json::to_value(report).unwrap_or_default();
        self.store()
            .queue_report(&format!("report-{}-{stage}", report.id), &payload)?;
        Ok(())
    }
}

/// A random UUID (version 4), the report's id.
fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
