//! The control plane's tower layer: [`ControlLayer`] applies the rate limits, fault rules and
//! journal of [`crate::control`] to every request outside `/__admin`, in this order: the
//! journal notes the request, its body is read within the limits ([`super::body::read_limited`]),
//! a fault rule may answer it, the limiter may refuse it (REST calls
//! with a valid token only), and the answer gets its rate-limit headers. Every response, admin
//! ones included, gets a `Date` header read from the mock clock, and is logged at debug level.

use std::cell::RefCell;
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::thread::LocalKey;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{TimeZone, Utc};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tower::{Layer, Service};

use super::auth::{self, ResolvedToken};
use super::error::ApiError;
use crate::control::journal::{Arrival, Outcome};
use crate::control::limiter::{Decision, WindowStatus};
use crate::control::{RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET};
use crate::state::AppState;

/// The admin API's path prefix; the control plane leaves these requests alone.
pub const ADMIN_PREFIX: &str = "/__admin";

/// Puts the control plane in front of a service (every route of the app).
///
/// It holds the whole state because it uses most of it: the control plane, the clock, the body
/// limit, and the current store's OAuth tokens (the store is swapped on reset, so it is read
/// per request).
#[derive(Clone, Debug)]
pub struct ControlLayer {
    state: AppState,
}

impl ControlLayer {
    /// The control plane of `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for ControlLayer {
    type Service = ControlService<S>;

    fn layer(&self, inner: S) -> ControlService<S> {
        ControlService {
            inner,
            state: self.state.clone(),
        }
    }
}

/// A service with the control plane in front of it (see the module docs).
#[derive(Clone, Debug)]
pub struct ControlService<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for ControlService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service that was polled ready answers this request; its clone waits for the next.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let state = self.state.clone();
        Box::pin(async move {
            let started = Instant::now();
            let now_ms = state.clock().now_ms();
            let logged = tracing::enabled!(tracing::Level::DEBUG)
                .then(|| (request.method().clone(), request.uri().clone()));
            let mut response = if request.uri().path().starts_with(ADMIN_PREFIX) {
                let mut inner = inner;
                inner.call(request).await?
            } else {
                control_request(&state, inner, request, now_ms, started).await
            };
            // Read again: a latency rule may have held the answer past the arrival second.
            if let Some(date) = date_header(state.clock().now_ms()) {
                response.headers_mut().insert(header::DATE, date);
            }
            if let Some((method, uri)) = logged {
                tracing::debug!(
                    %method,
                    %uri,
                    status = response.status().as_u16(),
                    duration_us = started.elapsed().as_micros(),
                    "answered"
                );
            }
            Ok(response)
        })
    }
}

