//! How long a client waits before its next request, decided from Procore's rate-limit headers.
//!
//! Pure functions of a response and the current time, so the same rule paces real clients
//! (which sleep) and rehearsals (which advance the mock's clock instead).

use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};

pub use crate::client::RateHeaders;

/// A retry policy.
#[derive(Debug)]
pub enum Pacing {
    /// Honours `Retry-After`, waits for `X-Rate-Limit-Reset` once `Remaining` is 0, and adds a
    /// little random jitter so many clients do not return in lockstep.
    Polite {
        /// Source of jitter (seeded, so rehearsals are reproducible).
        rng: Box<TestRng>,
        /// Largest jitter added, milliseconds.
        max_jitter_ms: u64,
    },
    /// Ignores the headers and retries a 429 after a fixed short delay.
    Naive {
        /// The fixed delay, milliseconds.
        retry_ms: u64,
    },
}

impl Pacing {
    /// The polite policy with jitter up to `max_jitter_ms`, seeded by `seed`.
    pub fn polite(seed: u64, max_jitter_ms: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Pacing::Polite {
            rng: Box::new(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)),
            max_jitter_ms,
        }
    }

    /// Milliseconds to wait after `response`, received at `now_ms` (epoch ms), before the
    /// next request.
    pub fn delay_ms(&mut self, response: &RateHeaders, now_ms: i64) -> u64 {
        match self {
            Pacing::Naive { retry_ms } => {
                if response.status == 429 {
                    *retry_ms
                } else {
                    0
                }
            }
            Pacing::Polite { rng, max_jitter_ms } => {
                let until_reset = response
                    .reset
                    .map(|reset| u64::try_from(reset * 1000 - now_ms).unwrap_or(0));
                let wait = if response.status == 429 {
                    response
                        .retry_after
                        .map(|s| s * 1000)
                        .or(until_reset)
                        .unwrap_or(1000)
                } else if response.remaining == Some(0) {
                    until_reset.unwrap_or(1000)
                } else {
                    return 0;
                };
                let jitter = if *max_jitter_ms == 0 {
                    0
                } else {
                    rng.next_u64() % (*max_jitter_ms + 1)
                };
                wait + jitter
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polite_waits_for_retry_after_or_reset_naive_does_not() {
        let throttled = RateHeaders {
            status: 429,
            retry_after: Some(7),
            remaining: Some(0),
            reset: Some(20),
        };
        let mut polite = Pacing::polite(1, 0);
        assert_eq!(polite.delay_ms(&throttled, 13_000), 7_000);
        let exhausted = RateHeaders {
            status: 200,
            retry_after: None,
            remaining: Some(0),
            reset: Some(20),
        };
        assert_eq!(polite.delay_ms(&exhausted, 13_000), 7_000);
        let fine = RateHeaders {
            status: 200,
            retry_after: None,
            remaining: Some(5),
            reset: Some(20),
        };
        assert_eq!(polite.delay_ms(&fine, 13_000), 0);
        let mut naive = Pacing::Naive { retry_ms: 250 };
        assert_eq!(naive.delay_ms(&throttled, 13_000), 250);
        assert_eq!(naive.delay_ms(&exhausted, 13_000), 0);
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        let throttled = RateHeaders {
            status: 429,
            retry_after: Some(1),
            remaining: Some(0),
            reset: None,
        };
        let mut polite = Pacing::polite(9, 300);
        for _ in 0..100 {
            let delay = polite.delay_ms(&throttled, 0);
            assert!((1_000..=1_300).contains(&delay));
        }
    }
}
