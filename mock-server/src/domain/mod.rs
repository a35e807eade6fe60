//! Procore's business rules as plain functions over a company's [`Directory`].
//!
//! Each rule function validates everything first and only then writes, so a refused request
//! leaves no half-applied change behind. Callers hold the company's write lock around the call,
//! which makes check-and-write one step under concurrency.
//!
//! [`Directory`]: crate::store::Directory

pub mod changes;
pub mod company_users;
pub mod filters;
pub mod project_users;
pub mod validation;
pub mod webhooks;
