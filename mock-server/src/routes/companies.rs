//! Companies, projects, the caller (`/me`) and permission templates.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::http::pagination::Page;
use crate::http::query::RequestUrl;
use crate::http::{self, ApiPath};
use crate::state::AppState;
use crate::views::{CompanyView, ProjectView, TemplateView};

/// Routes for companies, projects, `/me` and permission templates.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rest/v1.0/companies", get(list_companies))
        .route("/rest/v1.0/projects", get(list_projects))
        .route("/rest/v1.0/me", get(me))
        .route(
            "/rest/v1.0/companies/{company_id}/permission_templates",
            get(company_templates),
        )
        .route(
            "/rest/v1.0/projects/{project_id}/permission_templates",
            get(project_templates),
        )
}

/// `GET /rest/v1.0/companies`: the companies the caller's app is installed in. No
/// `Procore-Company-Id` needed: this is how a client discovers it.
async fn list_companies(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let page = Page::new(&url, state.profile())?;
    let store = state.store();
    let app = caller.app(&store)?;
    let visible = || {
        store
            .companies()
            .filter(|company| app.is_installed_in(company.id))
    };
    Ok(page.answer(visible().map(CompanyView), visible().count()))
}

/// `GET /rest/v1.0/projects?company_id=N`: the company's projects, in id order.
async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let company_id = match url.get("company_id") {
        None => return Err(ApiError::bad_field("company_id", "is missing")),
        Some(raw) => raw.parse::<u64>().map_err(|_| {
            ApiError::bad_field("company_id", format!("must be a company id, got `{raw}`"))
        })?,
    };
    let page = Page::new(&url, state.profile())?;
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let directory = company.read();
    let items = directory
        .projects
        .values()
        .map(|project| ProjectView { project, company });
    Ok(page.answer(items, directory.projects.len()))
}

/// `GET /rest/v1.0/me`: the user the token speaks for (the service account under client
/// credentials). No `Procore-Company-Id` needed.
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let store = state.store();
    let owner = caller.token.grant.resource_owner_id;
    for company_id in &caller.app(&store)?.installed_company_ids {
        let Some(company) = store.company(*company_id) else {
            continue;
        };
        let directory = company.read();
        if let Some(user) = directory.user(owner) {
            let body = json!({ "id": user.id, "login": user.email_address, "name": user.name() });
            return Ok(http::json(StatusCode::OK, &body));
        }
    }
    Err(ApiError::not_found("User", owner))
}

/// `GET /rest/v1.0/companies/{company_id}/permission_templates`: every template of the company.
async fn company_templates(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let page = Page::new(&url, state.profile())?;
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let directory = company.read();
    let items = directory.templates.values().map(TemplateView);
    Ok(page.answer(items, directory.templates.len()))
}

/// `GET /rest/v1.0/projects/{project_id}/permission_templates`: the templates a user can be
/// added to this project with.
async fn project_templates(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let page = Page::new(&url, state.profile())?;
    let store = state.store();
    let company = caller.project_company(&store, project_id)?;
    let directory = company.read();
    let usable = || {
        directory
            .templates
            .values()
            .filter(|t| t.applies_to_project(project_id))
    };
    Ok(page.answer(usable().map(TemplateView), usable().count()))
}
