//! The state every handler shares: the store, the clock, the configuration and the control
//! plane.
//!
//! [`AppState`] is public only so embedders can build an [`app`](crate::app) for `oneshot`
//! tests; what it holds is reached through the crate's own modules.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::clock::Clock;
use crate::config::{Config, Profile};
use crate::control::limiter::Limits;
use crate::control::Control;
use crate::delivery::Engine;
use crate::domain::webhooks::{Actor, Change};
use crate::fixtures::Fixture;
use crate::store::{Company, Store};

/// Cheap to clone: one `Arc` around everything.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Swapped whole (not cleared piecemeal) when state is reset or replaced, so a request
    /// sees either the old state or the new one, never a mix.
    store: ArcSwap<Store>,
    clock: Clock,
    config: Config,
    /// What the server started from; a reset returns to it.
    fixture: Fixture,
    /// Rate limits, faults and the journal.
    control: Control,
    /// Webhook deliveries.
    webhooks: Engine,
}

impl AppState {
    /// State loaded from `fixture`, running on `clock`.
    pub fn new(config: Config, fixture: Fixture, clock: Clock) -> Self {
        let store = fixture.clone().into_store(clock.now());
        let limits = Limits {
            hourly: config.rate_limit_hourly,
            spike: config.rate_limit_spike,
        };
        let control = Control::new(limits, config.journal_size, config.journal_max_bytes);
        let webhooks = Engine::new(&config);
        Self {
            inner: Arc::new(Inner {
                store: ArcSwap::from_pointee(store),
                clock,
                config,
                fixture,
                control,
                webhooks,
            }),
        }
    }

    /// Rate limits, faults and the journal.
    pub(crate) fn control(&self) -> &Control {
        &self.inner.control
    }

    /// The webhook delivery engine.
    pub(crate) fn webhooks(&self) -> &Engine {
        &self.inner.webhooks
    }

    /// Reports changes a request just committed in `company` to the webhooks that watch them:
    /// the one seam between the API and webhooks. Call it where the change commits, still
    /// holding the company's directory lock, so events keep commit order. It only queues.
    pub(crate) fn emit(&self, company: &Company, actor: &Actor, changes: &[Change]) {
        self.inner
            .webhooks
            .emit(company, actor, changes, self.clock().now());
    }

    /// Back to the starting fixture: data, credentials, hooks and waiting deliveries, the limits
    /// given at start and their counts, journal, request and delivery faults. The clock stays
    /// where it is.
    pub fn reset(&self) {
        self.replace_store(self.inner.fixture.clone().into_store(self.clock().now()));
        self.inner.control.clear();
        self.inner.webhooks.faults.clear();
        self.inner.control.limiter.set_limits(Limits {
            hourly: self.inner.config.rate_limit_hourly,
            spike: self.inner.config.rate_limit_spike,
        });
    }

    /// Writes the state file, when one is configured. Blocks while it writes: call it off the
    /// async workers.
    pub(crate) fn save_state_file(&self) -> std::io::Result<Option<&std::path::Path>> {
        match &self.inner.config.state_file {
            Some(path) => {
                let store = self.store();
                crate::control::persistence::save(path, |mut out| {
                    Fixture::write_store(&store, &mut out)
                })?;
                Ok(Some(path))
            }
            None => Ok(None),
        }
    }

    /// The current store. Hold the guard only for the duration of one request step.
    pub(crate) fn store(&self) -> Guard<Arc<Store>> {
        self.inner.store.load()
    }

    /// Replaces the whole store at once.
    pub(crate) fn replace_store(&self, store: Store) {
        self.inner.store.store(Arc::new(store));
    }

    /// The fixture the server started from.
    pub fn fixture(&self) -> &Fixture {
        &self.inner.fixture
    }

    /// The mock clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The configuration the server started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The API profile being served.
    pub fn profile(&self) -> Profile {
        self.inner.config.profile
    }

    /// Whether what Procore would ignore is refused instead (`--strict`).
    pub fn strict(&self) -> bool {
        self.inner.config.strict
    }
}
