//! procore-contract: replays Procore user-lifecycle scenarios against the mock or a sandbox.
//!
//! The harness talks to its target over HTTP only and never imports the mock's domain types,
//! so it can catch the mock being wrong.
