//! Server configuration: command-line flags with `PROCORE_MOCK_*` environment fallbacks.
//!
//! The same struct configures the binary (parsed by clap) and embedded servers (built in code
//! from [`Config::default`]), so the two can never drift apart.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Which of Procore's two descriptions of its API the mock serves.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Procore's reference plus the behaviour the founding guides describe (company-user DELETE,
    /// plain project-user DELETE, `X-Total`, `login`).
    #[default]
    Documented,
    /// Only what Procore's own REST reference documents.
    Official,
}

impl Profile {
    /// Whether seed-only behaviour (documented in guides, absent from the reference) is served.
    pub fn serves_seed_extras(self) -> bool {
        self == Profile::Documented
    }
}

/// Everything that can be set when starting the mock.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "procore-mock",
    version,
    about = "A local, in-memory Procore user-management API"
)]
pub struct Config {
    /// Address to bind.
    #[arg(long, env = "PROCORE_MOCK_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to bind; 0 picks any free port (the ready line names the real one).
    #[arg(long, env = "PROCORE_MOCK_PORT", default_value_t = 4010)]
    pub port: u16,

    /// A fixture file (JSON) to load instead of the built-in default data.
    #[arg(long, env = "PROCORE_MOCK_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// Which API description to serve.
    #[arg(long, env = "PROCORE_MOCK_PROFILE", value_enum, default_value_t = Profile::Documented)]
    pub profile: Profile,

    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(long, env = "PROCORE_MOCK_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest avatar image in bytes (v1.3 multipart updates); larger ones get 413.
    #[arg(long, env = "PROCORE_MOCK_MAX_AVATAR_BYTES", default_value_t = DEFAULT_MAX_AVATAR_BYTES)]
    pub max_avatar_bytes: usize,

    /// Requests per rolling hour per OAuth application; 0 turns the hourly window off.
    #[arg(long, env = "PROCORE_MOCK_RATE_LIMIT_HOURLY", default_value_t = DEFAULT_HOURLY_LIMIT)]
    pub rate_limit_hourly: u64,

    /// Requests per rolling 10 seconds per OAuth application; 0 (the default) turns it off.
    #[arg(long, env = "PROCORE_MOCK_RATE_LIMIT_SPIKE", default_value_t = 0)]
    pub rate_limit_spike: u64,

    /// How many recent requests `GET /__admin/requests` keeps; 0 keeps none.
    #[arg(long, env = "PROCORE_MOCK_JOURNAL_SIZE", default_value_t = DEFAULT_JOURNAL_SIZE)]
    pub journal_size: usize,

    /// When set, `/__admin` requires `Authorization: Bearer <this token>`.
    #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,

    /// State file: loaded at start when present, written atomically on graceful shutdown and
    /// on `POST /__admin/state/save`.
    #[arg(long, env = "PROCORE_MOCK_STATE_FILE")]
    pub state_file: Option<PathBuf>,

    /// How long a webhook receiver has to answer a delivery, in milliseconds (Procore: 5 s).
    #[arg(long, env = "PROCORE_MOCK_WEBHOOK_TIMEOUT_MS", default_value_t = crate::domain::webhooks::DEFAULT_TIMEOUT_MS)]
    pub webhook_timeout_ms: u64,

    /// Most webhook events waiting for delivery per company; events beyond it are dropped
    /// (and listed by `GET /__admin/webhooks`).
    #[arg(long, env = "PROCORE_MOCK_WEBHOOK_QUEUE_SIZE", default_value_t = DEFAULT_WEBHOOK_QUEUE_SIZE)]
    pub webhook_queue_size: usize,
    /// Bytes of requests the journal holds at most (headers, bodies, paths: all it keeps);
    /// the oldest entries give way first.
    #[arg(long, env = "PROCORE_MOCK_JOURNAL_MAX_BYTES", default_value_t = DEFAULT_JOURNAL_MAX_BYTES)]
    pub journal_max_bytes: usize,

    /// How long a client may take to send a request's headers once it has started (e.g.
    /// `10s`, `500ms`); a slower connection is closed.
    #[arg(long, env = "PROCORE_MOCK_HEADER_READ_TIMEOUT", value_parser = parse_duration,
          default_value = "10s")]
    pub header_read_timeout: Duration,

    /// How long a keep-alive connection may sit idle between requests before it is closed.
    #[arg(long, env = "PROCORE_MOCK_IDLE_TIMEOUT", value_parser = parse_duration,
          default_value = "60s")]
    pub idle_timeout: Duration,

    /// How long a client may take to send a request's whole body; a slower one gets 408.
    #[arg(long, env = "PROCORE_MOCK_BODY_READ_TIMEOUT", value_parser = parse_duration,
          default_value = "30s")]
    pub body_read_timeout: Duration,

    /// On SIGTERM/SIGINT, how long requests in flight may take to finish before the server
    /// stops waiting for them, saves the state file and exits.
    #[arg(long, env = "PROCORE_MOCK_SHUTDOWN_GRACE", value_parser = parse_duration,
          default_value = "10s")]
    pub shutdown_grace: Duration,

    /// Turns the Crux Connect API (`/organizations/...`, `/timp/organizations/...`) off: its
    /// paths answer 404 like any unknown path. Its data stays in the state either way.
    #[arg(long, env = "PROCORE_MOCK_NO_CRUX")]
    pub no_crux: bool,

    /// Refuses (400, naming them) query parameters and body fields the request does not take,
    /// instead of ignoring them with a warning header as Procore-like leniency does.
    #[arg(long, env = "PROCORE_MOCK_STRICT")]
    pub strict: bool,
}

/// Reads a duration written as a number and a unit: `250ms`, `10s`, `2m` (a bare number is
/// seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 10s or 500ms"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        other => return Err(format!("unknown unit `{other}`: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("`{text}`: {err}"))
}

/// Procore's documented hourly allowance per application.
pub const DEFAULT_HOURLY_LIMIT: u64 = 3600;
/// Journal entries kept by default.
pub const DEFAULT_JOURNAL_SIZE: usize = 10_000;
/// The journal's byte budget by default: 32 MiB, a few kilobytes per entry of a full journal.
pub const DEFAULT_JOURNAL_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Webhook events waiting per company by default.
pub const DEFAULT_WEBHOOK_QUEUE_SIZE: usize = 10_000;

/// Four mebibytes: room for an avatar upload, small enough to refuse floods.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Largest avatar image accepted by default.
pub const DEFAULT_MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            fixtures: None,
            profile: Profile::Documented,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_avatar_bytes: DEFAULT_MAX_AVATAR_BYTES,
            rate_limit_hourly: DEFAULT_HOURLY_LIMIT,
            rate_limit_spike: 0,
            journal_size: DEFAULT_JOURNAL_SIZE,
            admin_token: None,
            state_file: None,
            webhook_timeout_ms: crate::domain::webhooks::DEFAULT_TIMEOUT_MS,
            webhook_queue_size: DEFAULT_WEBHOOK_QUEUE_SIZE,
            journal_max_bytes: DEFAULT_JOURNAL_MAX_BYTES,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            no_crux: false,
            strict: false,
        }
    }
}
