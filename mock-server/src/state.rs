//! The state every handler shares: the store, the clock and the configuration.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::clock::Clock;
use crate::config::{Config, Profile};
use crate::fixtures::Fixture;
use crate::store::Store;

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
}

impl AppState {
    /// State loaded from `fixture`, running on `clock`.
    pub fn new(config: Config, fixture: Fixture, clock: Clock) -> Self {
        let store = fixture.clone().into_store(clock.now());
        Self {
            inner: Arc::new(Inner {
                store: ArcSwap::from_pointee(store),
                clock,
                config,
                fixture,
            }),
        }
    }

    /// The current store. Hold the guard only for the duration of one request step.
    pub fn store(&self) -> Guard<Arc<Store>> {
        self.inner.store.load()
    }

    /// Replaces the whole store at once.
    pub fn replace_store(&self, store: Store) {
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
}
