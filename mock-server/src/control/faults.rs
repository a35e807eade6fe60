//! Fault injection: rules that answer matching requests with an error, a delay, or both.
//!
//! Rules are read on every request, so the list sits behind an `ArcSwap` (lock-free reads);
//! only a rule that matches takes its own small lock to count hits. Probabilistic rules draw
//! from their own seeded generator, so a run with the same requests fires the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A rule as clients send it to `POST /__admin/faults`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP method to match; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// An exact path, or a route template whose `{name}` segments match any one segment.
    pub path: String,
    /// Status to answer with instead of the real response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// JSON body of the injected answer (default: a Procore-shaped message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Adds `Retry-After: N` to the injected answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay before answering (real time), milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Chance that a matching request is hit (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the probability draws (default: the rule's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How many requests the rule hits before it stops (default: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Matching requests to let through before the rule starts hitting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// A rule as `GET /__admin/faults` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct FaultView {
    /// Rule id, for `DELETE /__admin/faults/{id}`.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests hit so far.
    pub hits: u64,
    /// Hits left before the rule stops (`null`: no end).
    pub hits_left: Option<u64>,
}

/// What to do to one request.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultAction {
    /// The rule that fired.
    pub rule_id: u64,
    /// Delay before answering, milliseconds.
    pub latency_ms: u64,
    /// Injected answer, when the rule has a status: (status, body, retry-after).
    pub answer: Option<(u16, Value, Option<u64>)>,
}

#[derive(Debug)]
struct FaultRule {
    id: u64,
    spec: FaultSpec,
    route: RouteTemplate,
    counters: Mutex<Counters>,
}

/// An exact path, or a route template whose `{name}` segments match any one non-empty
/// segment (`/rest/v1.0/projects/{project_id}/users`). Fault rules and the journal's filters
/// read paths this one way. A trailing slash is ignored on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTemplate {
    segments: Vec<String>,
}

impl RouteTemplate {
    /// The template `template` (an exact path is a template without placeholders).
    pub fn new(template: &str) -> Self {
        Self {
            segments: template
                .trim_end_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether `path` (without query) is this path or fits this template.
    pub fn matches(&self, path: &str) -> bool {
        let mut wanted = self.segments.iter();
        let mut given = path.trim_end_matches('/').split('/');
        loop {
            match (wanted.next(), given.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if is_placeholder(w) && !g.is_empty() => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }
}

#[derive(Debug)]
struct Counters {
    matched: u64,
    hits: u64,
    rng: u64,
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: ArcSwap<Vec<Arc<FaultRule>>>,
    next_id: AtomicU64,
}

/// What is wrong with a fault rule.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct InvalidFault {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: &'static str,
}

impl FaultSpec {
    /// Checks a rule; the admin API answers a problem as a 400 naming the field.
    pub fn validate(&self) -> Result<(), InvalidFault> {
        let bad = |field, message| InvalidFault { field, message };
        if !self.path.starts_with('/') {
            return Err(bad("path", "must start with /"));
        }
        if self.status.is_none() && self.latency_ms.is_none() {
            return Err(bad("status", "or latency_ms is required"));
        }
        if self.status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err(bad("status", "must be an HTTP status between 100 and 599"));
        }
        if self.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Err(bad("probability", "must be between 0 and 1"));
        }
        if self.latency_ms.is_some_and(|ms| ms > 60_000) {
            return Err(bad("latency_ms", "must be at most 60000"));
        }
        Ok(())
    }
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self
            .spec
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        self.route.matches(path)
    }

    /// Counts a match and says whether the rule hits it.
    fn fires(&self) -> bool {
        let mut counters = self.counters.lock();
        counters.matched += 1;
        if counters.matched <= self.spec.after.unwrap_or(0) {
            return false;
        }
        if self.spec.times.is_some_and(|times| counters.hits >= times) {
            return false;
        }
        let probability = self.spec.probability.unwrap_or(1.0);
        if probability < 1.0 {
            let draw = splitmix64(&mut counters.rng) as f64 / u64::MAX as f64;
            if draw >= probability {
                return false;
            }
        }
        counters.hits += 1;
        true
    }

    fn view(&self) -> FaultView {
        let hits = self.counters.lock().hits;
        FaultView {
            id: self.id,
            spec: self.spec.clone(),
            hits,
            hits_left: self.spec.times.map(|t| t.saturating_sub(hits)),
        }
    }
}

