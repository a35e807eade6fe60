//! The control plane: what makes the mock a test instrument rather than a fixed fake.
//!
//! - [`limiter`]: Procore's hourly and spike rate limits per OAuth application.
//! - [`faults`]: injected errors and delays.
//! - [`journal`]: the record of requests and answers, bounded in entries and in bytes.
//! - [`matcher`]: which journal entries a test asks about (filters and matchers).
//! - [`persistence`]: the state file: saves take turns, each replaces the file atomically.
//!
//! This is data and its rules only, a leaf that imports nothing else of the crate: the tower
//! layer that applies it to every request is `http::control_layer`.

pub mod faults;
pub mod journal;
pub mod limiter;
pub mod matcher;
pub mod persistence;

use axum::http::HeaderName;

use faults::Faults;
use journal::Journal;
use limiter::{Limits, RateLimiter};

// The headers that report a rate window, in responses and in the journal.

/// `X-Rate-Limit-Limit`.
pub const RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("x-rate-limit-limit");
/// `X-Rate-Limit-Remaining`.
pub const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-rate-limit-remaining");
/// `X-Rate-Limit-Reset`.
pub const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("x-rate-limit-reset");

/// The control plane's live parts.
#[derive(Debug)]
pub struct Control {
    /// Rate limits and their counts.
    pub limiter: RateLimiter,
    /// Fault rules.
    pub faults: Faults,
    /// Recent requests.
    pub journal: Journal,
}

impl Control {
    /// A control plane with the given limits and journal size (entries and bytes).
    pub fn new(limits: Limits, journal_size: usize, journal_max_bytes: usize) -> Self {
        Self {
            limiter: RateLimiter::new(limits),
            faults: Faults::default(),
            journal: Journal::new(journal_size, journal_max_bytes),
        }
    }

    /// Forgets counts, rules and journal (a reset of the mock).
    pub fn clear(&self) {
        self.limiter.clear();
        self.faults.clear();
        self.journal.clear();
    }
}
