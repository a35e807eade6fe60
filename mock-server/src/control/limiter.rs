//! Procore's per-application rate limits: an hourly and a 10-second spike window, rolling.
//!
//! Each window remembers when its counted requests came (to the millisecond, merging requests
//! of the same instant), and a request leaves a window of length `L` exactly `L` after it came.
//! So no span of `L` ever admits more than the limit (the last admission in any such span saw
//! every earlier one in it), and a request sent `L` after the oldest counted one is admitted.
//! A refused request is told to retry after the whole seconds until the window admits again,
//! rounded up: never more than `L`, and a request sent exactly that much later is admitted.
//! `X-Rate-Limit-Reset` is the epoch second in which the window admits again, so it is never
//! later than `now + Retry-After` (on a clock at whole seconds the two are equal). A window
//! holds at most `limit` entries (it never counts more), so memory per client is bounded by the
//! limit. Each client's windows sit behind that client's own mutex, so check-and-count is one
//! step under any concurrency and clients never contend with each other.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use foldhash::fast::RandomState;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The hourly window's length.
pub const HOURLY_WINDOW_MS: i64 = 3_600_000;
/// The spike window's length.
pub const SPIKE_WINDOW_MS: i64 = 10_000;

/// The configured limits; 0 turns a window off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Requests per rolling hour.
    pub hourly: u64,
    /// Requests per rolling 10 seconds.
    pub spike: u64,
}

/// What a response reports about the window closest to exhaustion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowStatus {
    /// `X-Rate-Limit-Limit`.
    pub limit: u64,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: u64,
    /// `X-Rate-Limit-Reset`: epoch seconds when the window next admits more.
    pub reset: i64,
}

/// Where one of an app's windows stands, as `GET /__admin/apps` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WindowUsage {
    /// `hourly` or `spike`.
    pub window: &'static str,
    /// The window's length in seconds.
    pub length_seconds: i64,
    /// The limit in force.
    pub limit: u64,
    /// Requests counted in the window now.
    pub used: u64,
    /// What `X-Rate-Limit-Remaining` would say.
    pub remaining: u64,
    /// What `X-Rate-Limit-Reset` would say: epoch seconds (mock clock).
    pub reset: i64,
}

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Admitted and counted; report this window.
    Admitted(Option<WindowStatus>),
    /// Refused (not counted); retry after this many whole seconds.
    Throttled {
        /// The exhausted window.
        status: WindowStatus,
        /// `Retry-After`, seconds: at least 1, at most the window's length, and exactly
        /// `status.reset` minus the current second.
        retry_after: u64,
        /// The refusing window's length in seconds, for the message.
        window_secs: i64,
    },
}

/// Rate limits for every client, changeable at run time.
#[derive(Debug)]
pub struct RateLimiter {
    hourly: AtomicU64,
    spike: AtomicU64,
    /// Keyed by client id, hashed with foldhash (cheaper than SipHash on every request).
    clients: DashMap<String, Mutex<ClientWindows>, RandomState>,
}

#[derive(Debug)]
struct ClientWindows {
    hourly: Window,
    spike: Window,
}

/// One rolling window: (instant in epoch ms, count) of the counted requests, oldest first.
#[derive(Clone, Debug)]
struct Window {
    length_ms: i64,
    entries: VecDeque<(i64, u64)>,
    /// Sum of the bucket counts, kept in step so reading it costs nothing.
    total: u64,
}

impl Window {
    fn new(length_ms: i64) -> Self {
        Self {
            length_ms,
            entries: VecDeque::new(),
            total: 0,
        }
    }

    /// When (epoch ms) a request counted at `at_ms` leaves the window.
    fn leaves_at(&self, at_ms: i64) -> i64 {
        at_ms + self.length_ms
    }

    /// Drops the requests that have left the window by `now_ms`.
    fn expire(&mut self, now_ms: i64) {
        while let Some(&(at, count)) = self.entries.front() {
            if self.leaves_at(at) > now_ms {
                break;
            }
            self.entries.pop_front();
            self.total -= count;
        }
    }

    fn count(&self) -> u64 {
        self.total
    }

    fn record(&mut self, now_ms: i64) {
        self.total += 1;
        match self.entries.back_mut() {
            Some((last, count)) if *last == now_ms => *count += 1,
            // A clock moved backwards lands in the newest entry rather than out of order.
            Some((last, count)) if *last > now_ms => *count += 1,
            _ => self.entries.push_back((now_ms, 1)),
        }
    }

