//! Integration tests of the mock over real HTTP: a real server on a loopback port, a real client.

mod helpers;

mod company_users;
mod concurrency;
mod conformance;
mod control_plane;
mod crux;
mod dashboard;
mod directory;
mod errors;
mod fidelity;
mod filter_properties;
mod fixtures;
mod hardening;
mod oauth;
mod openapi;
mod pagination;
mod profiles;
mod project_users;
mod server;
mod snapshots;
mod verification;
mod warnings;
mod webhooks;