async fn control_request<S>(
    state: &AppState,
    mut inner: S,
    request: Request,
    now_ms: i64,
    started: Instant,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let control = state.control();
    let token = auth::resolve_token(
        &state.store().oauth,
        request.headers(),
        now_ms.div_euclid(1000),
    )
    .ok();
    // Crux Connect callers hold Crux tokens, not OAuth ones; the journal names them too.
    let crux = super::crux::is_crux_path(request.uri().path()) && !state.config().no_crux;
    let crux_client = crux
        .then(|| super::crux::journal_client(state, request.headers(), now_ms.div_euclid(1000)))
        .flatten();
    let ticket = control.journal.begin(Arrival {
        at_ms: now_ms,
        method: request.method(),
        uri: request.uri(),
        headers: request.headers(),
        client_id: token
            .as_ref()
            .map(|token| token.grant.client_id.as_str())
            .or(crux_client.as_deref()),
    });
    let (mut parts, body) = request.into_parts();
    let mut fault_rule_id = None;
    let mut sent = Bytes::new();
    let response = 'answer: {
        // Most requests (GETs) carry no body: there is nothing to collect then.
        let body = if body.is_end_stream() {
            body
        } else {
            match crate::http::body::read_limited(body, &parts.headers, state.config()).await {
                Ok(bytes) => {
                    sent = bytes.clone();
                    Body::from(bytes)
                }
                Err(error) if crux => {
                    break 'answer super::crux::CruxApiError::unreadable_body(&error)
                        .into_response()
                }
                Err(error) => break 'answer error.into_response(),
            }
        };
        if let Some(action) = control
            .faults
            .check(parts.method.as_str(), parts.uri.path())
        {
            fault_rule_id = Some(action.rule_id);
            if action.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(action.latency_ms)).await;
            }
            if let Some((status, body, retry_after)) = action.answer {
                break 'answer injected(status, &body, retry_after);
            }
        }
        let mut window = None;
        if let Some(token) = token {
            if parts.uri.path().starts_with("/rest/") {
                match control.limiter.admit(&token.grant.client_id, now_ms) {
                    Decision::Throttled {
                        status,
                        retry_after,
                        window_secs,
                    } => {
                        let window = match window_secs {
                            3600 => "an hour".to_owned(),
                            secs => format!("{secs} seconds"),
                        };
                        let mut response = ApiError::TooManyRequests {
                            retry_after,
                            window,
                        }
                        .into_response();
                        rate_headers(response.headers_mut(), status);
                        break 'answer response;
                    }
                    Decision::Admitted(status) => window = status,
                }
            }
            parts.extensions.insert(ResolvedToken(token));
        }
        let (answered, warnings) =
            super::warnings::collecting(inner.call(Request::from_parts(parts, body))).await;
        let Ok(mut response) = answered;
        if let Some(value) = warnings.and_then(|text| HeaderValue::try_from(text).ok()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(super::warnings::HEADER), value);
        }
        if let Some(status) = window {
            rate_headers(response.headers_mut(), status);
        }
        response
    };
    let Some(ticket) = ticket else {
        return response;
    };
    let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let (head, body) = response.into_parts();
    let (answered, body) = whole_body(body).await;
    control.journal.finish(
        ticket,
        Outcome {
            status: head.status.as_u16(),
            duration_us,
            body: &sent,
            response_headers: &head.headers,
            response_body: answered.as_deref().unwrap_or_default(),
            fault_rule_id,
        },
    );
    // Moved, not cloned, back into the answer once the journal has its copy: a clone would
    // turn the handler's buffer into a shared one, an allocation and a free per request.
    let body = answered.map_or(body, Body::from);
    Response::from_parts(head, body)
}

/// The bytes of a body whose length is known, which is what nearly every answer is: its one
/// frame, taken without copying. A streamed body (a long page) is handed back untouched, to
/// stream, and goes unjournaled. A body that fails mid-way gives what it had.
async fn whole_body(mut body: Body) -> (Option<Bytes>, Body) {
    if body.size_hint().exact().is_none() {
        return (None, body);
    }
    let mut whole = Bytes::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        whole = if whole.is_empty() {
            data
        } else {
            [whole, data].concat().into()
        };
    }
    (Some(whole), Body::empty())
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
    thread_local! {
        static LIMIT: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
        static RESET: RefCell<Option<(i64, HeaderValue)>> = const { RefCell::new(None) };
    }
    headers.insert(RATE_LIMIT_LIMIT, remembered(&LIMIT, status.limit));
    headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(status.remaining));
    headers.insert(RATE_LIMIT_RESET, remembered(&RESET, status.reset));
}

/// The header value of `number`, kept by each worker thread while the number stays the same:
/// the limit is the same on every answer and the reset second changes rarely, so most answers
/// clone a shared value instead of formatting and allocating one.
fn remembered<T>(
    cache: &'static LocalKey<RefCell<Option<(T, HeaderValue)>>>,
    number: T,
) -> HeaderValue
where
    T: Copy + PartialEq,
    HeaderValue: From<T>,
{
    cache.with_borrow_mut(|cached| match cached {
        Some((kept, value)) if *kept == number => value.clone(),
        _ => cached.insert((number, HeaderValue::from(number))).1.clone(),
    })
}

/// An HTTP date (`Tue, 24 Nov 2026 09:44:45 GMT`) for the mock clock's second at `now_ms`,
/// formatted once per second on each worker thread (a thread's own cache: no shared counter
/// to contend on).
fn date_header(now_ms: i64) -> Option<HeaderValue> {
    thread_local! {
        static CACHED: RefCell<Option<(i64, HeaderValue)>> = const { RefCell::new(None) };
    }
    let second = now_ms.div_euclid(1000);
    CACHED.with_borrow_mut(|cached| {
        if let Some((at, value)) = cached {
            if *at == second {
                return Some(value.clone());
            }
        }
        let text = Utc
            .timestamp_opt(second, 0)
            .single()?
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let value = HeaderValue::from_str(&text).ok()?;
        *cached = Some((second, value.clone()));
        Some(value)
    })
}
