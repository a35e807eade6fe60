//! Who is calling: the bearer token, its scopes, and the companies its app may act in.
//!
//! [`Caller`] is an extractor, so a handler that takes one cannot run unauthenticated. It checks
//! the token (401), then the scope the method needs (403). Company access is checked per route
//! through [`Caller::in_company`] (or [`Caller::reading`]), the preamble every handler that acts
//! in a company shares: it resolves the company the route names ([`Tenant`]), enforces the
//! `Procore-Company-Id` header and the app's installation, and runs the handler's step with the
//! company ([`InCompany`]).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use parking_lot::{RwLockReadGuard, RwLockWriteGuard};

use super::error::ApiError;
use super::query::RequestUrl;
use super::warnings::Ignored;
use crate::domain::webhooks::{Actor, Change};
use crate::state::AppState;
use crate::store::oauth::{AccessToken, OAuthStore};
use crate::store::{Company, Directory, OAuthApp, Scope, Store};

/// The header naming the company a request acts in.
pub const COMPANY_HEADER: &str = "procore-company-id";

/// An authenticated caller with the scope the request's method needs.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token: whom it speaks for, its app and its scopes.
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
            None => resolve_token(
                &state.store().oauth,
                &parts.headers,
                state.clock().epoch_seconds(),
            )?,
        };
        if state.store().oauth.app(&access.grant.client_id).is_none() {
            return Err(invalid_token());
        }
        let needed = scope_for(&parts.method);
        if !access.grant.scopes.contains(&needed) {
            return Err(ApiError::Forbidden(format!(
                "The access token does not have the `{}` scope this request needs",
                needed.as_str()
            )));
        }
        Ok(Caller {
            token: access,
            company_header: parts.headers.get(COMPANY_HEADER).cloned(),
        })
    }
}

/// A bearer token already checked by the control plane, passed on in request extensions.
#[derive(Clone, Debug)]
pub struct ResolvedToken(pub Arc<AccessToken>);

/// The token the request's `Authorization` header names if it is live at `now` (epoch
/// seconds on the mock clock), or the 401 to send.
pub fn resolve_token(
    oauth: &OAuthStore,
    headers: &HeaderMap,
    now: i64,
) -> Result<Arc<AccessToken>, ApiError> {
    live_token(oauth, bearer_token(headers)?, now)
}

