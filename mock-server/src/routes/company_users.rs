//! Company users (the Directory): list with filters, show, create, update (v1.0 and v1.3 with
//! avatars), delete, sync, inactive users, and the avatar images themselves.
//!
//! Each handler reads its request (`http::params`), takes the company's lock through the one
//! preamble ([`Caller::in_company`], [`Caller::reading`]), applies the rule
//! (`domain::company_users`, `domain::sync`) and writes the answer (`views`) before the lock
//! goes, so the answer shows what the rule did.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde_json::Value;

use crate::domain::changes::UserChanges;
use crate::domain::company_users::{self, AvatarUpload, V13Update};
use crate::domain::filters::View;
use crate::domain::webhooks::{self as events, Change, EventType};
use crate::domain::{sync, DomainError};
use crate::http::auth::{Caller, Tenant};
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::pagination::Page;
use crate::http::params::{self, parse_bool};
use crate::http::query::RequestUrl;
use crate::http::warnings::{self, Ignored};
use crate::http::{record, ApiPath};
use crate::state::AppState;
use crate::store::{Directory, User};
use crate::views::{CompanyUserView, SyncAnswer, UserShape};

/// API versions under which Procore serves the company-user reads.
const READ_VERSIONS: [&str; 3] = ["v1.0", "v1.1", "v1.3"];
/// The multipart part that carries an avatar upload.
const AVATAR_PART: &str = "user[avatar]";

/// The company-user routes for the state's profile.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for version in READ_VERSIONS {
        router = router
            .route(
                &format!("/rest/{version}/companies/{{company_id}}/users"),
                get(list_active),
            )
            .route(
                &format!("/rest/{version}/companies/{{company_id}}/users/inactive"),
                get(list_inactive),
            )
            .route(
                &format!("/rest/{version}/companies/{{company_id}}/users/{{id}}"),
                get(show),
            );
    }
    let mut item = patch(update);
    if state.profile().serves_seed_extras() {
        item = item.delete(delete);
    }
    router
        .route("/rest/v1.0/companies/{company_id}/users", post(create))
        .route("/rest/v1.0/companies/{company_id}/users/{id}", item)
        .route(
            "/rest/v1.3/companies/{company_id}/users/{id}",
            patch(update_v13),
        )
        .route("/rest/v1.0/companies/{company_id}/users/sync", patch(sync))
        .route(
            "/rest/v1.0/companies/{company_id}/users/inactive/{id}",
            patch(reactivate),
        )
        .route("/avatars/{company_id}/{user_id}/{version}", get(avatar))
}

/// `GET .../users`: active users, filtered, sorted and paginated.
async fn list_active(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    list(&state, &caller, company_id, &url, true)
}

/// `GET .../users/inactive`: deactivated users, with the same filters.
async fn list_inactive(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    list(&state, &caller, company_id, &url, false)
}

fn list(
    state: &AppState,
    caller: &Caller,
    company_id: u64,
    url: &RequestUrl,
    active: bool,
) -> Result<Response, ApiError> {
    let query = params::user_query(url)?;
    let page = Page::new(url, state.profile())?;
    caller.reading(state, url, Tenant::Company(company_id), |directory| {
        let wanted = |user: &&User| user.is_active == active && query.matches(user, directory);
        let list = ListPage {
            state,
            page: &page,
            view: query.view,
            active,
            directory,
        };
        Ok(if query.sort.is_empty() {
            // Unsorted: a walk over id-ordered storage.
            let total = directory.users().filter(wanted).count();
            list.answer(directory.users().filter(wanted), total)
        } else {
            // Sorted: sort the filtered users once, and only as far as this page reaches.
            let matching: Vec<&User> = directory.users().filter(wanted).collect();
            let total = matching.len();
            let request = page.request();
            let keep = request.offset().saturating_add(request.per_page);
            list.answer(query.sorted(matching, directory, keep).into_iter(), total)
        })
    })
}

/// What a company-user list page is written with, whichever order its users come in.
struct ListPage<'a> {
    state: &'a AppState,
    page: &'a Page<'a>,
    view: Option<View>,
    /// Whether this is the active list (the inactive list has its own item schema).
    active: bool,
    directory: &'a Directory,
}

impl<'a> ListPage<'a> {
    /// The page of `users` (all matching users, in order; `total` of them) in the shape the
    /// `view` parameter asks for.
    fn answer(&self, users: impl Iterator<Item = &'a User>, total: usize) -> Response {
        let shape = match self.view {
            Some(View::IdsOnly) => return self.page.answer(users.map(|user| user.id), total),
            Some(View::Extended) => UserShape::Extended,
            Some(View::Normal) | None if !self.active => UserShape::Inactive,
            Some(View::Normal) | None => UserShape::List,
        };
        let views = users.map(|user| CompanyUserView {
            user,
            directory: self.directory,
            shape,
            profile: self.state.profile(),
        });
        self.page.answer(views, total)
    }
}

/// `GET .../users/{id}`: any user of the company, active or not.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    caller.reading(&state, &url, Tenant::Company(company_id), |directory| {
        detail(&state, StatusCode::OK, id, directory)
    })
}

/// `POST /rest/v1.0/companies/{company_id}/users` -> 201.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::Company(company_id), |company| {
        let changes = user_changes(&state, &url, &body)?;
        let mut directory = company.write();
        let now = state.clock().now();
        let id = company_users::create(&mut directory, || company.next_id(), &changes, now)?.id;
        company.emit(&[Change::company_user(EventType::Create, id)]);
        detail(&state, StatusCode::CREATED, id, &directory)
    })
}

