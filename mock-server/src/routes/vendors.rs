//! Vendors of a company's directory, so `vendor_id` filters and `vendor` objects in user
//! records have something real behind them.
//!
//! Procore's paths are `/rest/v1.0/vendors?company_id=N` and `/rest/v1.0/vendors/{id}?company_id=N`;
//! the older `/rest/v1.0/companies/{company_id}/vendors[/{id}]` is kept for existing clients.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::http::auth::{Caller, Tenant};
use crate::http::error::ApiError;
use crate::http::pagination::Page;
use crate::http::query::RequestUrl;
use crate::http::{record, ApiPath};
use crate::state::AppState;
use crate::views::VendorView;

/// The vendor routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rest/v1.0/companies/{company_id}/vendors", get(list))
        .route("/rest/v1.0/companies/{company_id}/vendors/{id}", get(show))
        .route("/rest/v1.0/vendors", get(list_by_query))
        .route("/rest/v1.0/vendors/{id}", get(show_by_query))
}

/// `GET /rest/v1.0/vendors?company_id=N`: Procore's path for the company's vendors.
async fn list_by_query(
    state: State<AppState>,
    caller: Caller,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let company_id = url.company_id()?;
    list(state, caller, ApiPath(company_id), url).await
}

/// `GET /rest/v1.0/vendors/{id}?company_id=N`: Procore's path for one vendor.
async fn show_by_query(
    state: State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let company_id = url.company_id()?;
    show(state, caller, ApiPath((company_id, id)), url).await
}

/// `GET /rest/v1.0/companies/{company_id}/vendors`: in id order, paginated.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let page = Page::new(&url, state.profile())?;
    caller.reading(&state, &url, Tenant::Company(company_id), |directory| {
        let items = directory.vendors.values().map(VendorView);
        Ok(page.answer(items, directory.vendors.len()))
    })
}

/// `GET /rest/v1.0/companies/{company_id}/vendors/{id}`.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    caller.reading(&state, &url, Tenant::Company(company_id), |directory| {
        let vendor = directory
            .vendors
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Vendor", id))?;
        Ok(record(StatusCode::OK, &VendorView(vendor)))
    })
}