/// The token `token` if it is live at `now` (epoch seconds on the mock clock), or the 401 to
/// send.
pub fn live_token(oauth: &OAuthStore, token: &str, now: i64) -> Result<Arc<AccessToken>, ApiError> {
    let access = oauth.access_token(token).ok_or_else(invalid_token)?;
    if !access.is_live(now) {
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
    // `from_utf8` checks a word at a time, where `HeaderValue::to_str` goes byte by byte; a
    // header value has no control characters either way.
    let value = std::str::from_utf8(value.as_bytes()).map_err(|_| missing())?;
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
    /// Who changes made by this request are attributed to (in webhook events).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.token.grant.resource_owner_id,
            application_id: self.token.grant.client_id.clone(),
        }
    }

    /// The application the token was issued to, in `store`. A token whose app is gone (the
    /// state was replaced since the token was issued) is invalid.
    pub fn app<'s>(&self, store: &'s Store) -> Result<&'s OAuthApp, ApiError> {
        store
            .oauth
            .app(&self.token.grant.client_id)
            .ok_or_else(invalid_token)
    }

    /// The handler preamble: resolves the company `tenant` names in the current store, after
    /// checking the `Procore-Company-Id` header (404 when missing, 400 when not an id, 403 when
    /// the app is not installed there) and that the company or project exists (404), and runs
    /// `step` with it.
    ///
    /// `step` is synchronous, so no lock it takes can be held across an `.await`. A write takes
    /// the lock itself ([`InCompany::write`]) once it has read its request: the company is
    /// checked before the body (403 before 400, as Procore's controllers check), and the
    /// critical section holds only the rule, its events and the answer.
    pub fn in_company<T>(
        &self,
        state: &AppState,
        tenant: Tenant,
        step: impl FnOnce(InCompany<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let store = state.store();
        let company = match tenant {
            Tenant::Company(company_id) => self.company(&store, company_id)?,
            Tenant::ProjectOf(project_id) => self.project_company(&store, project_id)?,
        };
        step(InCompany {
            company,
            store: &store,
            state,
            caller: self,
        })
    }

    /// [`Caller::in_company`] for a read, called once the handler has read its request (a
    /// read takes no body): what `url` sent and the handler did not read is settled first
    /// ([`Ignored::settle`]), then `step` gets the company's directory, read-locked for the
    /// whole step, so the answer is one consistent snapshot.
    pub fn reading<T>(
        &self,
        state: &AppState,
        url: &RequestUrl,
        tenant: Tenant,
        step: impl FnOnce(&Directory) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        Ignored::new(url).settle(state.strict())?;
        self.in_company(state, tenant, |company| step(&company.read()))
    }

    /// The company named in a route's path, after checking the `Procore-Company-Id` header.
    pub fn company<'s>(&self, store: &'s Store, company_id: u64) -> Result<&'s Company, ApiError> {
        let app = self.app(store)?;
        self.check_company_header(app)?;
        let company = store
            .company(company_id)
            .ok_or_else(|| ApiError::not_found("Company", company_id))?;
        check_installed(app, company.id)?;
        Ok(company)
    }

    /// The company that owns a project named in a route's path, after the header check.
    pub fn project_company<'s>(
        &self,
        store: &'s Store,
        project_id: u64,
    ) -> Result<&'s Company, ApiError> {
        let app = self.app(store)?;
        self.check_company_header(app)?;
        let company = store
            .company_of_project(project_id)
            .ok_or_else(|| ApiError::not_found("Project", project_id))?;
        check_installed(app, company.id)?;
        Ok(company)
    }

    /// The header must be present, an id, and name a company the app is installed in.
    fn check_company_header(&self, app: &OAuthApp) -> Result<u64, ApiError> {
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
        check_installed(app, company_id)?;
        Ok(company_id)
    }
}

/// Whether `app` may act in `company_id`.
fn check_installed(app: &OAuthApp, company_id: u64) -> Result<(), ApiError> {
    if app.is_installed_in(company_id) {
        Ok(())
    } else {
        Err(not_connected())
    }
}

fn not_connected() -> ApiError {
    ApiError::Forbidden("App is not connected to this company".to_owned())
}

/// How a route names the company it acts in.
#[derive(Clone, Copy, Debug)]
pub enum Tenant {
    /// By id: `.../companies/{company_id}/...`, or `?company_id=` on top-level routes.
    Company(u64),
    /// Through a project: `.../projects/{project_id}/...` acts in the company that owns it.
    ProjectOf(u64),
}

/// A company the caller may act in, resolved and checked for one request step (see
/// [`Caller::in_company`]).
pub struct InCompany<'r> {
    /// The company.
    pub company: &'r Company,
    /// The store it was resolved in, for new ids.
    store: &'r Store,
    /// For the clock and the webhook engine.
    state: &'r AppState,
    /// Whom the changes of this request are attributed to.
    caller: &'r Caller,
}

impl<'r> InCompany<'r> {
    /// Shared access to the company's directory, for reads.
    pub fn read(&self) -> RwLockReadGuard<'r, Directory> {
        self.company.read()
    }

    /// Exclusive access to the company's directory. Hold it until the answer is written, as
    /// every write here does: released earlier, a concurrent request could change what the
    /// answer shows (a remove turning a successful add into a 404).
    pub fn write(&self) -> RwLockWriteGuard<'r, Directory> {
        self.company.write()
    }

    /// A new id, unique across the store.
    pub fn next_id(&self) -> u64 {
        self.store.next_id()
    }

    /// Reports changes the request just committed to the webhooks that watch them, attributed
    /// to the caller. Call it still holding the write guard, so events keep commit order (see
    /// [`AppState::emit`]).
    pub fn emit(&self, changes: &[Change]) {
        self.state.emit(self.company, &self.caller.actor(), changes);
    }
}
