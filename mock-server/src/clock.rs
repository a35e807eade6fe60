//! The mock's one clock.
//!
//! Every time-based rule (token and code expiry, rate windows, `created_at`/`updated_at`, the
//! `Date` header) reads [`Clock::now`], so tests move time by advancing or freezing this clock
//! instead of sleeping. The clock is lock-free: it is read on every request, so its whole
//! state is one atomic word (see `ClockState`), which also makes every change to it one
//! atomic step: an advance can never be lost to a concurrent freeze or set.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeZone, Utc};

/// A shared handle to the mock clock; cloning shares the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    inner: Arc<ClockState>,
}

/// The clock's state in one word, `(millis << 1) | frozen`: while frozen, `millis` is the
/// instant (epoch milliseconds) the clock reads; while running, the offset added to the wall
/// clock. Each reading matters only in its own mode, so one word holds everything and an
/// advance is one `fetch_add` of an even number, which keeps the mode bit.
#[derive(Debug, Default)]
struct ClockState(AtomicI64);

/// How far the clock can be moved either way: the millis must fit beside the mode bit.
const MAX_MILLIS: i64 = i64::MAX >> 2;

impl ClockState {
    fn encode(millis: i64, frozen: bool) -> i64 {
        (millis.clamp(-MAX_MILLIS, MAX_MILLIS) << 1) | i64::from(frozen)
    }

    /// `(now in epoch milliseconds, frozen)` for a state word.
    fn read(word: i64) -> (i64, bool) {
        let millis = word >> 1;
        if word & 1 == 1 {
            (millis, true)
        } else {
            (wall_ms().saturating_add(millis), false)
        }
    }

    /// Replaces the state with `change(now_ms, frozen)` = `(millis, frozen)` in one atomic step.
    fn update(&self, change: impl Fn(i64, bool) -> (i64, bool)) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (now, frozen) = Self::read(word);
                let (at, frozen) = change(now, frozen);
                let millis = if frozen {
                    at
                } else {
                    at.saturating_sub(wall_ms())
                };
                Some(Self::encode(millis, frozen))
            });
    }
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
        ClockState::read(self.inner.0.load(Ordering::Acquire)).0
    }

    /// Whether the clock is standing still.
    pub fn is_frozen(&self) -> bool {
        self.inner.0.load(Ordering::Acquire) & 1 == 1
    }

    /// Moves time forward (or back, for negative values) by `millis`, frozen or running.
    pub fn advance_ms(&self, millis: i64) {
        // One add to the millis part, whichever mode the clock is in; the mode bit is kept.
        self.inner
            .0
            .fetch_add(millis.clamp(-MAX_MILLIS, MAX_MILLIS) << 1, Ordering::AcqRel);
    }

    /// Moves time forward by whole seconds.
    pub fn advance_secs(&self, seconds: i64) {
        self.advance_ms(seconds.saturating_mul(1000));
    }

    /// Sets the clock to `at` and to frozen or running from there.
    pub fn set(&self, at: DateTime<Utc>, frozen: bool) {
        let target = at.timestamp_millis();
        self.inner.update(|_, _| (target, frozen));
    }

    /// Stops time at the current instant (`true`) or lets it run on from there (`false`).
    pub fn set_frozen(&self, frozen: bool) {
        self.inner.update(|now, _| (now, frozen));
    }

    /// Sets whichever of the instant and the mode is given, the other kept, in one step.
    pub fn set_parts(&self, at: Option<DateTime<Utc>>, frozen: Option<bool>) {
        let target = at.map(|at| at.timestamp_millis());
        self.inner
            .update(|now, was_frozen| (target.unwrap_or(now), frozen.unwrap_or(was_frozen)));
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

    /// `set_frozen` read the time, then stored it in separate steps, so an advance made in
    /// between was overwritten.
    #[test]
    fn no_advance_is_lost_to_a_concurrent_freeze() {
        let clock = Clock::new();
        clock.set_frozen(true);
        let before = clock.now_ms();
        let advances = 20_000;
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..advances {
                        clock.advance_ms(1);
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..advances {
                    clock.set_frozen(true);
                }
            });
        });
        assert_eq!(clock.now_ms(), before + 2 * advances);
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
