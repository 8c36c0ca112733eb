//! Errors of the agent library.

use std::path::PathBuf;

/// Everything that can go wrong in the agent library: things a caller asked
/// for explicitly and could not get.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file the caller named could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration ({origin}): {message}")]
    Config {
        /// Where the value came from: a file path or an environment variable.
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The host layer could not start.
    #[error(transparent)]
    Host(#[from] deskside_host::Error),
}
