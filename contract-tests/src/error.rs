//! The harness's one error type: what went wrong talking to a target, loading scenarios or
//! writing reports, with enough named (the request, the status, the client id) to act on.

use std::path::Path;

use serde_json::Value;

use crate::client::ClientError;
use crate::scenario::schema::LoadError;

/// Everything a harness command can fail with before it has results to report.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The target named on the command line cannot be used as given (missing sandbox variables,
    /// a production host without `--allow-production`, an unreadable fixture).
    #[error("{0}")]
    Config(String),
    /// The embedded mock did not start.
    #[error("cannot start the embedded mock: {0}")]
    Embedded(#[source] std::io::Error),
    /// A request got no HTTP answer, or the token endpoint refused the credentials: the
    /// client's own error, as it reported it.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A call the harness itself needed (discovery, a reset, an admin call) was refused.
    #[error("{request} answered {status}: {body}")]
    Answered {
        /// `METHOD path`.
        request: String,
        /// Status answered.
        status: u16,
        /// Body answered.
        body: Value,
    },
    /// A call kept answering 429 after the harness waited as long as it would.
    #[error("{request} was still answered 429 after {attempts} attempts, each waited out as Retry-After said")]
    RateLimited {
        /// `METHOD path`.
        request: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The target lacks data the harness needs (two projects, templates, a company).
    #[error("the target cannot be used: {0}")]
    Discovery(String),
    /// The command needs a procore-mock (its `/__admin` API) and the target is not one.
    #[error("{0} needs a procore-mock target with its /__admin API")]
    NeedsMock(&'static str),
    /// A file or directory named on the command line (or by its environment variable) does
    /// not exist.
    #[error("{flag} {path}: no such file or directory (a relative path is read from the working directory {working_directory}); {hint}")]
    MissingPath {
        /// The flag, and its environment variable if it has one.
        flag: String,
        /// The path as given.
        path: String,
        /// Where a relative path was resolved.
        working_directory: String,
        /// What to give instead.
        hint: String,
    },
    /// A scenario file is invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl HarnessError {
    /// A path the user named (`flag`) that does not exist, with the working directory a
    /// relative path was read from and `hint`, what to give instead.
    pub fn missing_path(flag: String, path: &Path, hint: String) -> Self {
        let working_directory = std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_else(|e| format!("(unknown: {e})"));
        HarnessError::MissingPath {
            flag,
            path: path.display().to_string(),
            working_directory,
            hint,
        }
    }
}

/// The harness's results.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;
