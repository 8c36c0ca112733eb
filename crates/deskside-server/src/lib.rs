//! The Deskside desk server: where devices enroll and sync, and where
//! technicians work.
//!
//! - [`store`]: the storage trait with its SQLite (default) and PostgreSQL
//!   backends, chosen from the database URL;
//! - [`api`]: the HTTP API (axum), generic over the store;
//! - [`credentials`]: tokens and passwords, stored only as hashes;
//! - [`workflow`]: the ticket workflow's rules, applied by every backend;
//! - [`config`]: defaults → TOML → `DESKSIDE_*` environment.

pub mod api;
pub mod assignment;
pub mod blobs;
pub mod config;
pub mod credentials;
pub mod kb;
pub mod kpi;
pub mod markdown;
pub mod metric_tiers;
pub mod openapi;
pub mod private_fs;
pub mod problem_candidates;
pub mod ratelimit;
pub mod sla;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod webhooks;
pub mod workflow;
