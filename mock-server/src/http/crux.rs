//! Crux Connect on the wire: where its paths are, who is calling (`Authorization: Token
//! <auth_token>`, [`CruxCaller`]), and its error shape ([`CruxApiError`]).
//!
//! Crux is a Django REST framework service, so errors are `{"detail": "<sentence>"}`, or
//! `{"<field>": ["..."]}` when fields are at fault, and a 401 carries `WWW-Authenticate:
//! Token`. The control layer uses [`is_crux_path`] to answer Crux's paths in this shape and
//! [`journal_client`] to name Crux callers in the journal.

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::crux::{self as rules, Actor, CruxError};
use crate::http::error::ApiError;
use crate::http::json;
use crate::http::query::RequestUrl;
use crate::http::warnings::Ignored;
use crate::state::AppState;
use crate::store::crux::{CruxStore, Organization};

/// The path prefixes Crux's pages use; every operation is served under each.
pub const PREFIXES: [&str; 2] = ["/organizations", "/timp/organizations"];

/// Whether `path` is one of Crux's (so its answers take Crux's shape).
pub fn is_crux_path(path: &str) -> bool {
    PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// An authenticated Crux caller: `Authorization: Token <auth_token>` naming a live token.
#[derive(Clone, Debug)]
pub struct CruxCaller(pub Actor);

impl FromRequestParts<AppState> for CruxCaller {
    type Rejection = CruxApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CruxApiError> {
        let key = token_key(&parts.headers)?;
        let actor = rules::authenticate(&state.store().crux, key, state.clock().epoch_seconds())?;
        Ok(CruxCaller(actor))
    }
}

impl CruxCaller {
    /// The preamble of every Crux handler but the login: the caller's organization, once the
    /// caller is found to hold `needed` (403 otherwise), in the current store; `step` runs with
    /// the Crux store and that organization. `step` is synchronous, so nothing it holds
    /// outlives the request step.
    pub fn authorized<T>(
        &self,
        state: &AppState,
        needed: &str,
        step: impl FnOnce(&CruxStore, &Organization) -> Result<T, CruxApiError>,
    ) -> Result<T, CruxApiError> {
        let store = state.store();
        let organization = rules::authorize(&store.crux, &self.0, needed)?;
        step(&store.crux, organization)
    }

    /// [`CruxCaller::authorized`] for the reads (`view_org_users`), which take nothing but
    /// their path: what `url` sent is settled once the permission is checked (Django REST
    /// framework's order), as a warning or, under `--strict`, a 400 naming each parameter.
    pub fn viewing<T>(
        &self,
        state: &AppState,
        url: &RequestUrl,
        step: impl FnOnce(&CruxStore, &Organization) -> Result<T, CruxApiError>,
    ) -> Result<T, CruxApiError> {
        self.authorized(state, rules::VIEW_ORG_USERS, |crux, organization| {
            settle(state, Ignored::new(url))?;
            step(crux, organization)
        })
    }
}

/// Settles what a Crux request sent and its handler did not read (query parameters, body
/// fields): a warning, or under `--strict` a 400 naming each as Django REST framework names
/// fields at fault. Crux ignores what its serializers do not declare, as Procore does; none of
/// it is documented-but-not-emulated (that tells Procore's operations apart only).
pub fn settle(state: &AppState, ignored: Ignored<'_>) -> Result<(), CruxApiError> {
    ignored.settle_with(state.strict(), CruxApiError::Fields)
}

/// The key of `Authorization: Token <key>`, with Django REST framework's checks: no header or
/// another scheme means no credentials; `Token` alone or with spaces is a malformed header.
fn token_key(headers: &HeaderMap) -> Result<&str, CruxApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(CruxApiError::NotAuthenticated)?;
    let mut words = value.split_whitespace();
    match words.next() {
        Some(scheme) if scheme.eq_ignore_ascii_case("token") => {}
        _ => return Err(CruxApiError::NotAuthenticated),
    }
    let key = words.next().ok_or(CruxApiError::BadTokenHeader(
        "Invalid token header. No credentials provided.",
    ))?;
    if words.next().is_some() {
        return Err(CruxApiError::BadTokenHeader(
            "Invalid token header. Token string should not contain spaces.",
        ));
    }
    Ok(key)
}

