//! Company users (the Directory): list, show, create, update, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::domain::changes::UserChanges;
use crate::domain::company_users;
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::http::body::RequestBody;
use crate::http::pagination::{page_response, PageRequest};
use crate::http::query::RequestUrl;
use crate::http::{json, ApiPath};
use crate::state::AppState;
use crate::views::{CompanyUserView, UserShape};

/// API versions under which Procore serves the company-user list and show.
const READ_VERSIONS: [&str; 3] = ["v1.0", "v1.1", "v1.3"];

/// The company-user routes for the state's profile.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for version in READ_VERSIONS {
        router = router
            .route(
                &format!("/rest/{version}/companies/{{company_id}}/users"),
                get(list),
            )
            .route(
                &format!("/rest/{version}/companies/{{company_id}}/users/{{id}}"),
                get(show),
            );
    }
    let mut item = axum::routing::patch(update);
    if state.profile().serves_seed_extras() {
        item = item.delete(delete);
    }
    router
        .route(
            "/rest/v1.0/companies/{company_id}/users",
            axum::routing::post(create),
        )
        .route("/rest/v1.0/companies/{company_id}/users/{id}", item)
}

/// `GET .../companies/{company_id}/users`: active users, in id order, paginated.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let page = PageRequest::from_url(&url)?;
    let directory = company.read();
    let active = || directory.users().filter(|user| user.is_active);
    let total = active().count();
    let items = active()
        .skip(page.offset())
        .take(page.per_page)
        .map(|user| CompanyUserView {
            user,
            directory: &directory,
            shape: UserShape::List,
            profile: state.profile(),
        });
    Ok(page_response(items, total, page, &url, state.profile()))
}

/// `GET .../companies/{company_id}/users/{id}`: any user of the company, active or not.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let directory = company.read();
    let user = directory
        .user(id)
        .ok_or_else(|| ApiError::not_found("User", id))?;
    Ok(detail(&state, StatusCode::OK, user, &directory))
}

/// `POST /rest/v1.0/companies/{company_id}/users` -> 201.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let changes = UserChanges::parse(body.root("user")?, state.profile())?;
    let mut directory = company.write();
    let id = company_users::create(
        &mut directory,
        store.next_id(),
        &changes,
        state.clock().now(),
    )?
    .id;
    let user = directory
        .user(id)
        .ok_or_else(|| ApiError::not_found("User", id))?;
    Ok(detail(&state, StatusCode::CREATED, user, &directory))
}

/// `PATCH /rest/v1.0/companies/{company_id}/users/{id}`: only the supplied fields change.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let changes = UserChanges::parse(body.root("user")?, state.profile())?;
    let mut directory = company.write();
    company_users::update(&mut directory, id, &changes, state.clock().now())?;
    let user = directory
        .user(id)
        .ok_or_else(|| ApiError::not_found("User", id))?;
    Ok(detail(&state, StatusCode::OK, user, &directory))
}

/// `DELETE /rest/v1.0/companies/{company_id}/users/{id}` (`documented` profile) -> 204.
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    company_users::delete(&mut company.write(), id)?;
    Ok(StatusCode::NO_CONTENT)
}

fn detail(
    state: &AppState,
    status: StatusCode,
    user: &crate::store::User,
    directory: &crate::store::Directory,
) -> Response {
    json(
        status,
        &CompanyUserView {
            user,
            directory,
            shape: UserShape::Detail,
            profile: state.profile(),
        },
    )
}
