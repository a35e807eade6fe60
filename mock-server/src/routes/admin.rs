//! The mock's own control endpoints, all under `/__admin`: clock, rate limits, faults, reset,
//! state, the request journal and its matchers, read-only views of the directory and of each
//! OAuth app's rate windows and tokens, health, the dashboard page (see
//! [`super::dashboard`]) and the webhook endpoints of [`super::webhooks`]. Guarded by `--admin-token` when one is set.

use arc_swap::Guard;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::control::faults::FaultSpec;
use crate::control::limiter::Limits;
use crate::control::matcher::RequestMatcher;
use crate::domain::field_error;
use crate::fixtures::Fixture;
use crate::http::body::read_limited;
use crate::http::error::ApiError;
use crate::http::query::RequestUrl;
use crate::http::stream::blocking_body;
use crate::http::{json, ApiPath};
use crate::state::AppState;

/// The admin routes, behind the admin-token guard.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/__admin/health", get(health))
        .route("/__admin/clock", get(clock).put(set_clock))
        .route("/__admin/clock/advance", post(advance_clock))
        .route(
            "/__admin/rate-limits",
            get(rate_limits).put(set_rate_limits),
        )
        .route(
            "/__admin/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/__admin/faults/{id}", delete(remove_fault))
        .route("/__admin/reset", post(reset))
        .route("/__admin/state", get(get_state).put(put_state))
        .route("/__admin/state/save", post(save_state))
        .route("/__admin/requests", get(requests).delete(clear_requests))
        .route("/__admin/requests/count", post(count_requests))
        .route("/__admin/directory", get(directory))
        .route("/__admin/apps", get(apps))
        .merge(super::dashboard::routes())
        .merge(super::webhooks::admin_routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        // The guard has enforced `--max-body-bytes`: no second, different limit in `Bytes`.
        .layer(DefaultBodyLimit::disable())
}

/// The cookie a browser presents the admin token in, set by `GET /__admin/ui?token=...`.
const ADMIN_COOKIE: &str = "procore_mock_admin";

/// With `--admin-token`, every admin call must present the token: as
/// `Authorization: Bearer <token>`, or (for the dashboard, whose page load cannot send a
/// header) in the `procore_mock_admin` cookie. Opening `/__admin/ui?token=<token>` sets that
/// cookie (`HttpOnly`, `SameSite=Strict`, scoped to `/__admin`) and redirects to the page.
/// The body is read here, within the same limits as API bodies ([`read_limited`]).
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(expected) = &state.config().admin_token {
        let headers = request.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == ADMIN_COOKIE)
            .map(|(_, value)| value);
        if bearer != Some(expected.as_str()) && cookie != Some(expected.as_str()) {
            let url = RequestUrl::from_parts(request.method(), request.uri(), headers);
            if url.path() == super::dashboard::PAGE && url.get("token") == Some(expected.as_str()) {
                return super::dashboard::sign_in(ADMIN_COOKIE, expected);
            }
            return ApiError::AdminUnauthorized(
                "The admin API needs `Authorization: Bearer <admin token>` \
                 (the dashboard: open /__admin/ui?token=<admin token>)"
                    .to_owned(),
            )
            .into_response();
        }
    }
    let (parts, body) = request.into_parts();
    let body = match read_limited(body, &parts.headers, state.config()).await {
        Ok(bytes) => Body::from(bytes),
        Err(error) => return error.into_response(),
    };
    next.run(Request::from_parts(parts, body)).await
}

/// Reads a JSON body into `T`; problems are 400s naming where they are.
pub fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        ApiError::BadRequest {
            errors: field_error(&path, message.clone()),
            message: format!("{path}: {message}"),
        }
    })
}

async fn health(State(state): State<AppState>) -> Response {
    json(
        StatusCode::OK,
        &json!({"status": "ok", "profile": state.profile(), "version": env!("CARGO_PKG_VERSION")}),
    )
}

fn clock_view(state: &AppState) -> Response {
    let clock = state.clock();
    json(
        StatusCode::OK,
        &json!({
            "now": clock.now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "epoch": clock.epoch_seconds(),
            "frozen": clock.is_frozen(),
        }),
    )
}

