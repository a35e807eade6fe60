//! The mock's one clock.
//!
//! Every time-based rule (token and code expiry, rate windows, `created_at`/`updated_at`, the
//! `Date` header) reads [`Clock::now`], so tests move time by advancing or freezing this clock
//! instead of sleeping. The clock is lock-free: it is read on every request, so it keeps its
//! offset and frozen instant in atomics rather than behind a mutex.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

/// A shared handle to the mock clock; cloning shares the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    inner: Arc<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    /// Milliseconds added to the wall clock while running.
    offset_ms: AtomicI64,
    /// Whether time stands still at `frozen_at_ms`.
    frozen: AtomicBool,
    /// The instant (epoch milliseconds) the clock reads while frozen.
    frozen_at_ms: AtomicI64,
}

impl Clock {
    /// A running clock that follows the wall clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current mock time.
    pub fn now(&self) -> DateTime<Utc> {
        millis_to_datetime(self.now_ms())
    }

    /// The current mock time in whole epoch seconds (what rate-limit headers speak).
    pub fn epoch_seconds(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// The current mock time in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        let state = &self.inner;
        if state.frozen.load(Ordering::Acquire) {
            state.frozen_at_ms.load(Ordering::Acquire)
        } else {
            wall_ms() + state.offset_ms.load(Ordering::Acquire)
        }
    }

    /// Whether the clock is standing still.
    pub fn is_frozen(&self) -> bool {
        self.inner.frozen.load(Ordering::Acquire)
    }

    /// Moves time forward (or back, for negative values) by `millis`, frozen or running.
    pub fn advance_ms(&self, millis: i64) {
        let state = &self.inner;
        // Both are updated: the frozen instant matters now, the offset once it runs again.
        state.frozen_at_ms.fetch_add(millis, Ordering::AcqRel);
        state.offset_ms.fetch_add(millis, Ordering::AcqRel);
    }

    /// Moves time forward by whole seconds.
    pub fn advance_secs(&self, seconds: i64) {
        self.advance_ms(seconds.saturating_mul(1000));
    }

    /// Sets the clock to `at` and to frozen or running from there.
    pub fn set(&self, at: DateTime<Utc>, frozen: bool) {
        let state = &self.inner;
        let target = at.timestamp_millis();
        state.offset_ms.store(target - wall_ms(), Ordering::Release);
        state.frozen_at_ms.store(target, Ordering::Release);
        state.frozen.store(frozen, Ordering::Release);
    }

    /// Stops time at the current instant (`true`) or lets it run on from there (`false`).
    pub fn set_frozen(&self, frozen: bool) {
        self.set(self.now(), frozen);
    }
}

fn wall_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn millis_to_datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A time written the way Procore does, `2016-10-23T21:39:40Z`, straight into the output
/// (serializing it allocates nothing).
#[derive(Clone, Copy, Debug)]
pub struct Timestamp<'a>(pub &'a DateTime<Utc>);

impl std::fmt::Display for Timestamp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::{Datelike, Timelike};
        // Written field by field: far cheaper than interpreting a strftime pattern per call.
        let at = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    }
}

impl serde::Serialize for Timestamp<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_stands_still_until_advanced() {
        let clock = Clock::new();
        clock.set_frozen(true);
        let before = clock.now_ms();
        assert_eq!(clock.now_ms(), before);
        clock.advance_secs(5400);
        assert_eq!(clock.now_ms(), before + 5_400_000);
    }

    #[test]
    fn set_moves_to_an_instant_and_advance_keeps_running_offset() {
        let clock = Clock::new();
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        clock.set(at, true);
        assert_eq!(Timestamp(&clock.now()).to_string(), "2030-01-02T03:04:05Z");
        clock.advance_secs(10);
        clock.set_frozen(false);
        assert!(clock.now() >= at + chrono::Duration::seconds(10));
        assert!(!clock.is_frozen());
    }
}
