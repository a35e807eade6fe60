//! Crux Connect's organization-user and permission endpoints, beside the Procore API on the
//! same port, under both prefixes Crux's pages use: `/organizations/...` (the founding page's)
//! and `/timp/organizations/...` (the newer pages'). Paths end in `/`, as Crux's do. Each
//! handler: authenticate ([`CruxCaller`]), check the permission, read the body, apply the rule,
//! write the view; every answer, errors included, takes Crux's shape (`http::crux`).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde_json::{Map, Value};

use crate::domain::crux::{self as rules, Change, CruxError, EDIT_ORG_USERS};
use crate::http::body::Fields;
use crate::http::crux::{settle, CruxApiError, CruxCaller, PREFIXES};
use crate::http::json;
use crate::http::query::RequestUrl;
use crate::http::warnings::Ignored;
use crate::state::AppState;
use crate::views::crux::{AssignmentsView, LoginView, UserView};

/// The Crux routes under both prefixes, each answering unknown paths and wrong methods in
/// Crux's shape.
pub fn routes() -> Router<AppState> {
    PREFIXES.iter().fold(Router::new(), |router, prefix| {
        router.nest(prefix, operations())
    })
}

fn operations() -> Router<AppState> {
    Router::new()
        .route("/user-login/", only(post(login)))
        .route("/users/all/", only(get(list_users)))
        .route("/users/detail/{user_uuid}/", only(get(show_user)))
        .route("/all_permissions/", only(get(all_permissions)))
        .route(
            "/users/permissions/{user_uuid}/",
            only(
                get(user_permissions)
                    .patch(add_permissions)
                    .delete(remove_permissions),
            ),
        )
        .fallback(|| async { CruxApiError::RouteNotFound })
}

/// A route that answers any other method with Crux's 405.
fn only(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(|method: Method| async move { CruxApiError::MethodNotAllowed(method) })
}

/// `POST .../user-login/ {"username", "password"}`: a token and the caller's permissions.
async fn login(
    State(state): State<AppState>,
    url: RequestUrl,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, CruxApiError> {
    let body = json_object(&headers, body, &state).await?;
    let fields = Fields::new(&body);
    let mut problems = BTreeMap::new();
    let username = required_string(&fields, "username", &mut problems);
    let password = required_string(&fields, "password", &mut problems);
    settle(&state, Ignored::new(&url).fields(&fields))?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(CruxApiError::Fields(problems));
    };
    let store = state.store();
    let crux = &store.crux;
    let login = rules::login(crux, username, password, state.clock().epoch_seconds())?;
    let organization = crux
        .organization_of(&login.actor.user_uuid)
        .ok_or(CruxError::InvalidToken)?;
    let users = organization.users();
    let user = users
        .get(&login.actor.user_uuid)
        .ok_or(CruxError::InvalidToken)?;
    Ok(json(
        StatusCode::OK,
        &LoginView::new(crux, &login.token, organization, user),
    ))
}

/// `GET .../users/all/`: every user of the caller's organization (needs `view_org_users`).
async fn list_users(
    State(state): State<AppState>,
    caller: CruxCaller,
    url: RequestUrl,
) -> Result<Response, CruxApiError> {
    caller.viewing(&state, &url, |crux, organization| {
        let users = organization.users();
        let views: Vec<UserView> = users
            .values()
            .map(|user| UserView::new(crux, organization, user))
            .collect();
        Ok(json(StatusCode::OK, &views))
    })
}

/// `GET .../users/detail/{user_uuid}/` (needs `view_org_users`).
async fn show_user(
    State(state): State<AppState>,
    caller: CruxCaller,
    Path(user_uuid): Path<String>,
    url: RequestUrl,
) -> Result<Response, CruxApiError> {
    caller.viewing(&state, &url, |crux, organization| {
        let user = rules::user(organization, &user_uuid)?;
        Ok(json(
            StatusCode::OK,
            &UserView::new(crux, organization, &user),
        ))
    })
}

/// `GET .../all_permissions/`: the permissions offered to the caller's kind of organization
/// (needs `view_org_users`).
async fn all_permissions(
    State(state): State<AppState>,
    caller: CruxCaller,
    url: RequestUrl,
) -> Result<Response, CruxApiError> {
    caller.viewing(&state, &url, |crux, organization| {
        let permissions: Vec<_> = crux.offered_permissions(organization.org_type).collect();
        Ok(json(StatusCode::OK, &permissions))
    })
}

