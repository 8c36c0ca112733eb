//! Errors of the host layer.

/// Collectors never fail for a missing fact — an absent fact is `None`.
/// This is for the few calls that cannot start at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The OS refused to give system information at all.
    #[error("system information unavailable: {0}")]
    System(String),
}
