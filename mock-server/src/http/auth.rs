//! Who is calling: the bearer token, its scopes, and the companies its app may act in.
//!
//! [`Caller`] is an extractor, so a handler that takes one cannot run unauthenticated. It checks
//! the token (401), then the scope the method needs (403). Company access is checked per route
//! through [`Caller::company`] and [`Caller::project_company`], which also enforce the
//! `Procore-Company-Id` header.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::oauth::AccessToken;
use crate::store::{Company, OAuthApp, Scope, Store};

/// The header naming the company a request acts in.
pub const COMPANY_HEADER: &str = "procore-company-id";

/// An authenticated caller with the scope the request's method needs.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The application the token was issued to.
    pub app: Arc<OAuthApp>,
    /// The token: whom it speaks for and its scopes.
    pub token: Arc<AccessToken>,
    /// The `Procore-Company-Id` header as sent (checked only where a route needs a company).
    company_header: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The control plane has usually resolved the token already; don't look it up twice.
        let access = match parts.extensions.remove::<ResolvedToken>() {
            Some(ResolvedToken(token)) => token,
            None => resolve_token(state, &parts.headers)?,
        };
        let store = state.store();
        let app = store
            .oauth
            .app(&access.grant.client_id)
            .ok_or_else(invalid_token)?;
        let needed = scope_for(&parts.method);
        if !access.grant.scopes.contains(&needed) {
            return Err(ApiError::Forbidden(format!(
                "The access token does not have the `{}` scope this request needs",
                needed.as_str()
            )));
        }
        Ok(Caller {
            app,
            token: access,
            company_header: parts.headers.get(COMPANY_HEADER).cloned(),
        })
    }
}

/// A bearer token already checked by the control plane, passed on in request extensions.
#[derive(Clone, Debug)]
pub struct ResolvedToken(pub Arc<AccessToken>);

/// The live, unexpired token the request's `Authorization` header names, or the 401 to send.
pub fn resolve_token(state: &AppState, headers: &HeaderMap) -> Result<Arc<AccessToken>, ApiError> {
    live_token(state, bearer_token(headers)?)
}

/// The live, unexpired token `token`, or the 401 to send.
pub fn live_token(state: &AppState, token: &str) -> Result<Arc<AccessToken>, ApiError> {
    let access = state
        .store()
        .oauth
        .access_token(token)
        .ok_or_else(invalid_token)?;
    if !access.is_live(state.clock().epoch_seconds()) {
        return Err(ApiError::Unauthorized {
            message: "The access token expired".to_owned(),
            code: "invalid_token",
        });
    }
    Ok(access)
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized {
        message: "The access token is invalid".to_owned(),
        code: "invalid_token",
    }
}

/// Reads `Authorization: Bearer <token>`; anything else is a 401.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || ApiError::Unauthorized {
        message: "The access token is missing: send `Authorization: Bearer <token>`".to_owned(),
        code: "invalid_request",
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

/// GET and HEAD read; every other method writes.
fn scope_for(method: &Method) -> Scope {
    if method == Method::GET || method == Method::HEAD {
        Scope::Read
    } else {
        Scope::Write
    }
}

impl Caller {
    /// The company named in a route's path, after checking the `Procore-Company-Id` header.
    pub fn company(&self, store: &Store, company_id: u64) -> Result<Arc<Company>, ApiError> {
        self.check_company_header()?;
        let company = store
            .company(company_id)
            .ok_or_else(|| ApiError::not_found("Company", company_id))?;
        self.check_installed(company.id)?;
        Ok(company)
    }

    /// The company that owns a project named in a route's path, after the header check.
    pub fn project_company(
        &self,
        store: &Store,
        project_id: u64,
    ) -> Result<Arc<Company>, ApiError> {
        self.check_company_header()?;
        let company = store
            .company_of_project(project_id)
            .ok_or_else(|| ApiError::not_found("Project", project_id))?;
        self.check_installed(company.id)?;
        Ok(company)
    }

    /// Whether the caller's app may act in `company_id`.
    pub fn check_installed(&self, company_id: u64) -> Result<(), ApiError> {
        if self.app.is_installed_in(company_id) {
            Ok(())
        } else {
            Err(not_connected())
        }
    }

    /// The header must be present, an id, and name a company the app is installed in.
    fn check_company_header(&self) -> Result<u64, ApiError> {
        let header = self
            .company_header
            .as_ref()
            .ok_or_else(|| ApiError::NotFound("Missing Procore-Company-Id header!".to_owned()))?;
        let value = String::from_utf8_lossy(header.as_bytes());
        let value = value.trim();
        let company_id = value.parse::<u64>().map_err(|_| ApiError::BadRequest {
            message: format!("Procore-Company-Id header must be a company id, got `{value}`"),
            errors: Default::default(),
        })?;
        self.check_installed(company_id)?;
        Ok(company_id)
    }
}

fn not_connected() -> ApiError {
    ApiError::Forbidden("App is not connected to this company".to_owned())
}
