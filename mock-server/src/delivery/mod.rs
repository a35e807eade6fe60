//! The delivery engine: committed changes in, webhook deliveries out, on the mock clock.
//!
//! - [`Engine::emit`] is the one seam between the API and webhooks: a request that commits a
//!   change calls it with the change, still under the company's directory lock, so events are
//!   numbered and queued in commit order. It only queues (never sends), so an API request never
//!   waits on a receiver. The queue is bounded per company
//!   ([`crate::Config::webhook_queue_size`]); an event that does not fit is dropped, counted and
//!   remembered in the company's `dropped` list, and logged.
//! - A background worker ([`run`]) starts deliveries: at most one attempt in flight per hook, so
//!   a hook's deliveries keep their order, and at most [`MAX_CONCURRENT_ATTEMPTS`] in all.
//!   Each attempt is bounded by the delivery timeout ([`attempt`]).
//! - A failed attempt pauses the hook and schedules a retry on the **mock clock** with Procore's
//!   backoff; once the hook has been failing for the retry horizon, its queue is given up (see
//!   [`crate::domain::webhooks`]). The worker looks for due work on every new event and on a
//!   short real-time tick, so advancing the clock makes due retries happen and a frozen clock
//!   holds them.
//! - [`flush`] delivers everything due now and returns once it is done: tests call it through
//!   `POST /__admin/webhooks/flush` instead of waiting.
//! - [`faults`]: drop, delay, duplicate and reorder rules applied as events are queued.

pub mod attempt;
pub mod faults;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::Guard;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::config::Config;
use crate::domain::webhooks::{self as rules, Actor, Change, Event, Outcome};
use crate::state::AppState;
use crate::store::webhooks::{CompanyWebhooks, Delivery, Hook, PendingEvent};
use crate::store::{Company, Store};
use faults::{DeliveryFaults, FaultHit, FaultKind};

/// Attempts in flight at once across all hooks: the worker's bound.
pub const MAX_CONCURRENT_ATTEMPTS: usize = 16;
/// How often (real time) the worker looks for retries the mock clock has made due.
const TICK: Duration = Duration::from_millis(100);

/// The engine's live parts (the data itself is in each company's [`CompanyWebhooks`]).
#[derive(Debug)]
pub struct Engine {
    /// Woken when events are queued.
    wake: Notify,
    /// Signalled whenever a hook's run of attempts ends.
    settled: Notify,
    /// Hooks with a run of attempts going on.
    in_flight: AtomicUsize,
    /// Bounds the attempts in flight.
    permits: Arc<Semaphore>,
    client: reqwest::Client,
    timeout: Duration,
    queue_limit: usize,
    /// Delivery fault rules.
    pub faults: DeliveryFaults,
}

impl Engine {
    /// An engine with the configured timeout and queue bound.
    pub fn new(config: &Config) -> Self {
        let timeout = Duration::from_millis(config.webhook_timeout_ms.max(1));
        Self {
            wake: Notify::new(),
            settled: Notify::new(),
            in_flight: AtomicUsize::new(0),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_ATTEMPTS)),
            client: attempt::client(timeout),
            timeout,
            queue_limit: config.webhook_queue_size,
            faults: DeliveryFaults::default(),
        }
    }

    /// Queues the events of `changes`, just committed in `company` by `actor` at `now`: one
    /// event per change that a trigger watches, delivered to every hook whose trigger matches.
    pub fn emit(&self, company: &Company, actor: &Actor, changes: &[Change], now: DateTime<Utc>) {
        if changes.is_empty() {
            return;
        }
        let mut webhooks = company.webhooks();
        if webhooks.hooks.is_empty() {
            return;
        }
        let mut queued = false;
        for change in changes {
            let targets: Vec<u64> = webhooks
                .hooks
                .values()
                .filter(|hook| {
                    change.is_seen_by(hook.scope(company.id))
                        && hook.watches(change.resource, change.event_type)
                })
                .map(|hook| hook.id)
                .collect();
            if targets.is_empty() {
                continue;
            }
            let id = webhooks.take_id();
            let ulid = rules::ulid(now.timestamp_millis(), uuid::Uuid::new_v4().as_u128());
            let event = Event::new(id, ulid, now, company.id, actor, change);
            for hook_id in targets {
                queued |= self.enqueue(&mut webhooks, hook_id, &event, now);
            }
        }
        drop(webhooks);
        if queued {
            self.wake.notify_one();
        }
    }

    /// Puts `event` in `hook_id`'s queue, as the fault rules say; whether anything was queued.
    fn enqueue(
        &self,
        webhooks: &mut CompanyWebhooks,
        hook_id: u64,
        event: &Event,
        now: DateTime<Utc>,
    ) -> bool {
        let hit = self.faults.check(hook_id, event);
        if let Some(FaultHit {
            kind: FaultKind::Drop,
            rule_id,
            ..
        }) = hit
        {
            let id = webhooks.take_id();
            if let Some(hook) = webhooks.hooks.get_mut(&hook_id) {
                hook.log(given_up(
                    id,
                    event,
                    now,
                    Outcome::Discarded,
                    format!("dropped by delivery fault rule {rule_id}"),
                ));
            }
            return false;
        }
        let copies = match hit.map(|h| h.kind) {
            Some(FaultKind::Duplicate) => 2,
            _ => 1,
        };
        if webhooks.pending_count() + copies > self.queue_limit {
            tracing::warn!(
                hook_id,
                event_id = event.id,
                limit = self.queue_limit,
                "webhook queue full: event dropped"
            );
            webhooks.drop_event(hook_id, event.clone());
            return false;
        }
        let Some(hook) = webhooks.hooks.get_mut(&hook_id) else {
            return false;
        };
        let delay = hit
            .filter(|h| h.kind == FaultKind::Delay)
            .map_or(0, |h| h.delay_ms);
        let pending = PendingEvent {
            event: event.clone(),
            due_at: now + chrono::Duration::milliseconds(delay),
            held: hit.is_some_and(|h| h.kind == FaultKind::Reorder),
        };
        for _ in 0..copies {
            queue(hook, pending.clone());
        }
        true
    }

    /// Hooks with a run of attempts going on right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// Appends to a hook's queue. An event queued behind one a reorder rule holds overtakes it, and
