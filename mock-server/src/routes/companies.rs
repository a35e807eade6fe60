//! Companies, projects, the caller (`/me`) and permission templates.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::http::auth::{Caller, Tenant};
use crate::http::error::ApiError;
use crate::http::pagination::Page;
use crate::http::query::RequestUrl;
use crate::http::warnings::Ignored;
use crate::http::{self, params, ApiPath};
use crate::state::AppState;
use crate::views::{CompanyView, ProjectView, TemplateView};

/// Routes for companies, projects, `/me` and permission templates.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rest/v1.0/companies", get(list_companies))
        .route("/rest/v1.0/projects", get(list_projects))
        .route("/rest/v1.1/projects", get(list_projects_v11))
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
    Ignored::new(&url).settle(state.strict())?;
    let store = state.store();
    let app = caller.app(&store)?;
    let visible = || {
        store
            .companies()
            .filter(|company| app.is_installed_in(company.id))
    };
    Ok(page.answer(visible().map(CompanyView), visible().count()))
}

/// Largest page of `GET /rest/v1.1/projects`, as Procore documents it.
const MAX_PER_PAGE_V11_PROJECTS: usize = 300;

/// `GET /rest/v1.0/projects?company_id=N`: the company's projects, in id order.
async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let page = Page::new(&url, state.profile())?;
    projects_page(&state, &caller, &url, page)
}

/// `GET /rest/v1.1/projects?company_id=N`: Procore's current "List projects"; the same
/// records, with `per_page` capped at 300.
async fn list_projects_v11(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let page = Page::new(&url, state.profile())?.capped_at(MAX_PER_PAGE_V11_PROJECTS);
    projects_page(&state, &caller, &url, page)
}

fn projects_page(
    state: &AppState,
    caller: &Caller,
    url: &RequestUrl,
    page: Page<'_>,
) -> Result<Response, ApiError> {
    let company_id = url.company_id()?;
    Ignored::new(url).settle(state.strict())?;
    caller.in_company(state, Tenant::Company(company_id), |tenant| {
        let directory = tenant.read();
        let company = tenant.company;
        let items = directory
            .projects
            .values()
            .map(|project| ProjectView { project, company });
        Ok(page.answer(items, directory.projects.len()))
    })
}

/// `GET /rest/v1.0/me`: the user the token speaks for (the service account under client
/// credentials). No `Procore-Company-Id` needed.
async fn me(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    Ignored::new(&url).settle(state.strict())?;
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

/// `GET /rest/v1.0/companies/{company_id}/permission_templates`: the company's templates of
/// the `filters[type]` asked for (project templates by default, as Procore documents).
async fn company_templates(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let kind = params::template_type(&url)?;
    let page = Page::new(&url, state.profile())?;
    caller.reading(&state, &url, Tenant::Company(company_id), |directory| {
        let wanted = || directory.templates.values().filter(|t| kind.matches(t));
        Ok(page.answer(wanted().map(TemplateView), wanted().count()))
    })
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
    caller.reading(&state, &url, Tenant::ProjectOf(project_id), |directory| {
        let usable = || {
            directory
                .templates
                .values()
                .filter(|t| t.applies_to_project(project_id))
        };
        Ok(page.answer(usable().map(TemplateView), usable().count()))
    })
}
