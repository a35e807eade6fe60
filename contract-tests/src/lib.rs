//! procore-contract: replays Procore user-lifecycle scenarios against the mock or a sandbox.
//!
//! The harness talks to its target over HTTP only and never imports the mock's domain types,
//! so it can catch the mock being wrong.
//!
//! # Layout
//!
//! - [`model`]: a reference model of Procore's user lifecycle and the random operations drawn
//!   from it.
//! - [`lifecycle`]: runs random lifecycles against targets, checks each step against the model,
//!   and shrinks failures.

pub mod lifecycle;
pub mod model;