/// the held one follows right after.
fn queue(hook: &mut Hook, mut pending: PendingEvent) {
    match hook.pending.back_mut() {
        Some(last) if last.held => {
            last.held = false;
            pending.held = false;
            let at = hook.pending.len() - 1;
            hook.pending.insert(at, pending);
        }
        _ => hook.pending.push_back(pending),
    }
}

/// A log entry for an event given up without an attempt.
fn given_up(
    id: u64,
    event: &Event,
    at: DateTime<Utc>,
    outcome: Outcome,
    reason: String,
) -> Delivery {
    Delivery {
        id,
        event_id: event.id,
        event: event.clone(),
        started_at: at,
        completed_at: at,
        response_status: None,
        response_headers: Default::default(),
        response_body: None,
        response_error: Some(reason),
        outcome,
    }
}

/// Whether `hook` has an attempt (or a give-up) due at `now`.
fn has_due_work(hook: &Hook, now: DateTime<Utc>) -> bool {
    let Some(head) = hook.pending.front() else {
        return false;
    };
    let horizon_passed = hook
        .failing_since
        .is_some_and(|since| rules::past_horizon(since.timestamp_millis(), now.timestamp_millis()));
    horizon_passed || (!head.held && head.due_at <= now)
}

/// Starts a run of attempts on every idle hook with due work; returns how many started.
fn start_due(state: &AppState) -> usize {
    let store: Arc<Store> = Guard::into_inner(state.store());
    let now = state.clock().now();
    let engine = state.webhooks();
    let mut started = 0;
    for company in store.companies() {
        let mut webhooks = company.webhooks();
        for hook in webhooks.hooks.values_mut() {
            if hook.busy || !has_due_work(hook, now) {
                continue;
            }
            hook.busy = true;
            engine.in_flight.fetch_add(1, Ordering::AcqRel);
            started += 1;
            let run = HookRun {
                state: state.clone(),
                store: store.clone(),
                company_id: company.id,
                hook_id: hook.id,
            };
            tokio::spawn(run.deliver());
        }
    }
    started
}

/// One hook's run of attempts: deliver its queue head while it is due and succeeding.
struct HookRun {
    state: AppState,
    /// The store the run began in; a reset or state replacement ends the run.
    store: Arc<Store>,
    company_id: u64,
    hook_id: u64,
}

/// What to send next.
struct Job {
    url: String,
    headers: std::collections::BTreeMap<String, String>,
    body: Vec<u8>,
    event_id: u64,
}

impl HookRun {
    async fn deliver(self) {
        let engine = self.state.webhooks();
        while let Some(job) = self.next_job() {
            let Ok(_permit) = engine.permits.clone().acquire_owned().await else {
                break;
            };
            let started_at = self.state.clock().now();
            let answer = attempt::send(
                &engine.client,
                &job.url,
                &job.headers,
                job.body,
                engine.timeout,
            )
            .await;
            let completed_at = self.state.clock().now();
            if !self.record(job.event_id, started_at, completed_at, answer) {
                break;
            }
        }
    }

    /// Runs `step` on this run's hook, unless the store was replaced or the hook deleted.
    fn with_hook<T>(&self, step: impl FnOnce(&mut CompanyWebhooks, u64) -> Option<T>) -> Option<T> {
        if !Arc::ptr_eq(&self.store, &*self.state.store()) {
            return None;
        }
        let company = self.store.company(self.company_id)?;
        step(&mut company.webhooks(), self.hook_id)
    }

