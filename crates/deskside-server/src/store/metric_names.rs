//! The ids of metric series names, cached: a check-in names a dozen
//! series, and asking the database for each on every check-in would cost
//! more than storing the sample. Ids never change once given, so the
//! cache is never stale, on any node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Names ↔ ids seen so far.
#[derive(Debug, Clone, Default)]
pub struct NameCache(Arc<RwLock<Names>>);

#[derive(Debug, Default)]
struct Names {
    ids: HashMap<String, i64>,
    names: HashMap<i64, String>,
}

/// Upper bound on cached names: the set is small in practice (kinds ×
/// mount points and interfaces), but it is fed by devices.
const MAX_CACHED: usize = 100_000;

impl NameCache {
    /// The cached id of `name`.
    pub fn id(&self, name: &str) -> Option<i64> {
        self.0.read().ok()?.ids.get(name).copied()
    }

    /// The cached name of `id`.
    pub fn name(&self, id: i64) -> Option<String> {
        self.0.read().ok()?.names.get(&id).cloned()
    }

    /// Remembers that `name` has `id`.
    pub fn insert(&self, name: &str, id: i64) {
        if let Ok(mut n) = self.0.write() {
            if n.ids.len() >= MAX_CACHED {
                n.ids.clear();
                n.names.clear();
            }
            n.ids.insert(name.to_owned(), id);
            n.names.insert(id, name.to_owned());
        }
    }
}

/// A check-in's samples as stored: (Unix seconds, encoded values).
pub(super) async fn encode_samples<S: super::Store>(
    store: &S,
    samples: &[(
        chrono::DateTime<chrono::Utc>,
        crate::metric_tiers::NamedValues,
    )],
) -> super::StoreResult<Vec<(i64, Vec<u8>)>> {
    let mut out = Vec::with_capacity(samples.len());
    for (at, values) in samples {
        let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        let ids = store.metric_name_ids(&names).await?;
        let pairs: Vec<(i64, f64)> = ids
            .into_iter()
            .zip(values.iter().map(|(_, v)| *v))
            .collect();
        out.push((at.timestamp(), crate::metric_tiers::encode_raw(&pairs)));
    }
    Ok(out)
}
