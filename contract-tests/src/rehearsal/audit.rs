//! Grading a client's rate-limit manners from what the mock saw.
//!
//! The input is the mock's request journal: when each request arrived (on the mock clock), who
//! sent it, and what the mock answered, rate-limit headers included. A client is polite when it
//! never sends a request before a 429's `Retry-After` has elapsed: waiting exactly
//! `Retry-After` is polite. Running into a 429 after `X-Rate-Limit-Remaining` reached 0 is how
//! a client learns the window is spent, not a violation.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::admin::JournalEntry;

/// One request as the mock journaled it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Journal id (0 when the observation did not come from a journal).
    pub id: u64,
    /// Arrival time, epoch milliseconds on the mock clock.
    pub at_ms: i64,
    /// The OAuth client that sent it (`None` for unauthenticated requests).
    pub client_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// `Retry-After` answered, seconds.
    pub retry_after: Option<i64>,
}

impl Observation {
    /// The observation of a journal entry; `None` when its time is unreadable.
    pub fn from_entry(entry: &JournalEntry) -> Option<Self> {
        Some(Self {
            id: entry.id,
            at_ms: entry.at_ms()?,
            client_id: entry.client_id.clone(),
            method: entry.method.clone(),
            path: entry.path.clone(),
            status: entry.status,
            retry_after: entry.response_number("retry-after"),
        })
    }
}

/// The answer that told a client to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Journal id of the 429.
    pub id: u64,
    /// When it was answered (RFC 3339, mock clock).
    pub time: String,
    /// The `Retry-After` it carried, seconds.
    pub retry_after: i64,
}

/// A request sent when the client had been told to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Journal id of the offending request.
    pub id: u64,
    /// When it arrived (RFC 3339, mock clock).
    pub time: String,
    /// Its method.
    pub method: String,
    /// Its path.
    pub path: String,
    /// How early it was, in milliseconds.
    pub early_by_ms: i64,
    /// The 429 whose `Retry-After` forbade it.
    pub forbidden_by: Instruction,
}

/// The verdict on one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientAudit {
    /// The OAuth client id.
    pub client_id: String,
    /// Requests sent.
    pub requests: usize,
    /// Requests answered 429.
    pub throttled: usize,
    /// Every request sent while told to wait.
    pub violations: Vec<Violation>,
    /// Most requests that arrived within any one second.
    pub longest_burst: usize,
    /// `polite` or `impolite`.
    pub verdict: &'static str,
}

/// A 429's instruction: answered at `told_at`, no request before `until`.
#[derive(Clone, Debug)]
struct Wait {
    told_at: i64,
    until: i64,
    instruction: Instruction,
}

/// Of a current wait and a new one, the one that ends later.
fn later(current: Option<Wait>, new: Wait) -> Wait {
    match current {
        Some(current) if current.until >= new.until => current,
        _ => new,
    }
}

/// Journal entries as observations, oldest first; entries without a readable time are
/// skipped.
pub fn observations(journal: &[JournalEntry]) -> Vec<Observation> {
    let mut observations: Vec<Observation> =
        journal.iter().filter_map(Observation::from_entry).collect();
    observations.sort_by_key(|o| (o.at_ms, o.id));
    observations
}

/// Audits every client in `observations` (oldest first), or only `only` when given.
pub fn audit(observations: &[Observation], only: Option<&str>) -> Vec<ClientAudit> {
    let mut by_client: BTreeMap<&str, Vec<&Observation>> = BTreeMap::new();
    for observation in observations {
        if let Some(client) = observation.client_id.as_deref() {
            if only.is_none_or(|wanted| wanted == client) {
                by_client.entry(client).or_default().push(observation);
            }
        }
    }
    by_client
        .into_iter()
        .map(|(client_id, requests)| audit_client(client_id, &requests))
        .collect()
}