/// Who a Crux request speaks for, as the request journal names callers: the API user behind
/// a live token, as `crux:<username>`.
pub fn journal_client(state: &AppState, headers: &HeaderMap, now: i64) -> Option<String> {
    let actor = rules::authenticate(&state.store().crux, token_key(headers).ok()?, now).ok()?;
    Some(format!("crux:{}", actor.username))
}

/// Everything a Crux request can fail with, answered in Crux's error shape.
#[derive(Debug, thiserror::Error)]
pub enum CruxApiError {
    /// A rule refused the request (401, 403, 404 or 400; see [`CruxError`]).
    #[error(transparent)]
    Domain(#[from] CruxError),
    /// 401: no `Authorization: Token` header.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// 401: a `Token` header without exactly one key.
    #[error("{0}")]
    BadTokenHeader(&'static str),
    /// 400: fields at fault, each with its messages.
    #[error("invalid fields")]
    Fields(BTreeMap<String, Vec<String>>),
    /// 400: the body is not a JSON object.
    #[error("{0}")]
    ParseError(String),
    /// 415: a body that is not JSON (the content type as sent).
    #[error("Unsupported media type \"{0}\" in request.")]
    UnsupportedMediaType(String),
    /// The body could not be read: too large (413), too slow (408), malformed framing (400).
    #[error("{detail}")]
    UnreadableBody {
        /// The status the server's body reader chose.
        status: StatusCode,
        /// What went wrong.
        detail: String,
    },
    /// 405: a Crux path with a method it does not take.
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(Method),
    /// 404: no Crux operation at this path.
    #[error("Not found.")]
    RouteNotFound,
}

impl CruxApiError {
    /// The server's body-reading failure (limit, timeout, framing; read once for every API by
    /// the control layer), answered in Crux's shape.
    pub fn unreadable_body(error: &ApiError) -> Self {
        CruxApiError::UnreadableBody {
            status: error.status(),
            detail: error.to_string(),
        }
    }

    /// 400 with `messages` for the field `name`.
    pub fn field(name: &str, messages: Vec<String>) -> Self {
        CruxApiError::Fields(BTreeMap::from([(name.to_owned(), messages)]))
    }

    /// The status each error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            CruxApiError::Domain(error) => match error {
                CruxError::BadCredentials
                | CruxError::InvalidToken
                | CruxError::TokenExpired
                | CruxError::InactiveUser => StatusCode::UNAUTHORIZED,
                CruxError::PermissionDenied => StatusCode::FORBIDDEN,
                CruxError::UserNotFound => StatusCode::NOT_FOUND,
                CruxError::InvalidPermissionUuids(_) => StatusCode::BAD_REQUEST,
            },
            CruxApiError::NotAuthenticated | CruxApiError::BadTokenHeader(_) => {
                StatusCode::UNAUTHORIZED
            }
            CruxApiError::Fields(_) | CruxApiError::ParseError(_) => StatusCode::BAD_REQUEST,
            CruxApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CruxApiError::UnreadableBody { status, .. } => *status,
            CruxApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            CruxApiError::RouteNotFound => StatusCode::NOT_FOUND,
        }
    }
}

impl IntoResponse for CruxApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            CruxApiError::Fields(fields) => serde_json::to_value(fields).unwrap_or_default(),
            CruxApiError::Domain(CruxError::InvalidPermissionUuids(messages)) => {
                serde_json::json!({ "permission_uuids": messages })
            }
            other => serde_json::json!({ "detail": other.to_string() }),
        };
        let mut response = json(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        response
    }
}
