//! Company users (the Directory): list with filters, show, create, update (v1.0 and v1.3 with
//! avatars), delete, sync, inactive users, and the avatar images themselves.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::domain::changes::{parse_bool, parse_id, UserChanges};
use crate::domain::company_users;
use crate::domain::filters::{UserQuery, View};
use crate::domain::validation::validate_location;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::http::auth::Caller;
use crate::http::body::RequestBody;
use crate::http::pagination::{page_response, PageRequest};
use crate::http::query::RequestUrl;
use crate::http::{record, ApiPath};
use crate::state::AppState;
use crate::store::directory::Avatar;
use crate::store::{Directory, User};
use crate::views::writer::{ObjectWriter, WriteJson};
use crate::views::{CompanyUserView, UserShape};

/// API versions under which Procore serves the company-user reads.
const READ_VERSIONS: [&str; 3] = ["v1.0", "v1.1", "v1.3"];
/// Most updates one sync request may carry.
pub const MAX_SYNC_UPDATES: usize = 1000;
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
        .route(
            "/rest/v1.0/companies/{company_id}/users",
            axum::routing::post(create),
        )
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
    let query = UserQuery::parse(url)?;
    let page = PageRequest::from_url(url)?;
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let directory = company.read();
    let wanted = |user: &&User| user.is_active == active && query.matches(user, &directory);
    let shape = match query.view {
        Some(View::Extended) => UserShape::Extended,
        _ if !active => UserShape::Inactive,
        _ => UserShape::List,
    };
    let ids_only = query.view == Some(View::IdsOnly);
    // Unsorted: a walk over id-ordered storage. Sorted: sort the filtered users once.
    let (total, page_users): (usize, Vec<&User>) = if query.sort.is_empty() {
        let total = directory.users().filter(wanted).count();
        (
            total,
            directory
                .users()
                .filter(wanted)
                .skip(page.offset())
                .take(page.per_page)
                .collect(),
        )
    } else {
        let matching: Vec<&User> = directory.users().filter(wanted).collect();
        let total = matching.len();
        let keep = page.offset().saturating_add(page.per_page);
        let sorted = query.sorted(matching, &directory, keep);
        (total, sorted.into_iter().skip(page.offset()).collect())
    };
    Ok(if ids_only {
        page_response(
            page_users.iter().map(|u| u.id),
            total,
            page,
            url,
            state.profile(),
        )
    } else {
        let views = page_users.into_iter().map(|user| CompanyUserView {
            user,
            directory: &directory,
            shape,
            profile: state.profile(),
        });
        page_response(views, total, page, url, state.profile())
    })
}

/// `GET .../users/{id}`: any user of the company, active or not.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let directory = company.read();
    detail(&state, StatusCode::OK, id, &directory)
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
        || store.next_id(),
        &changes,
        state.clock().now(),
    )?
    .id;
    detail(&state, StatusCode::CREATED, id, &directory)
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
    detail(&state, StatusCode::OK, id, &directory)
}

/// `PATCH /rest/v1.3/companies/{company_id}/users/{id}`: `last_name` and `email_address` are
/// required; privileged fields need a Directory Admin; country and state are ISO-3166; a
/// multipart body may carry a `user[avatar]` file.
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
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let fields = body.root("user")?;
    for required in ["last_name", "email_address"] {
        if !fields.contains_key(required) {
            return Err(ApiError::bad_field(required, "is missing"));
        }
    }
    let changes = UserChanges::parse(fields, state.profile())?;
    let avatar = body.files.iter().find(|file| file.field == AVATAR_PART);
    let avatar_limit = state.config().max_avatar_bytes;
    if avatar.is_some_and(|file| file.bytes.len() > avatar_limit) {
        return Err(ApiError::PayloadTooLarge {
            limit: avatar_limit,
        });
    }
    if let Some(file) = avatar.filter(|file| !file.content_type.starts_with("image/")) {
        return Err(ApiError::invalid_field(
            "avatar",
            format!("must be an image, got {}", file.content_type),
        ));
    }
    let mut directory = company.write();
    let current = directory
        .user(id)
        .ok_or_else(|| ApiError::not_found("User", id))?;
    let caller_is_admin = directory
        .user(caller.token.grant.resource_owner_id)
        .is_some_and(|user| user.directory_admin);
    if !caller_is_admin {
        if let Some(field) = privileged_change(&changes, fields, current) {
            return Err(ApiError::Forbidden(format!(
                "Changing {field} requires Admin permissions on the company Directory tool"
            )));
        }
    }
    let location = location_after(&changes, current);
    let errors = validate_location(location.0.as_deref(), location.1.as_deref());
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    company_users::update(&mut directory, id, &changes, state.clock().now())?;
    if let Some(file) = avatar {
        let version = store.next_id();
        directory.avatars.insert(
            id,
            Avatar {
                content_type: file.content_type.clone(),
                bytes: file.bytes.clone(),
                version,
            },
        );
        if let Some(user) = directory.user(id).cloned() {
            let mut user = user;
            user.avatar = Some(format!(
                "{}/avatars/{company_id}/{id}/{version}",
                url.origin
            ));
            let _ = directory.put_user(user);
        }
    }
    detail(&state, StatusCode::OK, id, &directory)
}

