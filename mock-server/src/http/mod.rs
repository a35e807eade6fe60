//! HTTP plumbing: each connection with its timeouts (`connection`), and what every route
//! shares: authentication, bodies, reading requests into the domain's inputs, the request URL,
//! pagination, the control-plane layer, the wire errors, warnings for what was ignored (told
//! apart from what Procore documents, `documented`),
//! path parameters and JSON responses ([`record`] for what the views write, [`json`] for
//! serde documents, [`stream`] for documents written as they are sent).

pub mod auth;
pub mod body;
pub mod connection;
pub mod control_layer;
pub mod crux;
pub mod documented;
pub mod error;
pub mod pagination;
pub mod params;
pub mod query;
pub mod stream;
pub mod warnings;

use axum::extract::rejection::PathRejection;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::views::writer::{self, WriteJson};
use error::ApiError;

/// Path parameters, with a malformed id answered as a Procore-shaped 404 (as Rails does for
/// `/users/abc`) instead of axum's plain-text rejection.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::NotFound(format!("Not found: {}", rejection.body_text()))
    }
}

/// Room for one user record as the views write it (about 800 bytes), so writing one does not
/// regrow its buffer several times.
pub const TYPICAL_RECORD_BYTES: usize = 1024;

/// A JSON response with `status` for a document of the control plane or a message.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = pagination::json_bytes(bytes);
            *response.status_mut() = status;
            response
        }
        // Our documents serialize plain data into memory, which cannot fail; answer rather
        // than panic.
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "serialization failed").into_response(),
    }
}

/// A JSON response with `status` for a record the views write.
pub fn record<T: WriteJson + ?Sized>(status: StatusCode, value: &T) -> Response {
    let mut response = pagination::json_bytes(writer::to_vec(value, TYPICAL_RECORD_BYTES));
    *response.status_mut() = status;
    response
}