fn rfc3339(at_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn audit_client(client_id: &str, requests: &[&Observation]) -> ClientAudit {
    let mut violations = Vec::new();
    // The 429 with the latest end among those answered before the current instant, and the
    // same among those answered at the latest instant seen: a request sent at the same instant
    // as an answer could not have known it, so an instruction binds only later requests.
    let mut settled: Option<Wait> = None;
    let mut fresh: Option<Wait> = None;
    for request in requests {
        if let Some(wait) = fresh.take_if(|w| w.told_at < request.at_ms) {
            settled = Some(later(settled, wait));
        }
        if let Some(wait) = settled.as_ref().filter(|w| request.at_ms < w.until) {
            violations.push(Violation {
                id: request.id,
                time: rfc3339(request.at_ms),
                method: request.method.clone(),
                path: request.path.clone(),
                early_by_ms: wait.until - request.at_ms,
                forbidden_by: wait.instruction.clone(),
            });
        }
        if let (429, Some(seconds)) = (request.status, request.retry_after) {
            let wait = Wait {
                told_at: request.at_ms,
                until: request.at_ms + seconds * 1000,
                instruction: Instruction {
                    id: request.id,
                    time: rfc3339(request.at_ms),
                    retry_after: seconds,
                },
            };
            fresh = Some(later(fresh, wait));
        }
    }
    ClientAudit {
        client_id: client_id.to_owned(),
        requests: requests.len(),
        throttled: requests.iter().filter(|r| r.status == 429).count(),
        verdict: if violations.is_empty() {
            "polite"
        } else {
            "impolite"
        },
        violations,
        longest_burst: longest_burst(requests, 1000),
    }
}

/// The most requests within any window of `window_ms` (two pointers over sorted times).
pub fn longest_burst(requests: &[&Observation], window_ms: i64) -> usize {
    let mut start = 0;
    let mut best = 0;
    for end in 0..requests.len() {
        while requests[end].at_ms - requests[start].at_ms >= window_ms {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// The audit for people: a line per client, then its first `shown` violations and how many
/// more there are.
pub fn text(audits: &[ClientAudit], shown: usize) -> String {
    let mut out = String::new();
    if audits.is_empty() {
        out.push_str("no authenticated requests in the journal\n");
    }
    for client in audits {
        let _ = writeln!(
            out,
            "{}: {} requests, {} throttled (429), {} violations, longest burst {} in 1 s: {}",
            client.client_id,
            client.requests,
            client.throttled,
            client.violations.len(),
            client.longest_burst,
            client.verdict
        );
        for v in client.violations.iter().take(shown) {
            let _ = writeln!(
                out,
                "  #{} {} {} {}: sent {} ms before Retry-After {} s of #{} ({}) elapsed",
                v.id,
                v.time,
                v.method,
                v.path,
                v.early_by_ms,
                v.forbidden_by.retry_after,
                v.forbidden_by.id,
                v.forbidden_by.time
            );
        }
        let more = client.violations.len().saturating_sub(shown);
        if more > 0 {
            let _ = writeln!(
                out,
                "  ... and {more} more violations (--json lists them all)"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(id: u64, at_ms: i64, status: u16, retry_after: Option<i64>) -> Observation {
        Observation {
            id,
            at_ms,
            client_id: Some("app".to_owned()),
            method: "GET".to_owned(),
            path: "/rest/v1.0/me".to_owned(),
            status,
            retry_after,
        }
    }

    #[test]
    fn retrying_before_retry_after_is_a_violation_naming_the_429() {
        let log = [
            seen(1, 0, 429, Some(5)),
            seen(2, 1_000, 429, Some(4)),
            seen(3, 5_000, 200, None),
        ];
        let report = &audit(&log, None)[0];
        assert_eq!(report.violations.len(), 1);
        let violation = &report.violations[0];
        assert_eq!((violation.id, violation.early_by_ms), (2, 4_000));
        assert_eq!(violation.time, "1970-01-01T00:00:01.000Z");
        assert_eq!(violation.forbidden_by.id, 1);
        assert_eq!(report.verdict, "impolite");
        assert_eq!(report.throttled, 2);
    }

    #[test]
    fn requests_sent_together_all_count_but_not_at_the_instant_of_the_answer() {
        let log = [
            seen(1, 0, 429, Some(5)),
            seen(2, 0, 429, Some(5)),
            seen(3, 250, 429, Some(5)),
            seen(4, 250, 429, Some(5)),
        ];
        let report = &audit(&log, None)[0];
        let ids: Vec<u64> = report.violations.iter().map(|v| v.id).collect();
        assert_eq!(ids, [3, 4]);
    }

    #[test]
    fn waiting_exactly_retry_after_is_polite() {
        let log = [
            seen(1, 0, 429, Some(5)),
            seen(2, 5_000, 429, Some(2)),
            seen(3, 7_000, 200, None),
        ];
        let report = &audit(&log, None)[0];
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(report.verdict, "polite");
    }

    #[test]
    fn the_text_says_how_many_violations_it_leaves_out() {
        let mut log = vec![seen(1, 0, 429, Some(60))];
        log.extend((2..=14).map(|id| seen(id, id as i64 * 100, 429, Some(60))));
        let text = text(&audit(&log, None), 10);
        assert!(text.contains("13 violations"), "{text}");
        assert!(
            text.contains("  #2 1970-01-01T00:00:00.200Z GET /rest/v1.0/me: sent"),
            "{text}"
        );
        assert!(
            text.contains("... and 3 more violations (--json lists them all)"),
            "{text}"
        );
    }

    #[test]
    fn the_longest_burst_counts_requests_within_one_second() {
        let log: Vec<Observation> = [0, 100, 200, 1_500, 1_600, 1_700, 1_800]
            .iter()
            .map(|&t| seen(0, t, 200, None))
            .collect();
        let refs: Vec<&Observation> = log.iter().collect();
        assert_eq!(longest_burst(&refs, 1000), 4);
    }
}
