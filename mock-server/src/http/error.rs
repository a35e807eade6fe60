//! The wire errors: [`ApiError`] for the REST API, [`OAuthError`] for the OAuth endpoints,
//! and the one place where the domain's refusals ([`DomainError`]) get a status and a body.
//!
//! Every 4xx/5xx the mock sends is `{"message": "<sentence>", "errors": {"<field>": ["..."]}}`
//! (the `errors` map only where fields are at fault), because real clients parse error bodies as
//! JSON and some throw on anything else. OAuth endpoints speak RFC 6749 instead; see
//! [`OAuthError`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{field_error, summarize, DomainError, FieldErrors};

/// Everything a REST request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or misses a required parameter.
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
        /// The fields at fault, if any.
        errors: FieldErrors,
    },
    /// 401: no, unknown, revoked or expired bearer token. Adds `WWW-Authenticate`.
    #[error("{message}")]
    Unauthorized {
        /// What is wrong with the token.
        message: String,
        /// The RFC 6750 error code for `WWW-Authenticate` (`invalid_token` or `invalid_request`).
        code: &'static str,
    },
    /// 403: authenticated, but not allowed (scope, company, Directory Admin).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource or route.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the write clashes with existing data (a duplicate email or origin id).
    #[error("{message}")]
    Conflict {
        /// What clashes.
        message: String,
        /// The fields at fault.
        errors: FieldErrors,
    },
    /// 408: the client did not send the whole body within the body-read timeout.
    #[error("The request body did not arrive within {seconds} seconds")]
    RequestTimeout {
        /// The timeout, in seconds.
        seconds: f64,
    },
    /// 413: the body is larger than the server accepts.
    #[error("Request body is larger than the {limit} bytes this server accepts")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not in a format the endpoint reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: the app is over a rate limit. Adds `Retry-After` (the rate-limit headers are added
    /// by the limiter, which knows the window).
    #[error("You have surpassed the max number of requests for {window}. Please wait until your limit resets.")]
    TooManyRequests {
        /// Whole seconds until the window admits again.
        retry_after: u64,
        /// The refusing window, as the message names it (`an hour`, `10 seconds`).
        window: String,
    },
    /// 401 on the admin API when `--admin-token` is set and not presented.
    #[error("{0}")]
    AdminUnauthorized(String),
    /// 422: well-formed, but breaks a business rule.
    #[error("{message}")]
    Unprocessable {
        /// Which rule.
        message: String,
        /// The fields at fault, if any.
        errors: FieldErrors,
    },
}

impl ApiError {
    /// 400 naming one field.
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::BadRequest {
            errors: field_error(field, message.clone()),
            message: format!("{field} {message}"),
        }
    }

    /// 400 for fields or parameters of the wrong type, naming each.
    pub fn malformed(errors: FieldErrors) -> Self {
        ApiError::BadRequest {
            message: summarize(&errors),
            errors,
        }
    }

    /// 404 for a missing record of `kind`.
    pub fn not_found(kind: &str, id: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{kind} {id} not found"))
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::AdminUnauthorized(_) => StatusCode::UNAUTHORIZED,
        }
    }

    fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            ApiError::BadRequest { errors, .. }
            | ApiError::Conflict { errors, .. }
            | ApiError::Unprocessable { errors, .. }
                if !errors.is_empty() =>
            {
                Some(errors)
            }
            _ => None,
        }
    }
}

/// How each refusal of a Procore rule is answered: the one mapping from the domain's words to
/// statuses.
impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Missing { field } => ApiError::bad_field(field, "is missing"),
            DomainError::Invalid(errors) => ApiError::Unprocessable {
                message: summarize(&errors),
                errors,
            },
            DomainError::Refused { message, errors } => ApiError::Unprocessable { message, errors },
            DomainError::Conflict { message, errors } => ApiError::Conflict { message, errors },
            DomainError::NotFound(message) => ApiError::NotFound(message),
            DomainError::Forbidden(message) => ApiError::Forbidden(message),
            DomainError::TooLarge { limit } => ApiError::PayloadTooLarge { limit },
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: self.to_string(),
            errors: self.field_errors(),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if let ApiError::AdminUnauthorized(_) = &self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"procore-mock admin\""),
            );
        }
        if let ApiError::Unauthorized { message, code } = &self {
            let challenge = format!(
                "Bearer realm=\"Procore API\", error=\"{code}\", error_description=\"{}\"",
                message.replace('"', "'")
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// An OAuth endpoint failure, answered with an RFC 6749 §5.2 body.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// HTTP status: 400 for most, 401 for `invalid_client`.
    pub status: StatusCode,
    /// RFC 6749 error code (`invalid_client`, `invalid_grant`, ...).
    pub code: &'static str,
    /// Human-readable detail.
    pub description: String,
}

impl OAuthError {
    /// `invalid_request` (400): a parameter is missing or malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client` (401): unknown client or wrong secret.
    pub fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        )
    }

    /// `invalid_grant` (400): a code or refresh token that is unknown, used, expired or mismatched.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// `unsupported_grant_type` (400).
    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("The authorization grant type `{grant}` is not supported by the authorization server."),
        )
    }

    /// `invalid_scope` (400): a requested scope the app does not have.
    pub fn invalid_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("The requested scope `{scope}` is invalid, unknown, or malformed."),
        )
    }

    /// An error with any status and code.
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.code == "invalid_token" {
                "Bearer realm=\"Procore API\", error=\"invalid_token\""
            } else {
                "Basic realm=\"Procore OAuth\""
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
