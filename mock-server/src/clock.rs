//! The mock's one clock.
//!
//! Every time-based rule (token and code expiry, rate windows, `created_at`/`updated_at`, the
//! `Date` header) reads [`Clock::now`], so tests move time by advancing or freezing this clock
//! instead of sleeping. The clock is lock-free: it is read on every request, so it keeps its
//! offset and frozen instant in atomics rather than behind a mutex.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// The wall clock in epoch milliseconds, straight from `SystemTime` (chrono's `Utc::now`
/// would build a calendar date first, and this runs several times per request).
fn wall_ms() -> i64 {
    let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => millis(since),
        Err(before) => -millis(before.duration()),
    }
}

fn millis_to_datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A time written the way Procore does, `2016-10-23T21:39:40Z`.
#[derive(Clone, Copy, Debug)]
pub struct Timestamp<'a>(pub &'a DateTime<Utc>);

impl Timestamp<'_> {
    /// The text's 20 bytes, written digit by digit (far cheaper than interpreting a strftime
    /// pattern, and it runs for every record served); `None` outside the years 0 to 9999.
    pub fn to_bytes(self) -> Option<[u8; 20]> {
        use chrono::{Datelike, Timelike};
        // The naive UTC value once: each accessor of a `DateTime` would add the offset anew.
        let at = self.0.naive_utc();
        let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
        let mut text = *b"0000-00-00T00:00:00Z";
        let fields = [
            (0, year, 4),
            (5, at.month(), 2),
            (8, at.day(), 2),
            (11, at.hour(), 2),
            (14, at.minute(), 2),
            (17, at.second(), 2),
        ];
        for (start, mut value, width) in fields {
            for digit in text[start..start + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(text)
    }
}

impl std::fmt::Display for Timestamp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_bytes() {
            // The bytes are ASCII digits and separators.
            Some(text) => f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?),
            None => write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%SZ")),
        }
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

    proptest::proptest! {
        #[test]
        fn timestamps_read_as_chrono_formats_them(seconds in -62_000_000_000i64..300_000_000_000) {
            let at = Utc.timestamp_opt(seconds, 0).unwrap();
            proptest::prop_assert_eq!(
                Timestamp(&at).to_string(),
                at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
        }
    }
}
