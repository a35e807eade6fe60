//! Grading a client's rate-limit manners from what the mock saw.
//!
//! The input is the mock's request journal: when each request arrived (on the mock clock), who
//! sent it, and what the mock answered, rate-limit headers included. A client is polite when it
//! never sends a request before a 429's `Retry-After` has elapsed, and never sends one after
//! `X-Rate-Limit-Remaining` reached 0 before `X-Rate-Limit-Reset`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One request as the mock journaled it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Arrival time, epoch milliseconds on the mock clock.
    pub at_ms: i64,
    /// The OAuth client that sent it (`None` for unauthenticated requests).
    pub client_id: Option<String>,
    /// Status answered.
    pub status: u16,
    /// `Retry-After` answered, seconds.
    pub retry_after: Option<i64>,
    /// `X-Rate-Limit-Remaining` answered.
    pub remaining: Option<i64>,
    /// `X-Rate-Limit-Reset` answered, epoch seconds.
    pub reset: Option<i64>,
}

/// A request sent when the client had been told to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// When the offending request arrived (epoch ms, mock clock).
    pub at_ms: i64,
    /// How early it was, in milliseconds.
    pub early_by_ms: i64,
    /// What the client had been told.
    pub rule: &'static str,
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
    /// Requests sent while told to wait.
    pub violations: Vec<Violation>,
    /// Most requests that arrived within any one second.
    pub longest_burst: usize,
    /// `polite` or `impolite`.
    pub verdict: &'static str,
}

/// Reads journal entries (the JSON array `GET /__admin/requests` answers) into observations,
/// oldest first. Entries without a readable time are skipped.
pub fn observations(journal: &Value) -> Vec<Observation> {
    let mut observations: Vec<Observation> = journal
        .as_array()
        .map(|entries| entries.iter().filter_map(observation).collect())
        .unwrap_or_default();
    observations.sort_by_key(|o| o.at_ms);
    observations
}

fn observation(entry: &Value) -> Option<Observation> {
    let at_ms = match &entry["time"] {
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()?
            .timestamp_millis(),
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    let headers = &entry["response_headers"];
    let number = |name: &str| {
        headers
            .as_object()?
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| {
                value
                    .as_str()
                    .and_then(|s| s.trim().parse().ok())
                    .or_else(|| value.as_i64())
            })
    };
    Some(Observation {
        at_ms,
        client_id: entry["client_id"].as_str().map(str::to_owned),
        status: u16::try_from(entry["status"].as_u64()?).ok()?,
        retry_after: number("retry-after"),
        remaining: number("x-rate-limit-remaining"),
        reset: number("x-rate-limit-reset"),
    })
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

fn audit_client(client_id: &str, requests: &[&Observation]) -> ClientAudit {
    let mut violations = Vec::new();
    // When the client was told to wait, until when, and why. Requests sent at the same instant
    // as the answer that said so could not have known, so only later ones count.
    let mut wait_until: Option<(i64, i64, &'static str)> = None;
    for request in requests {
        if let Some((told_at, until, rule)) = wait_until {
            if request.at_ms > told_at && request.at_ms < until {
                violations.push(Violation {
                    at_ms: request.at_ms,
                    early_by_ms: until - request.at_ms,
                    rule,
                });
            }
        }
        let told = if request.status == 429 {
            request.retry_after.map(|seconds| {
                (
                    request.at_ms + seconds * 1000,
                    "sent before a 429's Retry-After elapsed",
                )
            })
        } else if request.remaining == Some(0) {
            request.reset.map(|reset| {
                (
                    reset * 1000,
                    "sent after X-Rate-Limit-Remaining reached 0, before X-Rate-Limit-Reset",
                )
            })
        } else {
            None
        };
        if let Some((until, rule)) = told {
            if wait_until.is_none_or(|(_, current, _)| until > current || request.at_ms >= current)
            {
                wait_until = Some((request.at_ms, until, rule));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(
        at_ms: i64,
        status: u16,
        retry_after: Option<i64>,
        remaining: Option<i64>,
        reset: Option<i64>,
    ) -> Observation {
        Observation {
            at_ms,
            client_id: Some("app".to_owned()),
            status,
            retry_after,
            remaining,
            reset,
        }
    }

    #[test]
    fn retrying_before_retry_after_is_a_violation() {
        let log = [
            seen(0, 429, Some(5), Some(0), Some(5)),
            seen(1_000, 429, Some(4), Some(0), Some(5)),
            seen(5_000, 200, None, Some(3), Some(15)),
        ];
        let report = &audit(&log, None)[0];
        assert_eq!(report.violations.len(), 1);
        assert_eq!(report.violations[0].early_by_ms, 4_000);
        assert_eq!(report.verdict, "impolite");
        assert_eq!(report.throttled, 2);
    }

    #[test]
    fn waiting_for_reset_after_remaining_zero_is_polite() {
        let log = [
            seen(0, 200, None, Some(0), Some(10)),
            seen(10_000, 200, None, Some(4), Some(20)),
        ];
        let report = &audit(&log, None)[0];
        assert!(report.violations.is_empty());
        assert_eq!(report.verdict, "polite");
        let eager = [
            seen(0, 200, None, Some(0), Some(10)),
            seen(9_999, 429, Some(1), Some(0), Some(10)),
        ];
        assert_eq!(audit(&eager, None)[0].violations.len(), 1);
    }

    #[test]
    fn the_longest_burst_counts_requests_within_one_second() {
        let log: Vec<Observation> = [0, 100, 200, 1_500, 1_600, 1_700, 1_800]
            .iter()
            .map(|&t| seen(t, 200, None, Some(9), Some(99)))
            .collect();
        let refs: Vec<&Observation> = log.iter().collect();
        assert_eq!(longest_burst(&refs, 1000), 4);
    }

    #[test]
    fn journal_entries_are_read_with_their_rate_limit_headers() {
        let journal = serde_json::json!([
            {"time": "2030-01-01T00:00:01.500Z", "client_id": "app", "status": 429,
             "response_headers": {"retry-after": "3", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "1893456004"}},
            {"time": "2030-01-01T00:00:00Z", "client_id": null, "status": 401, "response_headers": {}}
        ]);
        let seen = observations(&journal);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].retry_after, Some(3));
        assert_eq!(seen[1].at_ms - seen[0].at_ms, 1_500);
        assert_eq!(
            audit(&seen, None).len(),
            1,
            "unauthenticated requests belong to no client"
        );
    }
}
