//! The harness's one error type: what went wrong talking to a target, loading scenarios or
//! writing reports, with enough named (the request, the status, the client id) to act on.

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
    Embedded(String),
    /// A request got no HTTP answer.
    #[error("{request}: {source}")]
    Transport {
        /// `METHOD url`.
        request: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint refused the credentials.
    #[error("authentication as client `{client_id}` failed ({status}): {body}")]
    Authentication {
        /// The OAuth client id that was tried.
        client_id: String,
        /// Status of the token response.
        status: u16,
        /// Its body.
        body: Value,
    },
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
    /// A scenario file is invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl From<ClientError> for HarnessError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Transport { request, source } => {
                HarnessError::Transport { request, source }
            }
            ClientError::Authentication {
                client_id,
                status,
                body,
            } => HarnessError::Authentication {
                client_id,
                status,
                body,
            },
        }
    }
}

/// The harness's results.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;
