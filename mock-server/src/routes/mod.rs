//! One module per resource; [`router`] merges them in one place.

pub mod admin;
pub mod companies;
pub mod company_users;
pub mod crux;
pub mod dashboard;
pub mod oauth;
pub mod openapi;
pub mod project_users;
pub mod vendors;
pub mod webhooks;

use axum::http::{Method, Uri};
use axum::Router;

use crate::http::error::ApiError;
use crate::state::AppState;

/// Every route the mock serves for the state's profile (Crux Connect's too, unless
/// `--no-crux`), with JSON answers for unknown routes (404) and known routes called with the
/// wrong method (405).
pub fn router(state: &AppState) -> Router<AppState> {
    let router = if state.config().no_crux {
        Router::new()
    } else {
        crux::routes()
    };
    router
        .merge(oauth::routes())
        .merge(companies::routes())
        .merge(company_users::routes(state))
        .merge(project_users::routes(state))
        .merge(vendors::routes())
        .merge(webhooks::routes())
        .merge(admin::routes(state))
        .merge(openapi::routes(state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("No route matches [{method}] \"{}\"", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on \"{}\"", uri.path()))
}