/// `PATCH /rest/v1.0/companies/{company_id}/users/{id}`: only the supplied fields change.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::Company(company_id), |company| {
        let changes = user_changes(&state, &url, &body)?;
        let mut directory = company.write();
        company_users::update(&mut directory, id, &changes, state.clock().now())?;
        company.emit(&[Change::company_user(EventType::Update, id)]);
        detail(&state, StatusCode::OK, id, &directory)
    })
}

/// `PATCH /rest/v1.3/companies/{company_id}/users/{id}`: see
/// [`company_users::update_v13`]; a multipart body may carry a `user[avatar]` file.
async fn update_v13(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    if let Some(raw) = url.get("run_configurable_validations") {
        parse_bool(&Value::String(raw.to_owned())).ok_or_else(|| {
            ApiError::bad_field("run_configurable_validations", "must be true or false")
        })?;
    }
    caller.in_company(&state, Tenant::Company(company_id), |company| {
        let fields = body.root("user")?;
        company_users::check_v13_required(|field| fields.contains_key(field))?;
        let changes = params::user_changes(&fields, state.profile())?;
        Ignored::new(&url)
            .body(&body)
            .object("user", &fields)
            .settle(state.strict())?;
        let avatar_url = format!("{}/avatars/{company_id}/{id}", url.origin());
        let request = V13Update {
            changes: &changes,
            caller_id: caller.token.grant.resource_owner_id,
            avatar: body
                .files
                .iter()
                .find(|file| file.field == AVATAR_PART)
                .map(|file| AvatarUpload {
                    content_type: &file.content_type,
                    bytes: &file.bytes,
                }),
            max_avatar_bytes: state.config().max_avatar_bytes,
            avatar_url: &avatar_url,
        };
        let mut directory = company.write();
        let now = state.clock().now();
        company_users::update_v13(&mut directory, id, request, now, || company.next_id())?;
        company.emit(&[Change::company_user(EventType::Update, id)]);
        detail(&state, StatusCode::OK, id, &directory)
    })
}

/// `GET /avatars/{company_id}/{user_id}/{version}`: the uploaded image, byte for byte, public
/// like the storage URLs Procore hands out.
async fn avatar(
    State(state): State<AppState>,
    ApiPath((company_id, user_id, version)): ApiPath<(u64, u64, u64)>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound("No such avatar".to_owned());
    let store = state.store();
    let company = store.company(company_id).ok_or_else(missing)?;
    let directory = company.read();
    let avatar = directory
        .avatars
        .get(&user_id)
        .filter(|a| a.version == version)
        .ok_or_else(missing)?;
    let content_type = HeaderValue::from_str(&avatar.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from(avatar.bytes.clone()),
    )
        .into_response())
}

/// `DELETE /rest/v1.0/companies/{company_id}/users/{id}` (`documented` profile) -> 204.
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<StatusCode, ApiError> {
    warnings::seed_extra("DELETE of a company user");
    Ignored::new(&url).settle(state.strict())?;
    caller.in_company(&state, Tenant::Company(company_id), |company| {
        let mut directory = company.write();
        let deleted = events::deletion_changes(&directory, id);
        company_users::delete(&mut directory, id)?;
        company.emit(&deleted);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// `PATCH .../users/inactive/{id}`: reactivates a deactivated user.
async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    Ignored::new(&url).settle(state.strict())?;
    caller.in_company(&state, Tenant::Company(company_id), |company| {
        let mut directory = company.write();
        company_users::reactivate(&mut directory, id, state.clock().now())?;
        company.emit(&[Change::company_user(EventType::Update, id)]);
        detail(&state, StatusCode::OK, id, &directory)
    })
}

/// `PATCH /rest/v1.0/companies/{company_id}/users/sync`: up to 1,000 flat user objects, applied
/// by [`sync::sync`]. Always 200, with the users written in `entities` and the refused items,
/// each echoed with an `errors` map, in `errors`.
async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    caller.in_company(&state, Tenant::Company(company_id), |company| {
        let (updates, ignored) = params::sync_updates(&body, state.profile(), Ignored::new(&url))?;
        ignored.body(&body).settle(state.strict())?;
        let (sent, items): (Vec<&Value>, Vec<_>) = updates.into_iter().unzip();
        let mut directory = company.write();
        let now = state.clock().now();
        let outcomes = sync::sync(&mut directory, items, || company.next_id(), now);
        let changes: Vec<Change> = outcomes.iter().flatten().copied().collect();
        company.emit(&changes);
        let answer = SyncAnswer {
            sent: &sent,
            outcomes: &outcomes,
            directory: &directory,
            profile: state.profile(),
        };
        Ok(record(StatusCode::OK, &answer))
    })
}

/// The changes of a v1.0 create or update (the `user` object), once what the request sent and
/// the write does not take is settled.
fn user_changes(
    state: &AppState,
    url: &RequestUrl,
    body: &RequestBody,
) -> Result<UserChanges, ApiError> {
    let user = body.root("user")?;
    let changes = params::user_changes(&user, state.profile())?;
    Ignored::new(url)
        .body(body)
        .object("user", &user)
        .settle(state.strict())?;
    Ok(changes)
}

/// The detail shape of user `id`, as show, create and update answer it.
fn detail(
    state: &AppState,
    status: StatusCode,
    id: u64,
    directory: &Directory,
) -> Result<Response, ApiError> {
    let user = directory
        .user(id)
        .ok_or_else(|| DomainError::not_found("User", id))?;
    Ok(record(
        status,
        &CompanyUserView {
            user,
            directory,
            shape: UserShape::Detail,
            profile: state.profile(),
        },
    ))
}
