//! Check-ins: health and changed check results up, technicians' replies,
//! a new policy and inventory requests down; the inventory and the policy
//! the checks run.

use super::*;

/// How long a collected inventory serves check-ins.
pub const INVENTORY_EVERY: Duration = Duration::from_secs(3600);

/// What a check-in brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckinOutcome {
    /// New technician replies.
    pub replies: u32,
    /// Tickets whose status changed.
    pub status_changes: usize,
    /// A new policy version arrived.
    pub new_policy: Option<u64>,
    /// The inventory was uploaded.
    pub inventory_sent: bool,
    /// New articles arrived: how many the device keeps now.
    pub kb_articles: Option<usize>,
    /// When to check in next.
    pub next_checkin: Duration,
}

impl Agent {
    /// The inventory, collected at most once per [`INVENTORY_EVERY`].
    pub(super) fn recent_inventory(&self) -> Inventory {
        {
            let cache = self
                .inventory_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((at, inv)) = cache.as_ref()
                && at.elapsed() < INVENTORY_EVERY
            {
                return inv.clone();
            }
        }
        self.fresh_inventory()
    }

    /// The inventory collected now; it also serves the next check-ins.
    pub(super) fn fresh_inventory(&self) -> Inventory {
        let inv = self.inventory();
        // Software changes for diagnostics; a failure here must not stop
        // check-ins.
        if let Err(e) = self.store().record_inventory(&inv) {
            tracing::warn!("cannot keep the inventory change history: {e}");
        }
        *self
            .inventory_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), inv.clone()));
        inv
    }

    pub(super) fn inventory(&self) -> Inventory {
        let opts = deskside_host::collect::CollectOptions {
            software_sources: self.cfg.inventory.software_sources.clone(),
            command_timeout: self.cfg.inventory.command_timeout,
            ..Default::default()
        };
        let mut inv = deskside_host::collect::collect_inventory(&opts);
        inv.agent_version = Some(crate::AGENT_VERSION.to_owned());
        crate::config::apply_privacy(&mut inv, &self.cfg.privacy);
        // Cloned machines (VM images) share a machine id; an installer can
        // give each its own key.
        if let Ok(key) = std::env::var("DESKSIDE_DEVICE_KEY")
            && !key.is_empty()
        {
            inv.device.device_key = Some(key);
        }
        inv
    }

    /// Checks in once: health, and what the desk has for this device
    /// (ticket updates are stored and notified; a new policy is kept for
    /// the scheduler; the inventory is uploaded when the desk wants it).
    pub async fn checkin(&self) -> SyncResult<CheckinOutcome> {
        self.checkin_with(Vec::new(), None).await
    }

    /// [`Agent::checkin`] carrying metric samples. Only check results that
    /// changed since the last check-in of this process are sent, so an idle
    /// device's check-in stays small.
    ///
    /// `results` are the check results as they are now (the running
    /// scheduler's); without them the ones last saved in the state
    /// directory are sent, which a running scheduler writes only now and
    /// then.
    pub async fn checkin_with(
        &self,
        metrics: Vec<deskside_protocol::MetricSample>,
        results: Option<deskside_host::checks::Tracker>,
    ) -> SyncResult<CheckinOutcome> {
        let desk = self.desk()?;
        if let Some(wait) = self.desk_busy()? {
            return Err(DeskError::Waiting(wait).into());
        }
        self.emit(Event::SyncState(SyncState::Syncing));
        let inventory = self.recent_inventory();
        let hash = inventory_hash(&inventory);
        let tracker = results.unwrap_or_else(|| {
            deskside_host::checks::Tracker::load(&self.state_dir.join("checks.json"))
                .unwrap_or_default()
        });
        let kb_version = self.local_kb()?.map(|kb| kb.version.clone());
        let kb_lang = match self.reader_locale() {
            crate::i18n::Locale::En => deskside_protocol::ArticleLang::En,
            crate::i18n::Locale::Ko => deskside_protocol::ArticleLang::Ko,
            crate::i18n::Locale::Ja => deskside_protocol::ArticleLang::Ja,
        };
        let (seen, policy_version) = {
            let store = self.store();
            let seen = store
                .get(KEY_TICKETS_SEEN)?
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|d| d.with_timezone(&Utc));
            let policy_version = store
                .get(KEY_POLICY)?
                .and_then(|p| serde_json::from_str::<deskside_protocol::Policy>(&p).ok())
                .map(|p| p.version);
            (seen, policy_version)
        };
        // The checks this device runs: results of any other check (an
        // earlier policy's, the built-in one's before the desk's arrived)
        // are neither sent nor kept at the desk.
        let running: Option<Vec<String>> = self.active_policy().ok().map(|p| {
            let mut ids: Vec<String> = p.checks.iter().map(|c| c.spec.id.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let checks = {
            let sent = self.sent_checks.lock().unwrap_or_else(|p| p.into_inner());
            running.clone().filter(|ids| sent.as_ref() != Some(ids))
        };
        let mut check_results = self.changed_results(&tracker);
        if let Some(ids) = &running {
            check_results.retain(|r| ids.binary_search(&r.check_id).is_ok());
        }
        let req = CheckinRequest {
            agent_version: Some(crate::AGENT_VERSION.to_owned()),
            overall_health: (!tracker.last_results.is_empty()).then(|| tracker.overall()),
            policy_version,
            inventory_hash: Some(hash),
            check_results,
            metrics,
            tickets_seen_at: seen,
            // A device enrolled before it had a key registers one.
            public_key: self.public_key().ok(),
            // Desks from before the knowledge base ignore both.
            kb_version,
            kb_lang: Some(kb_lang),
            checks,
        };
        let mut token = self.token().await?;
        let answer = match desk.checkin(&token, &req).await {
            Err(DeskError::Unauthorized) => {
                self.credentials.clear()?;
                self.reenroll().await?;
                token = self.token().await?;
                desk.checkin(&token, &req).await
            }
            other => other,
        };
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.note_failure(&e);
                self.emit(Event::SyncState(SyncState::Offline));
                return Err(e.into());
            }
        };
        let mut outcome = CheckinOutcome::default();
        for t in &answer.ticket_updates {
            let (replies, status) = self.store().merge_server_ticket(t)?;
            let local_id = self
                .store()
                .ticket(&format!("#{}", t.id))?
                .map(|l| l.local_id);
            if let Some(local_id) = &local_id {
                self.emit(Event::TicketUpdated {
                    local_id: local_id.clone(),
                });
            }
            let mut notifier = self.notifier.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = notifier.as_mut() {
                if replies > 0 {
                    n.on_ticket(t.id, &t.subject, None, local_id.as_deref());
                }
                if let Some(s) = &status {
                    n.on_ticket(t.id, &t.subject, Some(s), local_id.as_deref());
                }
            }
            outcome.replies += replies;
            outcome.status_changes += usize::from(status.is_some());
            if seen.is_none_or(|s| t.updated_at > s) {
                self.store()
                    .set(KEY_TICKETS_SEEN, Some(&t.updated_at.to_rfc3339()))?;
            }
        }
        self.store().set(
            KEY_DESK_FEATURES,
            Some(&serde_json::to_string(&answer.features).unwrap_or_default()),
        )?;
        if let Some(p) = &answer.policy {
            self.store().set(
                KEY_POLICY,
                Some(&serde_json::to_string(p).unwrap_or_default()),
            )?;
            outcome.new_policy = Some(p.version);
        }
        if let Some(kb) = answer.kb {
            outcome.kb_articles = Some(kb.articles.len());
            self.keep_kb(kb)?;
        }
        if answer.send_inventory {
            desk.put_inventory(&token, &inventory).await?;
            outcome.inventory_sent = true;
        }
        outcome.next_checkin = Duration::from_secs(answer.next_checkin_secs.max(5));
        {
            let mut sent = self.sent_results.lock().unwrap_or_else(|p| p.into_inner());
            for r in &req.check_results {
                sent.insert(
                    r.check_id.clone(),
                    (r.state, r.alert_state, r.summary.clone()),
                );
            }
        }
        if let Some(ids) = req.checks {
            *self.sent_checks.lock().unwrap_or_else(|p| p.into_inner()) = Some(ids);
        }
        self.note_success();
        self.emit(Event::SyncState(SyncState::Online));
        Ok(outcome)
    }

    pub(super) fn changed_results(
        &self,
        tracker: &deskside_host::checks::Tracker,
    ) -> Vec<deskside_protocol::CheckResult> {
        let sent = self.sent_results.lock().unwrap_or_else(|p| p.into_inner());
        tracker
            .last_results
            .values()
            // The reported state counts too: it changes on the n-th
            // failure of fails_before_alert with the same raw result.
            .filter(|r| sent.get(&r.check_id) != Some(&(r.state, r.alert_state, r.summary.clone())))
            .cloned()
            .collect()
    }

    /// Delivers the outbox and checks in once.
    pub async fn sync(&self) -> SyncResult<(DeliveryReport, CheckinOutcome)> {
        let delivered = self.deliver_now().await?;
        let checked = self.checkin().await?;
        Ok((delivered, checked))
    }

    /// The policy the desk sent last, if any.
    pub fn desk_policy(&self) -> SyncResult<Option<deskside_protocol::Policy>> {
        Ok(self
            .store()
            .get(KEY_POLICY)?
            .and_then(|p| serde_json::from_str(&p).ok()))
    }

    /// The checks to run: the desk's policy confined to what this device
    /// allows (its system configuration's `[checks]`), or the built-in
    /// policy when the desk sent none.
    pub fn active_policy(&self) -> SyncResult<deskside_host::checks::LoadedPolicy> {
        Ok(self
            .desk_policy()?
            .map_or_else(deskside_host::checks::LoadedPolicy::builtin, |p| {
                deskside_host::checks::confine::load_from_desk(&p, &self.cfg.checks.rules())
            }))
    }
}
