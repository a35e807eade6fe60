//! Project users: list, show, add, remove, create-in-project, update.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::domain::project_users::{self, Joining};
use crate::domain::webhooks::{Change, EventType};
use crate::http::auth::{Caller, Tenant};
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::pagination::Page;
use crate::http::params::{self, parse_bool, parse_id};
use crate::http::query::RequestUrl;
use crate::http::warnings::{self, Ignored};
use crate::http::{record, ApiPath};
use crate::state::AppState;
use crate::store::Directory;
use crate::views::ProjectUserView;

/// The project-user routes for the state's profile.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut item = get(show).patch(update);
    if state.profile().serves_seed_extras() {
        item = item.delete(remove_plain);
    }
    Router::new()
        .route(
            "/rest/v1.0/projects/{project_id}/users",
            get(list).post(create),
        )
        .route("/rest/v1.0/projects/{project_id}/users/{id}", item)
        .route(
            "/rest/v1.0/projects/{project_id}/users/{id}/actions/add",
            post(add),
        )
        .route(
            "/rest/v1.0/projects/{project_id}/users/{id}/actions/remove",
            delete(remove),
        )
}

/// `GET /rest/v1.0/projects/{project_id}/users`: every member, active or deactivated, in id order.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::ProjectOf(project_id), |company| {
        let page = Page::new(&url, state.profile())?;
        let query = params::member_query(&url)?;
        Ignored::new(&url).settle(state.strict())?;
        let directory = company.read();
        let project = directory
            .projects
            .get(&project_id)
            .ok_or_else(|| ApiError::not_found("Project", project_id))?;
        let matching = || {
            project.members.values().filter_map(|membership| {
                let user = directory.user(membership.user_id)?;
                query
                    .matches(user, membership, &directory)
                    .then_some((user, membership))
            })
        };
        let total = matching().count();
        let items = matching().map(|(user, membership)| ProjectUserView {
            user,
            membership,
            directory: &directory,
            profile: state.profile(),
        });
        Ok(page.answer(items, total))
    })
}

/// `GET /rest/v1.0/projects/{project_id}/users/{id}`: a member; anyone else is 404.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    caller.reading(&state, &url, Tenant::ProjectOf(project_id), |directory| {
        member_response(&state, StatusCode::OK, directory, project_id, id)
    })
}

/// `POST .../users/{id}/actions/add`, optional body `{"user": {"permission_template_id": N}}` -> 201.
async fn add(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::ProjectOf(project_id), |company| {
        // No body at all adds with the default template; a body must nest its fields under
        // `user` like every other write (a flat `{"permission_template_id": N}` is a 400, not
        // ignored).
        let user = (!body.fields.is_empty())
            .then(|| body.root("user"))
            .transpose()?;
        let template = match &user {
            Some(user) => params::template_id(user)?,
            None => None,
        };
        let ignored = Ignored::new(&url).body(&body);
        match &user {
            Some(user) => ignored.object("user", user),
            None => ignored,
        }
        .settle(state.strict())?;
        // Held until the answer is written: released earlier, a concurrent remove could turn
        // this successful add into a 404.
        let mut directory = company.write();
        project_users::add(&mut directory, project_id, id, template)?;
        company.emit(&[Change::project_user(EventType::Create, project_id, id)]);
        member_response(&state, StatusCode::CREATED, &directory, project_id, id)
    })
}

/// Plain `DELETE .../users/{id}` (`documented` profile only): [`remove`], flagged as seed-only.
async fn remove_plain(
    state: State<AppState>,
    caller: Caller,
    path: ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<StatusCode, ApiError> {
    warnings::seed_extra("plain DELETE of a project user (Procore's is actions/remove)");
    remove(state, caller, path, url).await
}

/// `DELETE .../users/{id}/actions/remove` -> 204 with an empty body. The directory record
/// stays.
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<StatusCode, ApiError> {
    Ignored::new(&url).settle(state.strict())?;
    caller.in_company(&state, Tenant::ProjectOf(project_id), |company| {
        let mut directory = company.write();
        project_users::remove(&mut directory, project_id, id)?;
        company.emit(&[Change::project_user(EventType::Delete, project_id, id)]);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// `POST /rest/v1.0/projects/{project_id}/users` -> 201. Creates a new person in the company and
/// on the project; in the `documented` profile a body whose `user` has an `id` adds that
/// existing company user instead, as the founding guide does.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::ProjectOf(project_id), |company| {
        let user = body.root("user")?;
        let template = params::template_id(&user)?;
        let by_id = state
            .profile()
            .serves_seed_extras()
            .then(|| user.get("id"))
            .flatten();
        let joining = match by_id {
            Some(value) => {
                warnings::seed_extra("adding an existing company user by `id`");
                Joining::Existing(
                    parse_id(value)
                        .ok_or_else(|| ApiError::bad_field("id", "must be a positive integer"))?,
                )
            }
            None => Joining::New(params::user_changes(&user, state.profile())?),
        };
        Ignored::new(&url)
            .body(&body)
            .object("user", &user)
            .settle(state.strict())?;
        // The write lock is held until the answer is written, as in every write here: released
        // earlier, a concurrent remove could turn this successful add into a 404.
        let mut directory = company.write();
        let now = state.clock().now();
        let created_person = matches!(joining, Joining::New(_));
        let id = project_users::join(
            &mut directory,
            project_id,
            joining,
            template,
            || company.next_id(),
            now,
        )?;
        let mut changes = Vec::with_capacity(2);
        if created_person {
            changes.push(Change::company_user(EventType::Create, id));
        }
        changes.push(Change::project_user(EventType::Create, project_id, id));
        company.emit(&changes);
        member_response(&state, StatusCode::CREATED, &directory, project_id, id)
    })
}

/// `PATCH /rest/v1.0/projects/{project_id}/users/{id}`: the project-level `is_active` flag.
/// A `permission_template_id` here is ignored, as on Procore: changing a member's template
/// takes a remove and a re-add.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::ProjectOf(project_id), |company| {
        let user = body.root("user")?;
        // `permission_template_id` is read (and dropped) on purpose: Procore ignores it here,
        // and the docs above say so, so it is not a mistake worth a warning.
        user.get("permission_template_id");
        let is_active = match user.get("is_active") {
            None => None,
            Some(value) => Some(
                parse_bool(value)
                    .ok_or_else(|| ApiError::bad_field("is_active", "must be true or false"))?,
            ),
        };
        Ignored::new(&url)
            .body(&body)
            .object("user", &user)
            .settle(state.strict())?;
        let mut directory = company.write();
        project_users::set_active(&mut directory, project_id, id, is_active)?;
        if is_active.is_some() {
            company.emit(&[Change::project_user(EventType::Update, project_id, id)]);
        }
        member_response(&state, StatusCode::OK, &directory, project_id, id)
    })
}

fn member_response(
    state: &AppState,
    status: StatusCode,
    directory: &Directory,
    project_id: u64,
    id: u64,
) -> Result<Response, ApiError> {
    let (user, membership) = project_users::member(directory, project_id, id)?;
    Ok(record(
        status,
        &ProjectUserView {
            user,
            membership,
            directory,
            profile: state.profile(),
        },
    ))
}
