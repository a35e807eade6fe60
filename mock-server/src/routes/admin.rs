//! The mock's own control endpoints, all under `/__admin`: clock, rate limits, faults, reset,
//! state, the request journal, health. Guarded by `--admin-token` when one is set.

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
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        // The guard has enforced `--max-body-bytes`: no second, different limit in `Bytes`.
        .layer(DefaultBodyLimit::disable())
}

/// With `--admin-token`, every admin call must send `Authorization: Bearer <token>`. The body
/// is read here, within the same limits as API bodies ([`read_limited`]).
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(expected) = &state.config().admin_token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if presented != Some(expected.as_str()) {
            return ApiError::AdminUnauthorized(
                "The admin API needs `Authorization: Bearer <admin token>`".to_owned(),
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
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
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

/// `GET /__admin/requests?method=&path=&limit=`: the journal, oldest first.
async fn requests(State(state): State<AppState>, url: RequestUrl) -> Result<Response, ApiError> {
    let limit = match url.get("limit") {
        None => None,
        Some(raw) => Some(raw.parse::<usize>().map_err(|_| {
            ApiError::bad_field("limit", format!("must be a whole number, got `{raw}`"))
        })?),
    };
    let entries = state
        .control()
        .journal
        .entries(url.get("method"), url.get("path"), limit);
    Ok(json(StatusCode::OK, &entries))
}

/// `DELETE /__admin/requests` -> 204.
async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.control().journal.clear();
    StatusCode::NO_CONTENT
}
