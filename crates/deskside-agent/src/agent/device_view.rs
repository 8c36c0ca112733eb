//! What the agent shows of this device: the diagnostics bundle, the
//! summary for "Copy for IT", the health window and its charts.

use super::*;

impl Agent {
    /// The diagnostics bundle as it would go with a ticket now (a preview
    /// for the employee, and what `submit_ticket` attaches); `screenshot`
    /// names the screenshot attached beside it. Takes about half a second.
    pub fn diagnostics(&self, screenshot: Option<&str>) -> SyncResult<crate::diagnostics::Bundle> {
        let inv = self.fresh_inventory();
        let now = Utc::now();
        let (history, changes) = {
            let store = self.store();
            (
                store.metric_history(now - crate::diagnostics::ROLLUP_HISTORY)?,
                store.inventory_changes(now - crate::diagnostics::SOFTWARE_CHANGES)?,
            )
        };
        Ok(crate::diagnostics::build(crate::diagnostics::Inputs {
            cfg: &self.cfg,
            state_dir: &self.state_dir,
            inventory: Some(&inv),
            history: &history,
            changes: &changes,
            desk_url: self.desk.as_ref().map(DeskClient::base),
            screenshot,
        }))
    }

    /// A bundle built without opening the agent's state for writing — for
    /// a state directory on a read-only file system, which is when a
    /// technician needs one most. The kept history comes from the store
    /// opened read-only when there is one.
    pub fn diagnostics_read_only(cfg: &AgentConfig) -> crate::diagnostics::Bundle {
        let state_dir = cfg.state_dir();
        let now = Utc::now();
        let (history, changes) = match AgentStore::open_read_only(&state_dir) {
            Ok(store) => (
                store
                    .metric_history(now - crate::diagnostics::ROLLUP_HISTORY)
                    .unwrap_or_default(),
                store
                    .inventory_changes(now - crate::diagnostics::SOFTWARE_CHANGES)
                    .unwrap_or_default(),
            ),
            Err(e) => {
                tracing::info!("no kept history for the bundle: {e}");
                (Vec::new(), Vec::new())
            }
        };
        let inv =
            deskside_host::collect::collect_inventory(&deskside_host::collect::CollectOptions {
                software_sources: cfg.inventory.software_sources.clone(),
                command_timeout: cfg.inventory.command_timeout,
                ..Default::default()
            });
        crate::diagnostics::build(crate::diagnostics::Inputs {
            cfg,
            state_dir: &state_dir,
            inventory: Some(&inv),
            history: &history,
            changes: &changes,
            desk_url: cfg.desk.server_url.as_deref(),
            screenshot: None,
        })
    }

    /// The inventory summary phone support asks for: (label key, value)
    /// pairs for model, serial number, OS, CPU, memory and disks. The label
    /// keys are `ui.device.*` in the catalogs.
    pub fn inventory_summary(&self) -> Vec<(String, String)> {
        let inv = self.recent_inventory();
        let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
        let hw = &inv.hardware;
        let model = hw.system.as_ref().map(|s| {
            [s.vendor.as_deref(), s.model.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let disks: Vec<String> = hw
            .disks
            .iter()
            .map(|d| {
                let size = d.size_bytes.map(gib).unwrap_or_default();
                format!("{} {}", d.model.as_deref().unwrap_or(&d.name), size)
                    .trim()
                    .to_owned()
            })
            .collect();
        [
            ("ui.device.hostname", inv.device.hostname.clone()),
            ("ui.device.model", model.filter(|m| !m.is_empty())),
            ("ui.device.serial", inv.device.serial_number.clone()),
            (
                "ui.device.os",
                inv.os.long_name.clone().or_else(|| inv.os.name.clone()),
            ),
            (
                "ui.device.cpu",
                hw.cpu.as_ref().and_then(|c| c.brand.clone()),
            ),
            (
                "ui.device.memory",
                hw.memory.as_ref().and_then(|m| m.total_bytes).map(gib),
            ),
            (
                "ui.device.disks",
                (!disks.is_empty()).then(|| disks.join(", ")),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.unwrap_or_else(|| "—".to_owned())))
        .collect()
    }

    /// The device's health as the "Device health" window shows it.
    pub fn health(&self, locale: crate::i18n::Locale) -> SyncResult<crate::health::HealthView> {
        let policy = self.active_policy()?;
        let tracker = deskside_host::checks::Tracker::load(&self.state_dir.join("checks.json"))
            .unwrap_or_default();
        Ok(crate::health::view(&policy, &tracker, locale))
    }

    /// The last hour's CPU and memory, for the health window's charts.
    pub fn metric_chart(&self) -> SyncResult<Vec<crate::health::MetricPoint>> {
        let since = Utc::now() - crate::diagnostics::HISTORY;
        Ok(crate::health::chart(&self.store().metric_history(since)?))
    }

    /// Keeps metric samples for diagnostics bundles (a day's worth: the
    /// last hour goes in full, the rest as one-minute rollups).
    pub fn record_metrics(&self, samples: &[deskside_protocol::MetricSample]) -> SyncResult<()> {
        Ok(self
            .store()
            .record_metrics(samples, crate::diagnostics::ROLLUP_HISTORY)?)
    }

    /// When the newest kept metric sample was taken.
    pub fn last_recorded_metric(&self) -> SyncResult<Option<DateTime<Utc>>> {
        Ok(self.store().last_metric_at()?)
    }
}
