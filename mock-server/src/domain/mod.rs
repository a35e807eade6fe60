//! Procore's business rules as plain functions over a company's [`Directory`]: every rule the
//! mock emulates is found here, in one step from this list.
//!
//! - [`company_users`]: create, update (v1.0, and v1.3 with its required fields, Directory Admin
//!   gate, ISO checks and avatars), reactivate, delete.
//! - [`sync`]: many directory writes in one request.
//! - [`project_users`]: membership: add, remove, create-in-project, the project-level active
//!   flag, and what deactivation does to a member.
//! - [`filters`]: the searches, filters and sorts of the lists.
//! - [`validation`]: field checks shared by every write and by fixture loading.
//! - [`changes`]: the user fields one write sets.
//!
//! The domain does not speak HTTP: it imports nothing from `http`, `routes` or `views`, takes
//! plain inputs (`http::params` reads requests into them) and refuses with its own
//! [`DomainError`], which `http::error` maps to a status and body in one place.
//!
//! Each rule function validates everything first and only then writes, so a refused request
//! leaves no half-applied change behind. Callers hold the company's write lock around the call,
//! and until the answer is written, which makes check, write and answer one step under
//! concurrency.
//!
//! [`Directory`]: crate::store::Directory

pub mod changes;
pub mod company_users;
pub mod crux;
mod error;
pub mod filters;
pub mod project_users;
pub mod sync;
pub mod validation;
pub mod webhooks;

pub use error::{field_error, summarize, DomainError, FieldErrors};
