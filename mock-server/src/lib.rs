//! procore-mock: an in-memory emulator of Procore's user-management REST API.
//!
//! # Layout
//!
//! - `config`: command-line flags and `PROCORE_MOCK_*` settings; [`Profile`] picks which of
//!   Procore's descriptions of its API is served.
//! - `clock`: the one clock every time-based rule reads, controllable by tests.
//! - `fixtures`: the seed-data format, its validation, and the built-in default data.
//! - `store`: in-memory state (companies with their directories and projects; OAuth apps and
//!   credentials). No HTTP in here.
//! - `domain`: every Procore rule, as plain functions over the store that refuse with their
//!   own `domain::DomainError`.
//! - `control`: the control plane's data: rate limits, fault rules, the request journal (with
//!   the [`RequestMatcher`] tests verify it by) and the state file.
//! - `delivery`: the webhook delivery engine: a bounded background worker that POSTs queued
//!   events to hooks, retrying on the mock clock, with fault rules for deliveries.
//! - `http`: each client connection with its timeouts (`http::connection`), and what routes
//!   share: reading requests into the domain's inputs, auth, bodies (one reader with the
//!   limits), pagination, streamed bodies, the wire errors (where domain errors get their
//!   status), the warnings for what a request sent and its handler ignored (`http::warnings`,
//!   refused under `--strict`; what Procore documents, told apart by `http::documented`), and
//!   the tower layer that applies the control plane to every request.
//! - `routes`: one module per resource, each handler parse → lock → rule → view (the company
//!   resolved and locked by one preamble, `http::auth::Caller::in_company`), the
//!   `/__admin` API, the dashboard page (`routes::dashboard`, its files in
//!   `assets/dashboard/`) and the mock's own OpenAPI document (`routes::openapi`, served at
//!   `/openapi.json`); [`app`] assembles them.
//! - `views`: how records are written on the wire, by a small JSON writer
//!   (`views::writer`) straight into the response buffer.
//! - `server`: serving on a listener, clearing what interrupted saves of the state file left,
//!   and [`MockServer`] for embedding in tests.
//! - `state`: what handlers share.
//! - Crux Connect's organization-user permissions API is served beside Procore's, sharing the
//!   clock, journal, faults and state but none of Procore's rules: its data in `store::crux`
//!   (seeded from `fixtures::crux`), its rules in `domain::crux` (refusing with their own
//!   `CruxError`), its token extractor, wire errors and path test in `http::crux`, its
//!   endpoints in `routes::crux`, its JSON in `views::crux`.
//!
//! The modules are private; the crate's public API is what is re-exported below: [`MockServer`]
//! and its [`MockServerBuilder`], [`Config`], [`Profile`], [`Fixture`], [`Clock`], [`app`],
//! [`run`] (and [`clear_abandoned_saves`], which the binary calls before loading a state file),
//! the [`JournalEntry`] values of [`MockServer::received_requests`] and the
//! [`RequestMatcher`] (with its [`Expect`]) of [`MockServer::requests_matching`], the
//! [`FlushReport`] of [`MockServer::flush_webhooks`], and [`AppState`]
//! (for [`app`]) and [`FixtureError`] as those signatures need them.
//!
//! Imports point one way: `routes` → `http`, `domain`, `views` → `store`. `domain` imports
//! nothing from `http`, `routes` or `views`; `control` imports nothing else of the crate;
//! `delivery` (which `routes` and `server` drive) takes its rules from `domain` and its data
//! from `store`; no module imports `routes` but `lib.rs`.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod delivery;
pub(crate) mod domain;
pub(crate) mod fixtures;
pub(crate) mod http;
pub(crate) mod routes;
pub(crate) mod server;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod views;

use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

pub use clock::Clock;
pub use config::{Config, Profile};
pub use control::journal::JournalEntry;
pub use control::matcher::{Expect, RequestMatcher};
pub use delivery::FlushReport;
pub use fixtures::{Fixture, FixtureError};
pub use server::{clear_abandoned_saves, run, MockServer, MockServerBuilder};
pub use state::AppState;

/// A door for the crate's own benchmarks and tests into internals that are not public API (the
/// benchmarks measure the JSON writer alone against the server; the tests read the journal's
/// byte count). Not for embedders: anything here may change.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals {
    pub use crate::store::{Store, User};
    pub use crate::views::writer::write_array;
    pub use crate::views::{CompanyUserView, UserShape};

    /// The store `fixture` loads into, as a server started at `now` would hold it.
    pub fn store_of(fixture: crate::Fixture, now: chrono::DateTime<chrono::Utc>) -> Store {
        fixture.into_store(now)
    }

    /// The bytes the request journal's buffers hold now, as counted against its budget.
    pub fn journal_held_bytes(state: &crate::AppState) -> usize {
        state.control().journal.held_bytes()
    }
}

/// The complete application for `state`, ready to serve or to `oneshot` in tests.
///
/// The middleware goes on as one stack, so each route is wrapped once rather than once per
/// layer. The control plane also logs each request (at debug level: `RUST_LOG=debug`).
pub fn app(state: AppState) -> Router {
    let middleware = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(http::control_layer::ControlLayer::new(state.clone()));
    routes::router(&state).layer(middleware).with_state(state)
}

/// A bug must never take the server down or answer in a foreign shape: a panicking handler is
/// answered with a JSON 500 (and logged).
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let body = serde_json::json!({ "message": "Internal server error" });
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(body),
    )
        .into_response()
}
