//! procore-contract: replays Procore user-lifecycle scenarios against the mock or a sandbox.
//!
//! The harness talks to its target over HTTP only and never imports the mock's domain types,
//! so it can catch the mock being wrong.
//!
//! # Layout
//!
//! - [`target`]: the one target layer every command uses: embedded mock, running mock, or a
//!   real sandbox; credentials, discovery, the reset policy, and waiting out 429s.
//! - [`admin`]: the mock's `/__admin` API (reset, clock, faults, the request journal).
//! - [`client`]: a typed Procore client (OAuth, company header, `Link` pagination, 429
//!   handling) that integrators can copy; it depends on no other module.
//! - [`error`]: the harness's error type.
//! - [`scenario`]: scenario files (a named path, `./scenarios`, or the shipped ones compiled in
//!   by `build.rs`), their runner and reports (text, JUnit).
//! - [`receiver`]: a webhook receiver on a loopback port that records what it is sent.
//! - [`model`]: a reference model of Procore's user lifecycle and the random operations drawn
//!   from it.
//! - [`lifecycle`]: runs random lifecycles against targets, checks each step against the model,
//!   and shrinks failures.
//! - [`rehearsal`]: drives a mock into its rate limits with polite or naive virtual clients, on
//!   the mock's clock, and grades clients from the mock's request journal.
//! - [`conformance`]: `--check-schema`, every answer checked against Procore's published
//!   schema (embedded).
//! - [`coverage`]: which statuses a client's traffic met per operation (the operations read
//!   from the mock's own OpenAPI document, Crux Connect's included), pages past the end, and
//!   how to provoke the rest.

pub mod admin;
pub mod client;
pub mod conformance;
pub mod coverage;
pub mod error;
pub mod lifecycle;
pub mod model;
pub mod receiver;
pub mod rehearsal;
pub mod scenario;
pub mod target;
