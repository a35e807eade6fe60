//! The control plane: what makes the mock a test instrument rather than a fixed fake.
//!
//! - [`limiter`]: Procore's hourly and spike rate limits per OAuth application.
//! - [`faults`]: injected errors and delays.
//! - [`journal`]: the bounded record of requests and answers.
//! - [`persistence`]: the state file, written atomically.
//!
//! [`api_layer`] applies them to every request outside `/__admin`, in this order: the journal
//! notes the request, a fault rule may answer it, the limiter may refuse it (REST calls with a
//! valid token only), and the answer gets its rate-limit headers. Every response, admin ones
//! included, gets a `Date` header read from the mock clock.

pub mod faults;
pub mod journal;
pub mod limiter;
pub mod persistence;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::http::auth::{self, ResolvedToken};
use crate::state::AppState;
use faults::Faults;
use journal::{Journal, JournalEntry, BODY_LIMIT};
use limiter::{Decision, Limits, RateLimiter, WindowStatus};

/// The admin API's path prefix; the control plane leaves these requests alone.
pub const ADMIN_PREFIX: &str = "/__admin";

/// The control plane's live parts.
#[derive(Debug)]
pub struct Control {
    /// Rate limits and their counts.
    pub limiter: RateLimiter,
    /// Fault rules.
    pub faults: Faults,
    /// Recent requests.
    pub journal: Journal,
}

impl Control {
    /// A control plane with the given limits and journal size.
    pub fn new(limits: Limits, journal_size: usize) -> Self {
        Self {
            limiter: RateLimiter::new(limits),
            faults: Faults::default(),
            journal: Journal::new(journal_size),
        }
    }

    /// Forgets counts, rules and journal (a reset of the mock).
    pub fn clear(&self) {
        self.limiter.clear();
        self.faults.clear();
        self.journal.clear();
    }
}

/// Middleware applying the control plane (see the module docs).
pub async fn api_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = if request.uri().path().starts_with(ADMIN_PREFIX) {
        next.run(request).await
    } else {
        control_request(&state, request, next).await
    };
    if let Ok(date) = HeaderValue::from_str(&http_date(state.clock())) {
        response.headers_mut().insert(header::DATE, date);
    }
    response
}

async fn control_request(state: &AppState, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let control = state.control();
    let token = auth::resolve_token(state, request.headers()).ok();
    let (mut parts, body) = request.into_parts();
    let limit = state.config().max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::PayloadTooLarge { limit }.into_response(),
    };
    let pending = control.journal.is_enabled().then(|| JournalEntry {
        id: 0,
        time: state
            .clock()
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        client_id: token.as_ref().map(|t| t.grant.client_id.clone()),
        status: 0,
        duration_ms: 0.0,
        request_headers: redacted_headers(&parts.headers),
        body: (!bytes.is_empty())
            .then(|| String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]).into_owned()),
        body_truncated: bytes.len() > BODY_LIMIT,
        response_headers: BTreeMap::new(),
    });

    let response = 'answer: {
        if let Some(action) = control
            .faults
            .check(parts.method.as_str(), parts.uri.path())
        {
            if action.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(action.latency_ms)).await;
            }
            if let Some((status, body, retry_after)) = action.answer {
                break 'answer injected(status, &body, retry_after);
            }
        }
        let mut window = None;
        if let Some(token) = &token {
            if parts.uri.path().starts_with("/rest/") {
                match control
                    .limiter
                    .admit(&token.grant.client_id, state.clock().now_ms())
                {
                    Decision::Throttled {
                        status,
                        retry_after,
                    } => {
                        let mut response =
                            ApiError::TooManyRequests { retry_after }.into_response();
                        rate_headers(response.headers_mut(), status);
                        break 'answer response;
                    }
                    Decision::Admitted(status) => window = status,
                }
            }
            parts.extensions.insert(ResolvedToken(Arc::clone(token)));
        }
        let mut response = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        if let Some(status) = window {
            rate_headers(response.headers_mut(), status);
        }
        response
    };

    if let Some(mut entry) = pending {
        entry.status = response.status().as_u16();
        entry.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        entry.response_headers = rate_limit_headers(response.headers());
        control.journal.record(entry);
    }
    response
}

/// The answer of a fault rule.
fn injected(status: u16, body: &serde_json::Value, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn rate_headers(headers: &mut HeaderMap, status: WindowStatus) {
    headers.insert(
        HeaderName::from_static("x-rate-limit-limit"),
        HeaderValue::from(status.limit),
    );
    headers.insert(
        HeaderName::from_static("x-rate-limit-remaining"),
        HeaderValue::from(status.remaining),
    );
    headers.insert(
        HeaderName::from_static("x-rate-limit-reset"),
        HeaderValue::from(status.reset),
    );
}

/// Request headers for the journal, with credentials hidden.
fn redacted_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == header::AUTHORIZATION {
                let scheme = value.to_str().unwrap_or("").split(' ').next().unwrap_or("");
                format!("{scheme} [redacted]")
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// The headers an audit of rate-limit manners needs.
fn rate_limit_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "retry-after",
    ]
    .into_iter()
    .filter_map(|name| {
        Some((
            name.to_owned(),
            headers.get(name)?.to_str().ok()?.to_owned(),
        ))
    })
    .collect()
}

/// An HTTP date (`Tue, 24 Nov 2026 09:44:45 GMT`) on the mock clock.
fn http_date(clock: &Clock) -> String {
    clock.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
