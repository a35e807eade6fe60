//! OAuth 2.0: token (three grants, four encodings), authorize, token info, revoke.
//!
//! Served on the same host as the REST API, because some clients post token requests to the
//! API base URL. Errors follow RFC 6749 (`{"error", "error_description"}`), not the REST shape.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use crate::http::auth::{bearer_token, live_token};
use crate::http::body::RequestBody;
use crate::http::error::{ApiError, OAuthError};
use crate::http::query::RequestUrl;
use crate::state::AppState;
use crate::store::oauth::Grant;
use crate::store::{OAuthApp, Scope, Store};

/// Access tokens live 90 minutes, as Procore's do.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 5400;
/// Authorization codes live 10 minutes.
pub const CODE_LIFETIME_SECS: i64 = 600;
/// The redirect URI of the headless (out-of-band) authorization-code variant.
pub const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// The OAuth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token/info", get(token_info))
        .route("/oauth/revoke", post(revoke))
}

/// The parameters of an OAuth request, from whichever encoding the client used.
struct OAuthParams {
    body: RequestBody,
    url: RequestUrl,
}

impl OAuthParams {
    /// A parameter from the body, else the query string; non-empty strings only.
    fn get(&self, name: &str) -> Option<String> {
        let from_body = self.body.fields.get(name).and_then(|value| match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        from_body
            .or_else(|| self.url.get(name).map(str::to_owned))
            .filter(|s| !s.is_empty())
    }

    fn require(&self, name: &str) -> Result<String, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("Missing required parameter: {name}."))
        })
    }
}

/// `POST /oauth/token`.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    url: RequestUrl,
    body: Result<RequestBody, ApiError>,
) -> Result<Response, OAuthError> {
    let body = body.map_err(|err| OAuthError::invalid_request(err.to_string()))?;
    let params = OAuthParams { body, url };
    let store = state.store();
    let app = authenticate_client(&store, &headers, &params)?;
    let now = state.clock().epoch_seconds();
    let grant_type = params.require("grant_type")?;
    let (grant, with_refresh) = match grant_type.as_str() {
        "client_credentials" => {
            let scopes = requested_scopes(app, params.get("scope").as_deref())?;
            let grant = Grant {
                client_id: app.client_id.clone(),
                resource_owner_id: app.service_account_user_id,
                scopes,
            };
            (grant, false)
        }
        "authorization_code" => {
            let code = params.require("code")?;
            let redirect_uri = params.require("redirect_uri")?;
            let issued = store
                .oauth
                .take_code(&code)
                .ok_or_else(|| invalid_grant_detail("authorization code"))?;
            if issued.grant.client_id != app.client_id
                || issued.redirect_uri != redirect_uri
                || !issued.is_live(now)
            {
                return Err(invalid_grant_detail("authorization code"));
            }
            record_login(&store, app, issued.grant.resource_owner_id, &state);
            (issued.grant, true)
        }
        "refresh_token" => {
            let refresh = params.require("refresh_token")?;
            let issued = store
                .oauth
                .take_refresh_token(&refresh)
                .ok_or_else(|| invalid_grant_detail("refresh token"))?;
            if issued.grant.client_id != app.client_id {
                return Err(invalid_grant_detail("refresh token"));
            }
            (issued.grant, true)
        }
        other => return Err(OAuthError::unsupported_grant_type(other)),
    };
    Ok(issue_tokens(&store, grant, now, with_refresh))
}

fn invalid_grant_detail(what: &str) -> OAuthError {
    OAuthError::invalid_grant(format!(
        "The provided {what} is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
    ))
}