/// `GET /__admin/clock`.
async fn clock(State(state): State<AppState>) -> Response {
    clock_view(&state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

/// `POST /__admin/clock/advance {"seconds": N}`: works frozen or running; fractions allowed.
async fn advance_clock(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let Advance { seconds } = parse(&body)?;
    if !seconds.is_finite() || seconds.abs() > 1e11 {
        return Err(ApiError::bad_field(
            "seconds",
            "must be a finite number of seconds",
        ));
    }
    state.clock().advance_ms((seconds * 1000.0).round() as i64);
    Ok(clock_view(&state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetClock {
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    #[serde(default)]
    frozen: Option<bool>,
}

/// `PUT /__admin/clock {"now": RFC3339, "frozen": bool}`: either or both.
async fn set_clock(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let SetClock { now, frozen } = parse(&body)?;
    state.clock().set_parts(now, frozen);
    Ok(clock_view(&state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLimits {
    #[serde(default)]
    hourly: Option<u64>,
    #[serde(default)]
    spike: Option<u64>,
}

/// `GET /__admin/rate-limits`.
async fn rate_limits(State(state): State<AppState>) -> Response {
    json(StatusCode::OK, &state.control().limiter.limits())
}

/// `PUT /__admin/rate-limits {"hourly": N, "spike": N}`: either or both; 0 turns one off.
async fn set_rate_limits(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let SetLimits { hourly, spike } = parse(&body)?;
    let limiter = &state.control().limiter;
    let current = limiter.limits();
    let limits = Limits {
        hourly: hourly.unwrap_or(current.hourly),
        spike: spike.unwrap_or(current.spike),
    };
    limiter.set_limits(limits);
    Ok(json(StatusCode::OK, &limits))
}

/// `POST /__admin/faults` -> 201 with the rule and its id.
async fn add_fault(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let spec: FaultSpec = parse(&body)?;
    let faults = &state.control().faults;
    let id = faults
        .add(spec)
        .map_err(|refusal| ApiError::bad_field(refusal.field, refusal.message))?;
    let view = faults.list().into_iter().find(|f| f.id == id);
    Ok(json(StatusCode::CREATED, &view))
}

/// `GET /__admin/faults`: the rules with hits left.
async fn list_faults(State(state): State<AppState>) -> Response {
    json(StatusCode::OK, &state.control().faults.list())
}

/// `DELETE /__admin/faults` -> 204.
async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.control().faults.clear();
    StatusCode::NO_CONTENT
}

/// `DELETE /__admin/faults/{id}` -> 204, or 404.
async fn remove_fault(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<StatusCode, ApiError> {
    if state.control().faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("Fault rule", id))
    }
}

/// Runs `work` on a blocking thread: rebuilding, replacing or writing a large state takes
/// seconds, and on an async worker it would hold up the API requests queued behind it. A
/// panic in `work` goes on up to the panic layer (a JSON 500).
async fn off_the_workers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

/// `POST /__admin/reset`: back to the loaded fixture.
async fn reset(State(state): State<AppState>) -> Response {
    off_the_workers(move || state.reset()).await;
    json(
        StatusCode::OK,
        &json!({"message": "State reset to the loaded fixture"}),
    )
}

/// `GET /__admin/state`: the whole state as a fixture document, written while it is sent.
async fn get_state(State(state): State<AppState>) -> Response {
    let store = Guard::into_inner(state.store());
    let body = blocking_body(move |out| Fixture::write_store(&store, out));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `PUT /__admin/state`: replaces the whole state, validated in full first.
async fn put_state(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    off_the_workers(move || {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_field("body", "must be UTF-8 JSON"))?;
        let fixture = Fixture::from_json(text).map_err(|err| ApiError::BadRequest {
            errors: field_error(&err.path, err.problem.clone()),
            message: err.to_string(),
        })?;
        state.replace_store(fixture.into_store(state.clock().now()));
        Ok(json(StatusCode::OK, &json!({"message": "State replaced"})))
    })
    .await
}

/// `POST /__admin/state/save`: writes the state file now.
async fn save_state(State(state): State<AppState>) -> Result<Response, ApiError> {
    let saved = off_the_workers(move || {
        state
            .save_state_file()
            .map(|path| path.map(|path| path.display().to_string()))
    })
    .await;
    match saved {
        Ok(Some(path)) => Ok(json(StatusCode::OK, &json!({"saved": path}))),
        Ok(None) => Err(ApiError::BadRequest {
            message: "No state file is configured: start the mock with --state-file PATH"
                .to_owned(),
            errors: Default::default(),
        }),
        Err(err) => Err(ApiError::Unprocessable {
            message: format!("The state file could not be written: {err}"),
            errors: Default::default(),
        }),
    }
}

/// `GET /__admin/requests?method=&path=&status=&client_id=&since=&limit=`: the journal,
/// oldest first (see [`RequestMatcher::from_filters`]).
async fn requests(State(state): State<AppState>, url: RequestUrl) -> Result<Response, ApiError> {
    let (matcher, limit) =
        RequestMatcher::from_filters(&url.query).map_err(|refused| ApiError::BadRequest {
            errors: field_error(&refused.field, refused.message.clone()),
            message: refused.message,
        })?;
    let entries = state
        .control()
        .journal
        .entries(|entry| matcher.matches(entry), limit);
    Ok(json(StatusCode::OK, &entries))
}

/// `POST /__admin/requests/count` with a [`RequestMatcher`]: how many journaled requests
/// match, and which.
async fn count_requests(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let matcher: RequestMatcher = parse(&body)?;
    let entries = state
        .control()
        .journal
        .entries(|entry| matcher.matches(entry), None);
    Ok(json(
        StatusCode::OK,
        &json!({"count": entries.len(), "requests": entries}),
    ))
}

/// `GET /__admin/directory`: every company with its users (active and inactive, each with the
/// projects they are on), its projects with their members and templates, and its templates.
async fn directory(State(state): State<AppState>) -> Response {
    let store = state.store();
    let companies: Vec<serde_json::Value> = store
        .companies()
        .map(|company| {
            let directory = company.read();
            let template = |id: Option<u64>| {
                id.map(|id| {
                    let name = directory.templates.get(&id).map(|t| t.name.as_str());
                    json!({"id": id, "name": name})
                })
            };
            let users: Vec<_> = directory
                .users()
                .map(|user| {
                    let projects: Vec<u64> = directory
                        .projects
                        .values()
                        .filter(|project| project.members.contains_key(&user.id))
                        .map(|project| project.id)
                        .collect();
                    json!({
                        "id": user.id,
                        "name": user.name(),
                        "email_address": user.email_address,
                        "job_title": user.job_title,
                        "is_active": user.is_active,
                        "is_employee": user.is_employee,
                        "vendor": user.vendor_id.map(|id| json!({
                            "id": id,
                            "name": directory.vendors.get(&id).map(|v| v.name.as_str()),
                        })),
                        "project_ids": projects,
                    })
                })
                .collect();
            let projects: Vec<_> = directory
                .projects
                .values()
                .map(|project| {
                    let members: Vec<_> = project
                        .members
                        .values()
                        .map(|member| {
                            let user = directory.user(member.user_id);
                            json!({
                                "user_id": member.user_id,
                                "name": user.map(|u| u.name()),
                                "email_address": user.map(|u| u.email_address.as_str()),
                                "is_active": member.is_active,
                                "permission_template": template(member.permission_template_id),
                            })
                        })
                        .collect();
                    json!({
                        "id": project.id,
                        "name": project.name,
                        "display_name": project.display_name.as_deref().unwrap_or(&project.name),
                        "active": project.active,
                        "members": members,
                    })
                })
                .collect();
            let templates: Vec<_> = directory
                .templates
                .values()
                .map(|t| json!({"id": t.id, "name": t.name, "type": t.kind.as_str()}))
                .collect();
            json!({
                "id": company.id,
                "name": company.name,
                "is_active": company.is_active,
                "users": users,
                "projects": projects,
                "templates": templates,
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "companies": companies }))
}

/// `GET /__admin/apps`: each OAuth app with its rate windows now and its access tokens (never
/// their secrets), live or expired on the mock clock.
async fn apps(State(state): State<AppState>) -> Response {
    let store = state.store();
    let now_ms = state.clock().now_ms();
    let now = now_ms.div_euclid(1000);
    let credentials = store.oauth.credentials();
    let apps: Vec<_> = store
        .oauth
        .apps()
        .into_iter()
        .map(|app| {
            let mut tokens: Vec<_> = credentials
                .access_tokens
                .iter()
                .map(|saved| &saved.record)
                .filter(|token| token.grant.client_id == app.client_id)
                .collect();
            tokens.sort_by_key(|token| std::cmp::Reverse(token.created_at));
            let tokens: Vec<_> = tokens
                .into_iter()
                .map(|token| {
                    json!({
                        "resource_owner_id": token.grant.resource_owner_id,
                        "created_at": token.created_at,
                        "expires_at": token.expires_at,
                        "live": token.is_live(now),
                    })
                })
                .collect();
            json!({
                "client_id": app.client_id,
                "name": app.name,
                "scopes": app.scopes,
                "rate_limits": state.control().limiter.usage(&app.client_id, now_ms),
                "access_tokens": tokens,
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "now": now, "apps": apps }))
}

/// `DELETE /__admin/requests` -> 204.
async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.control().journal.clear();
    StatusCode::NO_CONTENT
}
