//! Delivery fault rules: what `POST /__admin/webhooks/faults` sets up so receivers meet the
//! failures real deliveries bring: a lost delivery (`drop`), a late one (`delay`), the same event
//! twice (`duplicate`), and events out of order (`reorder`).
//!
//! Rules are checked once per event and hook, when the event is queued; they are deterministic
//! (`after` and `times` count matches), so a test gets the same deliveries on every run.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::domain::webhooks::{Event, EventType, Resource};

/// What a rule does to a matching delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Never sent; logged with outcome `discarded`.
    Drop,
    /// Held `seconds` on the mock clock before the first attempt (deliveries behind it on the
    /// same hook wait too: a hook's deliveries keep their order).
    Delay,
    /// Sent twice, the same event with the same id and ulid.
    Duplicate,
    /// Held until the hook's next event overtakes it, then sent right after that one (a flush
    /// releases an event still waiting for one).
    Reorder,
}

/// A rule as clients send it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFaultSpec {
    /// What to do.
    pub action: FaultKind,
    /// Only deliveries to this hook (any hook when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<u64>,
    /// Only events of this resource, e.g. `Company Users`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Only events of this type: `create`, `update` or `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// How long `delay` holds a delivery, in mock-clock seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// How many deliveries the rule hits before it stops (default: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Matching deliveries to let through before the rule starts hitting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// What is wrong with a delivery fault rule (the admin API answers it as a 400 naming the
/// field).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct InvalidDeliveryFault {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidDeliveryFault {
    InvalidDeliveryFault {
        field,
        message: message.into(),
    }
}

/// A rule as `GET /__admin/webhooks/faults` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryFaultView {
    /// Rule id, for `DELETE /__admin/webhooks/faults/{id}`.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub spec: DeliveryFaultSpec,
    /// Deliveries hit so far.
    pub hits: u64,
}

/// What a rule does to one delivery.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultHit {
    /// The rule that fired.
    pub rule_id: u64,
    /// Its action.
    pub kind: FaultKind,
    /// The delay, in milliseconds (`delay` only).
    pub delay_ms: i64,
}

#[derive(Debug)]
struct Rule {
    id: u64,
    spec: DeliveryFaultSpec,
    resource: Option<Resource>,
    event_type: Option<EventType>,
    matched: u64,
    hits: u64,
}

/// The rules in force. Checked only when an event is queued (never on a plain API read), so a
/// mutex is enough.
#[derive(Debug, Default)]
pub struct DeliveryFaults {
    rules: Mutex<(u64, Vec<Rule>)>,
}

impl DeliveryFaultSpec {
    /// The rule's resource and event type, after checking every field (400 naming it).
    fn parse(&self) -> Result<(Option<Resource>, Option<EventType>), InvalidDeliveryFault> {
        let resource =
            match &self.resource_name {
                None => None,
                Some(name) => Some(Resource::parse(name).ok_or_else(|| {
                    invalid("resource_name", format!("`{name}` is not a resource"))
                })?),
            };
        let event_type = match &self.event_type {
            None => None,
            Some(name) => Some(
                EventType::parse(name)
                    .ok_or_else(|| invalid("event_type", "must be create, update or delete"))?,
            ),
        };
        match (self.action, self.seconds) {
            (FaultKind::Delay, Some(s)) if s.is_finite() && s > 0.0 && s <= 1e9 => {}
            (FaultKind::Delay, _) => {
                return Err(invalid(
                    "seconds",
                    "a delay needs seconds between 0 and 1e9",
                ))
            }
            (_, Some(_)) => return Err(invalid("seconds", "only a delay takes seconds")),
            (_, None) => {}
        }
        Ok((resource, event_type))
    }
}

impl DeliveryFaults {
    /// Adds a checked rule; returns its view.
    pub fn add(&self, spec: DeliveryFaultSpec) -> Result<DeliveryFaultView, InvalidDeliveryFault> {
        let (resource, event_type) = spec.parse()?;
        let mut rules = self.rules.lock();
        rules.0 += 1;
        let id = rules.0;
        let view = DeliveryFaultView {
            id,
            spec: spec.clone(),
            hits: 0,
        };
        rules.1.push(Rule {
            id,
            spec,
            resource,
            event_type,
            matched: 0,
            hits: 0,
        });
        Ok(view)
    }

    /// The rules, oldest first.
    pub fn list(&self) -> Vec<DeliveryFaultView> {
        self.rules
            .lock()
            .1
            .iter()
            .map(|rule| DeliveryFaultView {
                id: rule.id,
                spec: rule.spec.clone(),
                hits: rule.hits,
            })
            .collect()
    }

    /// Removes rule `id`; whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self.rules.lock();
        let before = rules.1.len();
        rules.1.retain(|rule| rule.id != id);
        rules.1.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules.lock().1.clear();
    }

    /// The first rule that hits `event`'s delivery to `hook_id`, counting the match.
    pub fn check(&self, hook_id: u64, event: &Event) -> Option<FaultHit> {
        let mut rules = self.rules.lock();
        for rule in rules.1.iter_mut() {
            let matches = rule.spec.hook_id.is_none_or(|id| id == hook_id)
                && rule.resource.is_none_or(|r| r == event.resource_name)
                && rule.event_type.is_none_or(|e| e == event.event_type);
            if !matches {
                continue;
            }
            rule.matched += 1;
            if rule.matched <= rule.spec.after.unwrap_or(0)
                || rule.spec.times.is_some_and(|times| rule.hits >= times)
            {
                continue;
            }
            rule.hits += 1;
            return Some(FaultHit {
                rule_id: rule.id,
                kind: rule.spec.action,
                delay_ms: rule.spec.seconds.map_or(0, |s| (s * 1000.0).round() as i64),
            });
        }
        None
    }
}