/// `GET .../users/permissions/{user_uuid}/` (needs `view_org_users`).
async fn user_permissions(
    State(state): State<AppState>,
    caller: CruxCaller,
    Path(user_uuid): Path<String>,
    url: RequestUrl,
) -> Result<Response, CruxApiError> {
    caller.viewing(&state, &url, |crux, organization| {
        let user = rules::user(organization, &user_uuid)?;
        Ok(json(
            StatusCode::OK,
            &AssignmentsView::new(crux, organization, &user),
        ))
    })
}

/// `PATCH .../users/permissions/{user_uuid}/ {"permission_uuids": [...]}` (needs
/// `edit_org_users`): 200 with the user's assignments afterwards.
async fn add_permissions(
    state: State<AppState>,
    caller: CruxCaller,
    path: Path<String>,
    url: RequestUrl,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, CruxApiError> {
    change_permissions(state, caller, path, url, headers, body, Change::Grant).await
}

/// `DELETE .../users/permissions/{user_uuid}/ {"permission_uuids": [...]}` (needs
/// `edit_org_users`): 200 with the user's assignments afterwards.
async fn remove_permissions(
    state: State<AppState>,
    caller: CruxCaller,
    path: Path<String>,
    url: RequestUrl,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, CruxApiError> {
    change_permissions(state, caller, path, url, headers, body, Change::Revoke).await
}

/// Both directions share one order of checks, Django REST framework's: authentication (401)
/// and permission (403) before the handler runs, then the user (404), then the body (415/400).
async fn change_permissions(
    State(state): State<AppState>,
    caller: CruxCaller,
    Path(user_uuid): Path<String>,
    url: RequestUrl,
    headers: HeaderMap,
    body: Body,
    change: Change,
) -> Result<Response, CruxApiError> {
    // The body is read before any store guard is taken: no guard is held across an await.
    let body = json_object(&headers, body, &state).await;
    caller.authorized(&state, EDIT_ORG_USERS, |crux, organization| {
        let user = rules::user(organization, &user_uuid)?;
        let body = body?;
        let fields = Fields::new(&body);
        let permission_uuids = permission_uuids(&fields)?;
        settle(&state, Ignored::new(&url).fields(&fields))?;
        let user =
            rules::change_permissions(crux, organization, &user.uuid, &permission_uuids, change)?;
        Ok(json(
            StatusCode::OK,
            &AssignmentsView::new(crux, organization, &user),
        ))
    })
}

/// The `permission_uuids` list as strings; its shape problems are 400s on the field.
fn permission_uuids(fields: &Fields<'_>) -> Result<Vec<String>, CruxApiError> {
    const FIELD: &str = "permission_uuids";
    let problem = |message: String| CruxApiError::field(FIELD, vec![message]);
    let items = match fields.get(FIELD) {
        None | Some(Value::Null) => return Err(problem("This field is required.".to_owned())),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(problem(format!(
                "Expected a list of items but got type \"{}\".",
                python_type(other)
            )))
        }
    };
    let mut uuids = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for item in items {
        match item {
            Value::String(text) => uuids.push(text.clone()),
            other => problems.push(format!("{other} is not a valid UUID.")),
        }
    }
    if problems.is_empty() {
        Ok(uuids)
    } else {
        Err(CruxApiError::field(FIELD, problems))
    }
}

/// The type names Django REST framework's messages use for JSON values.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A required, non-blank string field; problems are collected by field name.
fn required_string<'a>(
    fields: &Fields<'a>,
    name: &str,
    problems: &mut BTreeMap<String, Vec<String>>,
) -> Option<&'a str> {
    let problem = match fields.get(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => return Some(text),
        Some(Value::String(_)) => "This field may not be blank.",
        None | Some(Value::Null) => "This field is required.",
        Some(_) => "Not a valid string.",
    };
    problems.insert(name.to_owned(), vec![problem.to_owned()]);
    None
}

/// The request body as a JSON object. An empty body reads as `{}`; any other body must be
/// JSON (415 otherwise) and parse as an object (400 otherwise). The server's one body reader
/// holds it to the size limit and the read timeout (the control layer has already run it).
async fn json_object(
    headers: &HeaderMap,
    body: Body,
    state: &AppState,
) -> Result<Map<String, Value>, CruxApiError> {
    let bytes = crate::http::body::read_limited(body, headers, state.config())
        .await
        .map_err(|error| CruxApiError::unreadable_body(&error))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    let is_json = mime.eq_ignore_ascii_case("application/json")
        || (mime.starts_with("application/") && mime.ends_with("+json"));
    if !is_json {
        return Err(CruxApiError::UnsupportedMediaType(content_type.to_owned()));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(CruxApiError::ParseError(
            "Expected a JSON object.".to_owned(),
        )),
        Err(err) => Err(CruxApiError::ParseError(format!(
            "JSON parse error - {err}"
        ))),
    }
}