/// Issues an access token (and a fresh refresh token for user grants) as the token response.
fn issue_tokens(store: &Store, grant: Grant, now: i64, with_refresh: bool) -> Response {
    let scope = scope_string(&grant.scopes);
    let refresh_token = with_refresh.then(|| store.oauth.issue_refresh_token(grant.clone()));
    let access_token = store
        .oauth
        .issue_access_token(grant, now, ACCESS_TOKEN_LIFETIME_SECS);
    let mut body = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "scope": scope,
        "created_at": now,
    });
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = Value::String(refresh_token);
    }
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Finds the client by HTTP Basic credentials or by `client_id`/`client_secret` parameters.
fn authenticate_client<'s>(
    store: &'s Store,
    headers: &HeaderMap,
    params: &OAuthParams,
) -> Result<&'s OAuthApp, OAuthError> {
    let (client_id, secret) = match basic_credentials(headers) {
        Some(credentials) => credentials,
        None => (
            params
                .get("client_id")
                .ok_or_else(OAuthError::invalid_client)?,
            params
                .get("client_secret")
                .ok_or_else(OAuthError::invalid_client)?,
        ),
    };
    match store.oauth.app(&client_id) {
        Some(app) if app.client_secret == secret => Ok(app),
        _ => Err(OAuthError::invalid_client()),
    }
}

/// `Authorization: Basic base64(client_id:client_secret)`, each part form-url-decoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// The scopes a request asks for: all of the app's when unspecified; asking beyond them fails.
fn requested_scopes(app: &OAuthApp, requested: Option<&str>) -> Result<Vec<Scope>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(app.scopes.clone());
    };
    let mut scopes = Vec::new();
    for name in requested.split([' ', ',', '+']).filter(|s| !s.is_empty()) {
        match Scope::parse(name) {
            Some(scope) if app.scopes.contains(&scope) => {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            _ => return Err(OAuthError::invalid_scope(name)),
        }
    }
    if scopes.is_empty() {
        Ok(app.scopes.clone())
    } else {
        Ok(scopes)
    }
}