fn is_placeholder(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// A small, well-mixed generator: enough for reproducible coin flips.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Faults {
    /// Adds a validated rule; returns its id.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, InvalidFault> {
        spec.validate()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let rule = Arc::new(FaultRule {
            id,
            route: RouteTemplate::new(&spec.path),
            counters: Mutex::new(Counters {
                matched: 0,
                hits: 0,
                rng: spec.seed.unwrap_or(id),
            }),
            spec,
        });
        self.rules.rcu(|rules| {
            let mut rules = Vec::clone(rules);
            rules.push(Arc::clone(&rule));
            rules
        });
        Ok(id)
    }

    /// The rules with their hit counts.
    pub fn list(&self) -> Vec<FaultView> {
        self.rules.load().iter().map(|rule| rule.view()).collect()
    }

    /// Removes one rule; `false` when there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut found = false;
        self.rules.rcu(|rules| {
            let kept: Vec<_> = rules.iter().filter(|r| r.id != id).cloned().collect();
            found = kept.len() != rules.len();
            kept
        });
        found
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules.store(Arc::new(Vec::new()));
    }

    /// The first rule that hits this request, if any.
    pub fn check(&self, method: &str, path: &str) -> Option<FaultAction> {
        let rules = self.rules.load();
        if rules.is_empty() {
            return None;
        }
        let rule = rules
            .iter()
            .find(|rule| rule.matches(method, path) && rule.fires())?;
        let answer = rule.spec.status.map(|status| {
            let body = rule.spec.body.clone().unwrap_or_else(|| {
                serde_json::json!({ "message": format!("Injected fault: the mock answered {status} by rule {}", rule.id) })
            });
            (status, body, rule.spec.retry_after)
        });
        Some(FaultAction {
            rule_id: rule.id,
            latency_ms: rule.spec.latency_ms.unwrap_or(0),
            answer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> FaultSpec {
        FaultSpec {
            method: Some("PATCH".to_owned()),
            path: path.to_owned(),
            status: Some(500),
            body: None,
            retry_after: None,
            latency_ms: None,
            probability: None,
            seed: None,
            times: None,
            after: None,
        }
    }

    #[test]
    fn templates_match_any_one_segment_and_the_method_must_agree() {
        let faults = Faults::default();
        faults
            .add(spec("/rest/v1.0/companies/{company_id}/users/{id}"))
            .unwrap();
        assert!(faults
            .check("PATCH", "/rest/v1.0/companies/8001/users/5101")
            .is_some());
        assert!(faults
            .check("GET", "/rest/v1.0/companies/8001/users/5101")
            .is_none());
        assert!(faults
            .check("PATCH", "/rest/v1.0/companies/8001/users")
            .is_none());
        assert!(faults
            .check("PATCH", "/rest/v1.0/companies/8001/users/5101/extra")
            .is_none());
    }

    #[test]
    fn after_and_times_bound_the_hits() {
        let faults = Faults::default();
        let id = faults
            .add(FaultSpec {
                after: Some(2),
                times: Some(3),
                ..spec("/x")
            })
            .unwrap();
        let hits: Vec<bool> = (0..8)
            .map(|_| faults.check("PATCH", "/x").is_some())
            .collect();
        assert_eq!(hits, [false, false, true, true, true, false, false, false]);
        assert_eq!(faults.list()[0].hits_left, Some(0));
        assert!(faults.remove(id));
        assert!(!faults.remove(id));
    }

    #[test]
    fn probability_is_reproducible_with_a_seed() {
        let run = || {
            let faults = Faults::default();
            faults
                .add(FaultSpec {
                    probability: Some(0.3),
                    seed: Some(42),
                    ..spec("/x")
                })
                .unwrap();
            (0..200)
                .map(|_| faults.check("PATCH", "/x").is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|&&hit| hit).count();
        assert!((30..=90).contains(&hits), "{hits} hits of 200 at p=0.3");
    }

    #[test]
    fn invalid_rules_are_refused_naming_the_field() {
        let faults = Faults::default();
        let Err(refusal) = faults.add(FaultSpec {
            status: Some(99),
            ..spec("/x")
        }) else {
            panic!("refused");
        };
        assert_eq!(refusal.field, "status");
        assert!(faults
            .add(FaultSpec {
                probability: Some(1.5),
                ..spec("/x")
            })
            .is_err());
        assert!(faults.add(spec("x")).is_err());
    }
}
