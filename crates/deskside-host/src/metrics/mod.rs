//! Health metrics: a cheap [`Sampler`], the in-memory [`MetricsHistory`]
//! (raw samples for the last hour, one-minute rollups for the last day) and
//! a background [`SamplerThread`] that feeds one into the other.

pub mod history;
pub mod sampler;

pub use history::MetricsHistory;
pub use sampler::{Sampler, SamplerThread};