fn scope_string(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn record_login(store: &Store, app: &OAuthApp, user_id: u64, state: &AppState) {
    for company_id in &app.installed_company_ids {
        if let Some(company) = store.company(*company_id) {
            let mut directory = company.write();
            if directory.user(user_id).is_some() {
                directory.record_login(user_id, state.clock().now());
                return;
            }
        }
    }
}

/// `GET /oauth/authorize`: approves at once (the mock has no login page) on behalf of the
/// active user named by `login_hint`, else the app's service account. `response_type=code`
/// redirects with a single-use code (or shows it, for the out-of-band URI);
/// `response_type=token` is the implicit grant and redirects with the token in the fragment.
async fn authorize(State(state): State<AppState>, url: RequestUrl) -> Response {
    let store = state.store();
    let client_id = url.get("client_id").unwrap_or_default();
    let Some(app) = store.oauth.app(client_id) else {
        return OAuthError::invalid_client().into_response();
    };
    let redirect_uri = url
        .get("redirect_uri")
        .unwrap_or(OOB_REDIRECT_URI)
        .to_owned();
    if redirect_uri != OOB_REDIRECT_URI && !app.redirect_uris.contains(&redirect_uri) {
        return OAuthError::invalid_request(format!(
            "The redirect_uri `{redirect_uri}` is not registered for this application."
        ))
        .into_response();
    }
    let state_param = url.get("state").map(str::to_owned);
    let redirect_error = |code: &str, description: &str| {
        let mut params = vec![
            ("error", code.to_owned()),
            ("error_description", description.to_owned()),
        ];
        if let Some(s) = &state_param {
            params.push(("state", s.clone()));
        }
        redirect_with(&redirect_uri, '?', &params)
    };
    let scopes = match requested_scopes(app, url.get("scope")) {
        Ok(scopes) => scopes,
        Err(err) => return redirect_error(err.code, &err.description),
    };
    let owner = match url.get("login_hint") {
        None => app.service_account_user_id,
        Some(email) => match find_active_user(&store, app, email) {
            Some(id) => id,
            None => {
                return redirect_error(
                    "access_denied",
                    "No active user with that login in this app's companies.",
                )
            }
        },
    };
    let grant = Grant {
        client_id: app.client_id.clone(),
        resource_owner_id: owner,
        scopes,
    };
    let now = state.clock().epoch_seconds();
    match url.get("response_type") {
        Some("code") => {
            let code =
                store
                    .oauth
                    .issue_code(grant, redirect_uri.clone(), now + CODE_LIFETIME_SECS);
            if redirect_uri == OOB_REDIRECT_URI {
                return Html(format!(
                    "<!doctype html><title>Authorization code</title>\
                     <h1>Authorization code</h1><p>Copy this code into your application:</p>\
                     <code id=\"authorization_code\">{code}</code>"
                ))
                .into_response();
            }
            let mut params = vec![("code", code)];
            if let Some(s) = &state_param {
                params.push(("state", s.clone()));
            }
            redirect_with(&redirect_uri, '?', &params)
        }
        Some("token") if redirect_uri != OOB_REDIRECT_URI => {
            let token = store
                .oauth
                .issue_access_token(grant, now, ACCESS_TOKEN_LIFETIME_SECS);
            let mut params = vec![
                ("access_token", token),
                ("token_type", "bearer".to_owned()),
                ("expires_in", ACCESS_TOKEN_LIFETIME_SECS.to_string()),
                ("created_at", now.to_string()),
            ];
            if let Some(s) = &state_param {
                params.push(("state", s.clone()));
            }
            redirect_with(&redirect_uri, '#', &params)
        }
        _ => redirect_error(
            "unsupported_response_type",
            "The authorization server does not support this response type.",
        ),
    }
}

fn find_active_user(store: &Store, app: &OAuthApp, email: &str) -> Option<u64> {
    app.installed_company_ids.iter().find_map(|company_id| {
        let company = store.company(*company_id)?;
        let directory = company.read();
        directory
            .user_by_email(email)
            .filter(|user| user.is_active)
            .map(|user| user.id)
    })
}

/// A 302 to `base` with `params` appended after `separator` (`?` query, `#` fragment).
fn redirect_with(base: &str, separator: char, params: &[(&str, String)]) -> Response {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        serializer.append_pair(key, value);
    }
    let joiner = if separator == '?' && base.contains('?') {
        '&'
    } else {
        separator
    };
    let location = format!("{base}{joiner}{}", serializer.finish());
    let mut response = Redirect::to(&location).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response
}

/// `GET /oauth/token/info`: what the bearer token (or `?access_token=`) is.
async fn token_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    url: RequestUrl,
) -> Result<Response, OAuthError> {
    let invalid = || {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token is invalid",
        )
    };
    // The bearer header, or (as Doorkeeper also accepts) an `access_token` query parameter.
    let token = match bearer_token(&headers) {
        Ok(token) => token.to_owned(),
        Err(_) => url.get("access_token").ok_or_else(invalid)?.to_owned(),
    };
    let access =
        live_token(&state.store().oauth, &token, state.clock().epoch_seconds()).map_err(|err| {
            OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", err.to_string())
        })?;
    let now = state.clock().epoch_seconds();
    let body = json!({
        "resource_owner_id": access.grant.resource_owner_id,
        "scopes": access.grant.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "expires_in_seconds": access.expires_at - now,
        "application": { "uid": access.grant.client_id },
        "created_at": access.created_at,
    });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// `POST /oauth/revoke`: forgets the token; always 200 (RFC 7009), whatever was sent.
async fn revoke(
    State(state): State<AppState>,
    url: RequestUrl,
    body: Result<RequestBody, ApiError>,
) -> Response {
    let params = OAuthParams {
        body: body.unwrap_or_default(),
        url,
    };
    if let Some(token) = params.get("token") {
        state.store().oauth.revoke(&token);
    }
    (StatusCode::OK, axum::Json(json!({}))).into_response()
}