/// The first field only a Directory Admin may change that this request changes, if any.
fn privileged_change(
    changes: &UserChanges,
    fields: &Map<String, Value>,
    current: &User,
) -> Option<&'static str> {
    let email_changes = changes
        .email_address
        .as_deref()
        .is_some_and(|email| !email.trim().eq_ignore_ascii_case(&current.email_address));
    if email_changes {
        return Some("email_address");
    }
    if changes
        .default_permission_template_id
        .is_some_and(|t| t != current.default_permission_template_id)
    {
        return Some("default_permission_template_id");
    }
    if changes
        .company_permission_template_id
        .is_some_and(|t| t != current.company_permission_template_id)
    {
        return Some("company_permission_template_id");
    }
    fields
        .contains_key("add_to_new_projects")
        .then_some("add_to_new_projects")
}

/// Country and state as they will be after the update.
fn location_after(changes: &UserChanges, current: &User) -> (Option<String>, Option<String>) {
    let changed = |name: &str| {
        changes
            .text
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, v)| v.clone())
    };
    (
        changed("country_code").unwrap_or_else(|| current.country_code.clone()),
        changed("state_code").unwrap_or_else(|| current.state_code.clone()),
    )
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
) -> Result<StatusCode, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    company_users::delete(&mut company.write(), id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH .../users/inactive/{id}`: reactivates a deactivated user.
async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((company_id, id)): ApiPath<(u64, u64)>,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let mut directory = company.write();
    if directory.user(id).is_none_or(|user| user.is_active) {
        return Err(ApiError::NotFound(format!(
            "User {id} is not an inactive user of this company"
        )));
    }
    let changes = UserChanges {
        is_active: Some(true),
        ..UserChanges::default()
    };
    company_users::update(&mut directory, id, &changes, state.clock().now())?;
    detail(&state, StatusCode::OK, id, &directory)
}

/// `PATCH /rest/v1.0/companies/{company_id}/users/sync`: up to 1,000 flat user objects. Each is
/// matched by `id` (unknown: an error), else by `origin_id` (unknown: created), else created.
/// Always 200, with the users written in `entities` and the refused items, each with an
/// `errors` map, in `errors`.
async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(company_id): ApiPath<u64>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let store = state.store();
    let company = caller.company(&store, company_id)?;
    let updates = match body.fields.get("updates") {
        Some(Value::Array(updates)) => updates,
        _ => {
            return Err(ApiError::bad_field(
                "updates",
                "must be an array of user objects",
            ))
        }
    };
    if updates.len() > MAX_SYNC_UPDATES {
        return Err(ApiError::bad_field(
            "updates",
            format!(
                "has {} items; at most {MAX_SYNC_UPDATES} are accepted per request",
                updates.len()
            ),
        ));
    }
    let mut directory = company.write();
    let now = state.clock().now();
    let mut written = Vec::new();
    let mut errors = Vec::new();
    for item in updates {
        match sync_one(&mut directory, &store, item, &state, now) {
            Ok(id) => written.push(id),
            Err(field_errors) => {
                let mut echoed = item.as_object().cloned().unwrap_or_default();
                echoed.insert("errors".to_owned(), json!(field_errors));
                errors.push(Value::Object(echoed));
            }
        }
    }
    let entities: Vec<CompanyUserView> = written
        .iter()
        .filter_map(|id| directory.user(*id))
        .map(|user| CompanyUserView {
            user,
            directory: &directory,
            shape: UserShape::Detail,
            profile: state.profile(),
        })
        .collect();
    Ok(record(StatusCode::OK, &SyncResult { entities, errors }))
}

/// `{"entities": [...], "errors": [...]}`: what a sync answers.
struct SyncResult<'a> {
    entities: Vec<CompanyUserView<'a>>,
    errors: Vec<Value>,
}

impl WriteJson for SyncResult<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        object
            .field("entities", &self.entities)
            .field("errors", &self.errors);
        object.finish();
    }
}

fn sync_one(
    directory: &mut Directory,
    store: &crate::store::Store,
    item: &Value,
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, FieldErrors> {
    let fields = item
        .as_object()
        .ok_or_else(|| field_error("base", "each update must be a user object"))?;
    let changes = UserChanges::parse(fields, state.profile()).map_err(field_errors_of)?;
    let target = match fields.get("id") {
        Some(value) => {
            let id =
                parse_id(value).ok_or_else(|| field_error("id", "must be a positive integer"))?;
            Some(
                directory
                    .user(id)
                    .map(|u| u.id)
                    .ok_or_else(|| field_error("id", format!("{id} not found")))?,
            )
        }
        None => match &changes.origin_id {
            Some(Some(origin)) => directory.user_by_origin_id(origin).map(|u| u.id),
            _ => None,
        },
    };
    let result = match target {
        Some(id) => company_users::update(directory, id, &changes, now).map(|u| u.id),
        None => company_users::create(directory, || store.next_id(), &changes, now).map(|u| u.id),
    };
    result.map_err(field_errors_of)
}

/// The field errors of a refused write, for a sync error item.
fn field_errors_of(error: ApiError) -> FieldErrors {
    match error {
        ApiError::BadRequest { errors, .. }
        | ApiError::Conflict { errors, .. }
        | ApiError::Unprocessable { errors, .. }
            if !errors.is_empty() =>
        {
            errors
        }
        other => field_error("base", other.to_string()),
    }
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
        .ok_or_else(|| ApiError::not_found("User", id))?;
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