    /// The head of the queue if it is due; past the horizon, gives the queue up instead.
    fn next_job(&self) -> Option<Job> {
        let now = self.state.clock().now();
        self.with_hook(|webhooks, hook_id| {
            let hook = webhooks.hooks.get(&hook_id)?;
            let horizon_passed = hook.failing_since.is_some_and(|since| {
                rules::past_horizon(since.timestamp_millis(), now.timestamp_millis())
            });
            if horizon_passed {
                give_up_queue(webhooks, hook_id, now);
                return None;
            }
            let head = hook
                .pending
                .front()
                .filter(|h| !h.held && h.due_at <= now)?;
            Some(Job {
                url: hook.destination_url.clone(),
                headers: hook.destination_headers.clone(),
                body: serde_json::to_vec(&head.event.payload(&hook.api_version)).ok()?,
                event_id: head.event.id,
            })
        })
    }

    /// Logs an attempt and moves the queue on; whether the run goes on.
    fn record(
        &self,
        event_id: u64,
        started_at: DateTime<Utc>,
        completed_at: DateTime<Utc>,
        answer: attempt::Answer,
    ) -> bool {
        self.with_hook(|webhooks, hook_id| {
            let id = webhooks.take_id();
            let hook = webhooks.hooks.get_mut(&hook_id)?;
            let head = hook
                .pending
                .front_mut()
                .filter(|h| h.event.id == event_id)?;
            let event = head.event.clone();
            let succeeded = answer.succeeded();
            let outcome = if succeeded {
                hook.pending.pop_front();
                hook.failures = 0;
                hook.failing_since = None;
                Outcome::Ok
            } else {
                hook.failures = hook.failures.saturating_add(1);
                head.due_at = completed_at
                    + chrono::Duration::milliseconds(rules::retry_delay_ms(hook.failures));
                hook.failing_since.get_or_insert(started_at);
                Outcome::Retried
            };
            hook.log(Delivery {
                id,
                event_id,
                event,
                started_at,
                completed_at,
                response_status: answer.status,
                response_headers: answer.headers,
                response_body: answer.body,
                response_error: answer.error,
                outcome,
            });
            Some(succeeded)
        })
        .unwrap_or(false)
    }
}

impl Drop for HookRun {
    /// However the run ends (even by a panic), the hook is free again and flushes waiting on it
    /// hear so.
    fn drop(&mut self) {
        if let Some(company) = self.store.company(self.company_id) {
            if let Some(hook) = company.webhooks().hooks.get_mut(&self.hook_id) {
                hook.busy = false;
            }
        }
        let engine = self.state.webhooks();
        engine.in_flight.fetch_sub(1, Ordering::AcqRel);
        engine.settled.notify_waiters();
    }
}

/// The retry horizon passed: "the delivery queue will be flushed and all queued events will be
/// marked as `failed`", and the next event starts afresh.
fn give_up_queue(webhooks: &mut CompanyWebhooks, hook_id: u64, now: DateTime<Utc>) {
    let Some(hook) = webhooks.hooks.get_mut(&hook_id) else {
        return;
    };
    let abandoned: Vec<Event> = hook.pending.drain(..).map(|p| p.event).collect();
    hook.failing_since = None;
    hook.failures = 0;
    for event in abandoned {
        let id = webhooks.take_id();
        let reason = format!(
            "given up: deliveries to this hook kept failing for {} hours",
            rules::RETRY_HORIZON_MS / 3_600_000
        );
        if let Some(hook) = webhooks.hooks.get_mut(&hook_id) {
            hook.log(given_up(id, &event, now, Outcome::Failed, reason));
        }
    }
}

/// What is left after a flush.
#[derive(Clone, Debug, Serialize)]
pub struct FlushReport {
    /// Events still waiting (not yet due, or paused behind a failure).
    pub pending: usize,
    /// When the earliest of them comes due (mock clock, RFC 3339), if any.
    pub next_due_at: Option<String>,
}

/// Delivers everything due now, waits until those attempts are done, and says what is left.
/// Events a reorder rule still holds are released first: a flush delivers them in the order
/// they now stand.
pub async fn flush(state: &AppState) -> FlushReport {
    for company in state.store().companies() {
        for hook in company.webhooks().hooks.values_mut() {
            for pending in hook.pending.iter_mut() {
                pending.held = false;
            }
        }
    }
    let engine = state.webhooks();
    loop {
        let settled = engine.settled.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        start_due(state);
        if engine.in_flight() == 0 {
            break;
        }
        settled.await;
    }
    let mut pending = 0;
    let mut next_due_at: Option<DateTime<Utc>> = None;
    for company in state.store().companies() {
        for hook in company.webhooks().hooks.values() {
            pending += hook.pending.len();
            if let Some(head) = hook.pending.front() {
                next_due_at = Some(next_due_at.map_or(head.due_at, |d| d.min(head.due_at)));
            }
        }
    }
    FlushReport {
        pending,
        next_due_at: next_due_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    }
}

/// The background worker: starts due deliveries whenever events are queued, and on every tick
/// for retries the mock clock has made due. Runs until its task is aborted.
pub async fn run(state: AppState) {
    let engine = state.webhooks();
    loop {
        start_due(&state);
        tokio::select! {
            () = engine.wake.notified() => {}
            () = tokio::time::sleep(TICK) => {}
        }
    }
}
