//! One company's webhooks: hooks with their triggers, the events waiting to be delivered to
//! each hook, and each hook's delivery log. No HTTP and no rules in here: the rules are in
//! [`crate::domain::webhooks`], the sending in [`crate::delivery`].
//!
//! The whole of it is serde data: it is a company's `webhooks` in fixtures and saved states, so
//! hooks, triggers, waiting events and the log survive a restart.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::webhooks::{Event, EventType, Outcome, Resource, Scope};

/// Deliveries a hook's log keeps; older ones are forgotten first.
pub const DELIVERY_LOG_LIMIT: usize = 1_000;
/// Dropped events the company remembers, so an operator can see what was lost.
pub const DROPPED_LOG_LIMIT: usize = 100;

/// A company's webhooks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyWebhooks {
    /// Hooks by id.
    #[serde(default, with = "hooks_as_list")]
    pub hooks: BTreeMap<u64, Hook>,
    /// The next event or delivery id (saved, so ids never repeat across a restart).
    #[serde(default = "first_id")]
    pub next_id: u64,
    /// Events refused because the queue was full, newest last.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub dropped: VecDeque<DroppedEvent>,
    /// How many events were ever refused because the queue was full.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_total: u64,
}

impl Default for CompanyWebhooks {
    fn default() -> Self {
        Self {
            hooks: BTreeMap::new(),
            next_id: first_id(),
            dropped: VecDeque::new(),
            dropped_total: 0,
        }
    }
}

/// Event and delivery ids start at 1.
fn first_id() -> u64 {
    1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where a company's events are delivered, and which ones.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Hook id; unique across the server.
    pub id: u64,
    /// The namespace that owns it; calls in other namespaces do not see it.
    pub namespace: String,
    /// Payload version.
    pub api_version: String,
    /// Where events are POSTed.
    pub destination_url: String,
    /// Headers sent with every delivery (typically `Authorization`).
    #[serde(default)]
    pub destination_headers: BTreeMap<String, String>,
    /// The project of a project hook; `None` for a company hook.
    #[serde(default)]
    pub owned_by_project_id: Option<u64>,
    /// The user who created it.
    pub owned_by_user_id: u64,
    /// What it watches.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// Events waiting for delivery, in delivery order.
    #[serde(default)]
    pub pending: VecDeque<PendingEvent>,
    /// Attempts and their outcomes, oldest first, at most [`DELIVERY_LOG_LIMIT`].
    #[serde(default)]
    pub deliveries: VecDeque<Delivery>,
    /// When the current run of failures began (deliveries are paused meanwhile).
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed attempts in a row; sets the next backoff.
    #[serde(default)]
    pub failures: u32,
    /// An attempt is being made right now (one at a time per hook keeps the order). Not saved:
    /// a restarted server has nothing in flight.
    #[serde(skip)]
    pub busy: bool,
}

/// One resource and event type a hook watches.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Trigger id; unique across the server.
    pub id: u64,
    /// The resource.
    pub resource_name: Resource,
    /// The event type.
    pub event_type: EventType,
    /// The user who created it.
    pub user_id: u64,
}

/// An event waiting in a hook's queue.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingEvent {
    /// The event.
    pub event: Event,
    /// Not attempted before this time (mock clock): now for new events, the backoff for
    /// retries, later for a delay fault.
    pub due_at: DateTime<Utc>,
    /// Held back by a reorder fault until the next event for the hook overtakes it.
    #[serde(default)]
    pub held: bool,
}

/// One delivery attempt (or one event given up without an attempt).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Delivery id.
    pub id: u64,
    /// The event's id.
    pub event_id: u64,
    /// The event.
    pub event: Event,
    /// When the attempt began (mock clock).
    pub started_at: DateTime<Utc>,
    /// When it ended (mock clock).
    pub completed_at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    #[serde(default)]
    pub response_status: Option<u16>,
    /// The receiver's headers.
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// The start of the receiver's body.
    #[serde(default)]
    pub response_body: Option<String>,
    /// Why the attempt failed without an answer (refused, timed out...), or why it was given up.
    #[serde(default)]
    pub response_error: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
}

/// An event the full queue refused.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DroppedEvent {
    /// The hook it was for.
    pub hook_id: u64,
    /// The event.
    pub event: Event,
}

impl Hook {
    /// Who owns the hook, in a company `company_id`.
    pub fn scope(&self, company_id: u64) -> Scope {
        match self.owned_by_project_id {
            None => Scope::Company(company_id),
            Some(project_id) => Scope::Project {
                project_id,
                company_id,
            },
        }
    }

    /// Whether a trigger of this hook covers `resource`'s `event_type`.
    pub fn watches(&self, resource: Resource, event_type: EventType) -> bool {
        self.triggers
            .iter()
            .any(|t| t.resource_name == resource && t.event_type == event_type)
    }

    /// Appends to the log, forgetting the oldest entry past the limit.
    pub fn log(&mut self, delivery: Delivery) {
        if self.deliveries.len() >= DELIVERY_LOG_LIMIT {
            self.deliveries.pop_front();
        }
        self.deliveries.push_back(delivery);
    }
}

impl CompanyWebhooks {
    /// Whether nothing was ever set up or recorded (such a company's fixture leaves
    /// `webhooks` out).
    pub fn is_unused(&self) -> bool {
        self.hooks.is_empty() && self.dropped_total == 0 && self.next_id == first_id()
    }

    /// A fresh event or delivery id.
    pub fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Events waiting across all hooks.
    pub fn pending_count(&self) -> usize {
        self.hooks.values().map(|h| h.pending.len()).sum()
    }

    /// Records an event the full queue refused.
    pub fn drop_event(&mut self, hook_id: u64, event: Event) {
        self.dropped_total += 1;
        if self.dropped.len() >= DROPPED_LOG_LIMIT {
            self.dropped.pop_front();
        }
        self.dropped.push_back(DroppedEvent { hook_id, event });
    }

    /// The largest hook or trigger id, so a loaded store hands out ids above it.
    pub fn highest_id(&self) -> u64 {
        self.hooks
            .values()
            .flat_map(|h| std::iter::once(h.id).chain(h.triggers.iter().map(|t| t.id)))
            .max()
            .unwrap_or(0)
    }
}

/// Hooks are a list in fixtures and a map keyed by id in memory.
mod hooks_as_list {
    use std::collections::BTreeMap;

    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    use super::Hook;

    pub fn serialize<S: Serializer>(
        hooks: &BTreeMap<u64, Hook>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let list: Vec<&Hook> = hooks.values().collect();
        list.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<u64, Hook>, D::Error> {
        let mut hooks = BTreeMap::new();
        for hook in Vec::<Hook>::deserialize(deserializer)? {
            let id = hook.id;
            if hooks.insert(id, hook).is_some() {
                return Err(D::Error::custom(format!("hook {id} is listed twice")));
            }
        }
        Ok(hooks)
    }
}
