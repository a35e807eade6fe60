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

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
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
use journal::{Journal, JournalRecord, BODY_LIMIT, RATE_HEADERS};
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
    /// The `Date` header of the current mock second, formatted once per second.
    date: DateCache,
}

impl Control {
    /// A control plane with the given limits and journal size.
    pub fn new(limits: Limits, journal_size: usize) -> Self {
        Self {
            limiter: RateLimiter::new(limits),
            faults: Faults::default(),
            journal: Journal::new(journal_size),
            date: DateCache::default(),
        }
    }

    /// Forgets counts, rules and journal (a reset of the mock).
    pub fn clear(&self) {
        self.limiter.clear();
        self.faults.clear();
        self.journal.clear();
    }
}

#[derive(Debug, Default)]
struct DateCache {
    second: AtomicI64,
    value: ArcSwapOption<HeaderValue>,
}

impl DateCache {
    /// An HTTP date (`Tue, 24 Nov 2026 09:44:45 GMT`) for the clock's current second.
    fn header(&self, clock: &Clock) -> Option<HeaderValue> {
        let second = clock.epoch_seconds();
        if self.second.load(Ordering::Acquire) == second {
            if let Some(value) = self.value.load_full() {
                return Some((*value).clone());
            }
        }
        let text = clock.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let value = HeaderValue::from_str(&text).ok()?;
        self.value.store(Some(Arc::new(value.clone())));
        self.second.store(second, Ordering::Release);
        Some(value)
    }
}

/// Middleware applying the control plane (see the module docs).
pub async fn api_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = if request.uri().path().starts_with(ADMIN_PREFIX) {
        next.run(request).await
    } else {
        control_request(&state, request, next).await
    };
    if let Some(date) = state.control().date.header(state.clock()) {
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
    let at_ms = state.clock().now_ms();
    // Reference-counted clones: the readable entry is built only when the journal is read.
    let journaled = control.journal.is_enabled().then(|| {
        (
            parts.method.clone(),
            parts.uri.clone(),
            parts
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect::<Vec<_>>(),
            bytes.slice(..bytes.len().min(BODY_LIMIT)),
        )
    });
    let body_len = bytes.len();

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

    if let Some((method, uri, request_headers, body)) = journaled {
        let headers = response.headers();
        control.journal.record(JournalRecord {
            at_ms,
            method,
            uri,
            token: token.clone(),
            status: response.status().as_u16(),
            duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            request_headers,
            body,
            body_truncated: body_len > BODY_LIMIT,
            rate_headers: RATE_HEADERS.map(|name| headers.get(name).cloned()),
        });
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