    /// When (epoch ms) the count first drops below `limit`, given the buckets held now.
    fn admits_again_at(&self, limit: u64, now_ms: i64) -> i64 {
        let mut count = self.count();
        for (at, n) in &self.entries {
            if count < limit {
                break;
            }
            count -= n;
            if count < limit {
                return self.leaves_at(*at).max(now_ms);
            }
        }
        now_ms + self.length_ms
    }

    fn status(&self, limit: u64, now_ms: i64) -> WindowStatus {
        let used = self.count();
        let next_free = match self.entries.front() {
            Some((at, _)) => self.leaves_at(*at),
            None => now_ms + self.length_ms,
        };
        let reset_ms = if used >= limit {
            self.admits_again_at(limit, now_ms)
        } else {
            next_free
        };
        WindowStatus {
            limit,
            remaining: limit.saturating_sub(used),
            reset: reset_ms.div_euclid(1000),
        }
    }
}

impl RateLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            hourly: AtomicU64::new(limits.hourly),
            spike: AtomicU64::new(limits.spike),
            clients: DashMap::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        Limits {
            hourly: self.hourly.load(Ordering::Relaxed),
            spike: self.spike.load(Ordering::Relaxed),
        }
    }

    /// Changes the limits; counts so far are kept.
    pub fn set_limits(&self, limits: Limits) {
        self.hourly.store(limits.hourly, Ordering::Relaxed);
        self.spike.store(limits.spike, Ordering::Relaxed);
    }

    /// Forgets every count (a reset of the mock).
    pub fn clear(&self) {
        self.clients.clear();
    }

    /// Where each window that is on stands for `client_id` at `now_ms`, without counting.
    pub fn usage(&self, client_id: &str, now_ms: i64) -> Vec<WindowUsage> {
        let limits = self.limits();
        let fresh = || ClientWindows {
            hourly: Window::new(HOURLY_WINDOW_MS),
            spike: Window::new(SPIKE_WINDOW_MS),
        };
        let mut windows = match self.clients.get(client_id) {
            // Expiring old buckets changes no answer, so a read may do it.
            Some(entry) => {
                let mut windows = entry.lock();
                windows.hourly.expire(now_ms);
                windows.spike.expire(now_ms);
                ClientWindows {
                    hourly: windows.hourly.clone(),
                    spike: windows.spike.clone(),
                }
            }
            None => fresh(),
        };
        let ClientWindows { hourly, spike } = &mut windows;
        [
            ("hourly", hourly, limits.hourly),
            ("spike", spike, limits.spike),
        ]
        .into_iter()
        .filter(|(_, _, limit)| *limit > 0)
        .map(|(name, window, limit)| {
            let status = window.status(limit, now_ms);
            WindowUsage {
                window: name,
                length_seconds: window.length_ms / 1000,
                limit,
                used: window.count(),
                remaining: status.remaining,
                reset: status.reset,
            }
        })
        .collect()
    }

    /// Admits and counts a request of `client_id` at `now_ms`, or refuses it.
    pub fn admit(&self, client_id: &str, now_ms: i64) -> Decision {
        let limits = self.limits();
        if limits.hourly == 0 && limits.spike == 0 {
            return Decision::Admitted(None);
        }
        // The shard's read guard is held only for this client's short check-and-count.
        let entry = self.clients.get(client_id).unwrap_or_else(|| {
            self.clients
                .entry(client_id.to_owned())
                .or_insert_with(|| {
                    Mutex::new(ClientWindows {
                        hourly: Window::new(HOURLY_WINDOW_MS),
                        spike: Window::new(SPIKE_WINDOW_MS),
                    })
                })
                .downgrade()
        });
        let mut windows = entry.lock();
        let ClientWindows { hourly, spike } = &mut *windows;
        // At most two windows: a fixed array keeps the hot path free of allocations.
        let mut active: [Option<(&mut Window, u64)>; 2] = [None, None];
        if limits.hourly > 0 {
            active[0] = Some((hourly, limits.hourly));
        }
        if limits.spike > 0 {
            active[1] = Some((spike, limits.spike));
        }
        for (window, _) in active.iter_mut().flatten() {
            window.expire(now_ms);
        }
        // Refuse on the window that frees up last, so Retry-After is enough for both.
        let exhausted = active
            .iter()
            .flatten()
            .filter(|(window, limit)| window.count() >= *limit)
            .map(|(window, limit)| {
                (
                    window.admits_again_at(*limit, now_ms),
                    window.status(*limit, now_ms),
                    window.length_ms / 1000,
                )
            })
            .max_by_key(|(at, _, _)| *at);
        if let Some((at, status, window_secs)) = exhausted {
            // Rounded up: now + Retry-After is at or after `at`, and within the window.
            let retry_after = u64::try_from((at - now_ms + 999).div_euclid(1000))
                .unwrap_or(0)
                .max(1);
            let status = WindowStatus {
                remaining: 0,
                reset: at.div_euclid(1000),
                ..status
            };
            return Decision::Throttled {
                status,
                retry_after,
                window_secs,
            };
        }
        for (window, _) in active.iter_mut().flatten() {
            window.record(now_ms);
        }
        let closest = active
            .iter()
            .flatten()
            .map(|(window, limit)| window.status(*limit, now_ms))
            .min_by(|a, b| {
                // Smallest share of the limit left is closest to exhaustion.
                (a.remaining as u128 * b.limit as u128)
                    .cmp(&(b.remaining as u128 * a.limit as u128))
            });
        Decision::Admitted(closest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(hourly: u64, spike: u64) -> RateLimiter {
        RateLimiter::new(Limits { hourly, spike })
    }

    #[test]
    fn the_spike_window_admits_its_limit_then_throttles_until_it_rolls() {
        let limiter = limiter(0, 3);
        let t0 = 1_000_000;
        for i in 0..3 {
            assert!(matches!(
                limiter.admit("a", t0 + i),
                Decision::Admitted(Some(_))
            ));
        }
        let Decision::Throttled {
            status,
            retry_after,
            window_secs,
        } = limiter.admit("a", t0 + 5)
        else {
            panic!("the fourth request in 10 s must be throttled");
        };
        assert_eq!(status.remaining, 0);
        assert_eq!(window_secs, 10);
        assert_eq!(
            retry_after, 10,
            "the first request leaves 10 s after it came"
        );
        assert_eq!(status.reset, (t0 + 10_000) / 1000);
        assert!(matches!(
            limiter.admit("a", t0 + 9_999),
            Decision::Throttled { .. }
        ));
        assert!(matches!(
            limiter.admit("a", t0 + 10_000),
            Decision::Admitted(_)
        ));
        assert!(
            matches!(limiter.admit("b", t0 + 6), Decision::Admitted(_)),
            "clients are independent"
        );
    }

    /// Drives a limiter with requests `gaps_ms` apart, honouring nothing, and returns the
    /// admitted instants and every refusal as (instant, Retry-After, Reset).
    fn drive(limiter: &RateLimiter, gaps_ms: &[i64]) -> (Vec<i64>, Vec<(i64, u64, i64)>) {
        let (mut admitted, mut refused) = (Vec::new(), Vec::new());
        let mut t = 1_700_000_000_000;
        for gap in gaps_ms {
            t += gap;
            match limiter.admit("a", t) {
                Decision::Admitted(_) => admitted.push(t),
                Decision::Throttled {
                    status,
                    retry_after,
                    ..
                } => refused.push((t, retry_after, status.reset)),
            }
        }
        (admitted, refused)
    }

    /// No span of the window's length admits more than the limit.
    fn assert_no_run_exceeds(admitted: &[i64], window_ms: i64, limit: usize) {
        for (i, start) in admitted.iter().enumerate() {
            let inside = admitted[i..]
                .iter()
                .take_while(|&&at| at < start + window_ms)
                .count();
            assert!(
                inside <= limit,
                "{inside} admitted within the window from {start}"
            );
        }
    }

    #[test]
    fn no_span_of_the_window_ever_admits_more_than_the_limit() {
        let limiter = limiter(0, 7);
        let gaps: Vec<i64> = (0..5_000i64).map(|step| (step * 7919) % 450).collect();
        let (admitted, _) = drive(&limiter, &gaps);
        assert!(admitted.len() > 100, "the test exercised the window");
        assert_no_run_exceeds(&admitted, SPIKE_WINDOW_MS, 7);
    }

    proptest::proptest! {
        /// For any traffic: no span of a window admits more than its limit, Retry-After is
        /// within the window, and Reset is not after now + Retry-After.
        #[test]
        fn retry_after_stays_in_the_window_and_the_limit_holds(
            spike in 1u64..6,
            hourly in 0u64..30,
            gaps in proptest::collection::vec(0i64..4_000, 1..300),
        ) {
            let limiter = limiter(hourly, spike);
            let (admitted, refused) = drive(&limiter, &gaps);
            assert_no_run_exceeds(&admitted, SPIKE_WINDOW_MS, spike as usize);
            if hourly > 0 {
                assert_no_run_exceeds(&admitted, HOURLY_WINDOW_MS, hourly as usize);
            }
            let longest = if hourly > 0 { HOURLY_WINDOW_MS } else { SPIKE_WINDOW_MS };
            for (at, retry_after, reset) in refused {
                proptest::prop_assert!(retry_after as i64 * 1000 <= longest);
                // Reset is the second the window admits again: not after now + Retry-After,
                // and less than a second before it (Retry-After is rounded up to it).
                let honoured = at + retry_after as i64 * 1000;
                proptest::prop_assert!(reset * 1000 <= honoured);
                proptest::prop_assert!(honoured - reset * 1000 < 2000);
            }
        }

        /// A client that waits exactly Retry-After after each refusal is admitted then.
        #[test]
        fn waiting_exactly_retry_after_is_admitted(
            spike in 1u64..6,
            hourly in 0u64..20,
            offsets in proptest::collection::vec(0i64..1_000, 1..80),
        ) {
            let limiter = limiter(hourly, spike);
            let mut t = 1_700_000_000_000;
            for offset in offsets {
                t += offset;
                if let Decision::Throttled { retry_after, window_secs, .. } = limiter.admit("a", t) {
                    proptest::prop_assert!(retry_after as i64 <= window_secs);
                    t += retry_after as i64 * 1000;
                    proptest::prop_assert!(
                        matches!(limiter.admit("a", t), Decision::Admitted(_)),
                        "refused at exactly Retry-After"
                    );
                }
            }
        }
    }

    #[test]
    fn a_window_length_after_the_oldest_counted_request_is_admitted() {
        let limiter = limiter(10, 0);
        let t0 = 1_700_000_000_250;
        for i in 0..10 {
            assert!(matches!(
                limiter.admit("a", t0 + i * 1000),
                Decision::Admitted(_)
            ));
        }
        let Decision::Throttled {
            retry_after,
            status,
            window_secs,
        } = limiter.admit("a", t0 + 20_000)
        else {
            panic!("the eleventh request in an hour is throttled");
        };
        assert_eq!(window_secs, 3600);
        assert_eq!(retry_after, 3600 - 20);
        assert_eq!(status.reset, (t0 + HOURLY_WINDOW_MS) / 1000);
        assert!(matches!(
            limiter.admit("a", t0 + HOURLY_WINDOW_MS),
            Decision::Admitted(_)
        ));
    }

    #[test]
    fn headers_report_the_window_closest_to_exhaustion() {
        let spiky = limiter(100, 5);
        let Decision::Admitted(Some(status)) = spiky.admit("a", 0) else {
            panic!("admitted");
        };
        assert_eq!((status.limit, status.remaining), (5, 4));
        let hourly = limiter(2, 50);
        let Decision::Admitted(Some(status)) = hourly.admit("a", 0) else {
            panic!("admitted");
        };
        assert_eq!((status.limit, status.remaining), (2, 1));
    }

    #[test]
    fn memory_stays_bounded_by_the_limit() {
        let limiter = limiter(500, 0);
        for t in 0..200_000 {
            limiter.admit("a", t * 7);
        }
        let windows = limiter.clients.get("a").unwrap();
        assert!(windows.lock().hourly.entries.len() <= 500);
    }

    #[test]
    fn usage_reports_each_window_without_counting() {
        let limiter = limiter(100, 5);
        assert_eq!(limiter.usage("a", 0)[1].used, 0, "an app that sent nothing");
        limiter.admit("a", 0);
        limiter.admit("a", 0);
        let usage = limiter.usage("a", 0);
        assert_eq!(usage.len(), 2);
        assert_eq!(
            (usage[0].window, usage[0].used, usage[0].remaining),
            ("hourly", 2, 98)
        );
        assert_eq!(
            (usage[1].window, usage[1].limit, usage[1].remaining),
            ("spike", 5, 3)
        );
        assert_eq!(limiter.usage("a", 0), usage, "reading counts nothing");
        assert_eq!(
            limiter.usage("a", 20_000)[1].used,
            0,
            "the spike window rolled"
        );
        limiter.set_limits(Limits {
            hourly: 0,
            spike: 5,
        });
        assert_eq!(
            limiter.usage("a", 0).len(),
            1,
            "a window that is off is not shown"
        );
    }

    #[test]
    fn a_frozen_clock_gives_a_sane_retry_after() {
        let limiter = limiter(2, 0);
        limiter.admit("a", 5_000);
        limiter.admit("a", 5_000);
        let Decision::Throttled { retry_after, .. } = limiter.admit("a", 5_000) else {
            panic!("throttled");
        };
        assert_eq!(retry_after, 3_600);
    }
}
