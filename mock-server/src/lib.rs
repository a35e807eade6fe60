//! procore-mock: an in-memory emulator of Procore's user-management REST API.
//!
//! # Layout
//!
//! - [`config`]: command-line flags and `PROCORE_MOCK_*` settings; [`Profile`] picks which of
//!   Procore's descriptions of its API is served.
//! - [`clock`]: the one clock every time-based rule reads, controllable by tests.
//! - [`fixtures`]: the seed-data format, its validation, and the built-in default data.
//! - [`store`]: in-memory state (companies with their directories and projects; OAuth apps and
//!   credentials). No HTTP in here.
//! - [`domain`]: Procore's business rules as plain functions over the store.
//! - [`control`]: the control plane: rate limits, fault injection, the request journal and
//!   the state file, applied to every request by one tower layer ([`control::ControlLayer`]).
//! - [`http`]: each client connection with its timeouts ([`http::connection`]), and the
//!   extractors and helpers shared by routes (auth, bodies, pagination, URLs, streamed bodies).
//! - [`routes`]: one module per resource, and the mock's own OpenAPI document
//!   ([`routes::openapi`]); [`app`] assembles them.
//! - [`views`]: how records are written on the wire, by a small JSON writer
//!   ([`views::writer`]) straight into the response buffer.
//! - [`error`]: the Procore-shaped error type.
//! - [`server`]: serving on a listener, and [`MockServer`] for embedding in tests.
//! - [`state`]: what handlers share.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod error;
pub mod fixtures;
pub mod http;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod views;

use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

pub use clock::Clock;
pub use config::{Config, Profile};
pub use fixtures::Fixture;
pub use server::{MockServer, MockServerBuilder};
pub use state::AppState;

/// The complete application for `state`, ready to serve or to `oneshot` in tests.
///
/// The middleware goes on as one stack, so each route is wrapped once rather than once per
/// layer. The control plane also logs each request (at debug level: `RUST_LOG=debug`).
pub fn app(state: AppState) -> Router {
    let middleware = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(control::ControlLayer::new(state.clone()));
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
