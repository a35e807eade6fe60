//! A typed Procore client: OAuth, the `Procore-Company-Id` header, `Link` pagination and
//! polite 429 handling. Written to be copied into an integration.
//!
//! A non-2xx answer is data ([`ApiResponse`] with its status, headers and body), never a panic
//! or an error: only transport failures are [`ClientError`]s. Throttled requests (429, and 503
//! with `Retry-After`) are retried a bounded number of times after the wait the answer asks
//! for, decided by the same rule the rate-limit rehearsal uses ([`Pacing::Polite`]).
//!
//! ```no_run
//! use procore_contract::client::{ApiRequest, ClientError, Credentials, ProcoreClient};
//!
//! async fn active_directory() -> Result<(), ClientError> {
//!     let mut client = ProcoreClient::new(Credentials {
//!         api_base: "http://127.0.0.1:4010".into(),
//!         login_base: "http://127.0.0.1:4010".into(),
//!         client_id: "procore-mock-client".into(),
//!         client_secret: "procore-mock-secret".into(),
//!     })
//!     .with_company(8001);
//!     client.client_credentials().await?;
//!     let users = client.company_users(8001, &[("filters[search]", "doe")]).await?;
//!     let answer = client.send(&ApiRequest::new(reqwest::Method::GET, "/rest/v1.0/me")).await?;
//!     println!("{} users; /me answered {}", users.len(), answer.status);
//!     Ok(())
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, LINK};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::rehearsal::pacing::{Pacing, RateHeaders};

/// The header naming the company a request acts in.
pub const COMPANY_HEADER: &str = "Procore-Company-Id";

/// Where a client talks to and as which OAuth application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// REST base URL, e.g. `https://sandbox.procore.com` (no trailing slash).
    pub api_base: String,
    /// OAuth base URL, e.g. `https://login-sandbox.procore.com` (the mock serves both on one).
    pub login_base: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
}

/// A token response (`POST /oauth/token`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// Present for user grants (authorization code, refresh); single-use, rotates on refresh.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Issue time, epoch seconds.
    pub created_at: i64,
}

/// A company the app can see.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Company {
    /// Company id (may exceed 32 bits).
    pub id: u64,
    /// Display name.
    pub name: String,
}

/// A project of a company.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Project {
    /// Project id.
    pub id: u64,
    /// Display name.
    pub name: String,
}

/// The fields of a company or project user an integration usually reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Email address, the key integrations match people by.
    #[serde(default)]
    pub email_address: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Whether the user can log in (absent on some project-user views).
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// How many times and how long a throttled request is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 hands every 429 straight back.
    pub max_retries: u32,
    /// The longest single wait; a server asking for more is answered with its 429 instead.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// No retries: every answer, 429 included, is returned as it came (what a contract test
    /// wants to see).
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        max_wait: Duration::ZERO,
    };
}

impl Default for RetryPolicy {
    /// Three retries, waiting at most a minute each: enough for a spike window (10 s) to
    /// admit again, short enough that an hourly limit fails fast instead of hanging a job.
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// A boxed future, so waiting can be swapped without making the client generic.
pub type WaitFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the client waits before a retry: real sleep by default; tests and rehearsals advance a
/// mock's clock instead, so nothing ever sleeps to pass time.
pub type Wait = Arc<dyn Fn(Duration) -> WaitFuture + Send + Sync>;

/// What can go wrong below HTTP: the server was never heard from, or spoke something unreadable.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connection, TLS or timeout failure.
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL called.
        url: String,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer whose body was not the expected JSON.
    #[error("{what}: {message}")]
    Decode {
        /// Which call.
        what: String,
        /// Why it could not be read.
        message: String,
    },
    /// An answer the call cannot continue from (e.g. a failed token request), kept whole.
    #[error("{what} answered {}: {}", .response.status, .response.text())]
    Refused {
        /// Which call.
        what: String,
        /// The answer.
        response: Box<ApiResponse>,
    },
}

/// One request, in terms of the API rather than of reqwest.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// A path below the base URL (`/rest/v1.0/...`) or an absolute URL (a followed `Link`).
    pub path: String,
    /// Query parameters, in order, sent as given (brackets included).
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// Send the bearer token (off for OAuth endpoints and deliberate 401 probes).
    pub authenticated: bool,
    /// Send `Procore-Company-Id` with the client's company, when it has one.
    pub with_company: bool,
    /// Send to the OAuth base URL instead of the API base URL.
    pub login: bool,
}

/// A request body in one of the encodings Procore clients use.
#[derive(Clone, Debug, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/json`.
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// Bytes as given (set `Content-Type` yourself): for probing malformed input.
    Raw(Vec<u8>),
    /// `multipart/form-data`: text fields and files.
    Multipart {
        /// Text parts.
        fields: Vec<(String, String)>,
        /// File parts.
        files: Vec<FilePart>,
    },
}

/// One file of a multipart body.
#[derive(Clone, Debug)]
pub struct FilePart {
    /// Part name, e.g. `user[avatar]`.
    pub name: String,
    /// File name sent.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

impl ApiRequest {
    /// An authenticated request in the client's company.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            authenticated: true,
            with_company: true,
            login: false,
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
}

/// An answer: status, headers and body, whatever the status.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
    /// Retries spent on throttling before this answer.
    pub retries: u32,
}

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body as JSON; `None` when empty or not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (lossy), for reports.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The URL of the `Link` entry with `rel` (e.g. `next`), as the server wrote it.
    pub fn link(&self, rel: &str) -> Option<String> {
        self.headers
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|value| link_target(value, rel))
    }

    /// The body decoded as `T`, or a [`ClientError`] naming `what` (non-2xx: `Refused`).
    pub fn decode<T: DeserializeOwned>(self, what: &str) -> Result<T, ClientError> {
        if !self.is_success() {
            return Err(ClientError::Refused {
                what: what.to_owned(),
                response: Box::new(self),
            });
        }
        serde_json::from_slice(&self.body).map_err(|err| ClientError::Decode {
            what: what.to_owned(),
            message: err.to_string(),
        })
    }
}

/// Finds `<url>; rel="rel"` in one `Link` header value (entries joined by `, `).
pub fn link_target(header: &str, rel: &str) -> Option<String> {
    header.split(',').find_map(|entry| {
        let (url, params) = entry.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .any(|value| value.trim_matches('"') == rel)
            .then(|| url.to_owned())
    })
}

/// A Procore API client for one OAuth application and (optionally) one company.
#[derive(Clone)]
pub struct ProcoreClient {
    http: reqwest::Client,
    credentials: Credentials,
    token: Option<Token>,
    company_id: Option<u64>,
    retry: RetryPolicy,
    wait: Wait,
}

impl std::fmt::Debug for ProcoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcoreClient")
            .field("api_base", &self.credentials.api_base)
            .field("client_id", &self.credentials.client_id)
            .field("company_id", &self.company_id)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ProcoreClient {
    /// A client without a token yet; call [`Self::client_credentials`] or set one.
    pub fn new(credentials: Credentials) -> Self {
        let http = reqwest::Client::builder()
            // Redirects are answers too: the authorize endpoint's `Location` carries the code.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Self {
            http,
            credentials,
            token: None,
            company_id: None,
            retry: RetryPolicy::default(),
            wait: Arc::new(|duration| Box::pin(tokio::time::sleep(duration))),
        }
    }

    /// Acts in `company_id` (sent as `Procore-Company-Id`).
    pub fn with_company(mut self, company_id: u64) -> Self {
        self.company_id = Some(company_id);
        self
    }

    /// Uses `policy` for throttled requests.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Waits with `wait` instead of sleeping (e.g. by advancing a mock's clock).
    pub fn with_wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Uses an already issued token.
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// The credentials the client was made with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Client-credentials grant: a token for the app's service account (no refresh token).
    pub async fn client_credentials(&mut self) -> Result<&Token, ClientError> {
        self.token_grant(vec![("grant_type", "client_credentials".to_owned())])
            .await
    }

    /// Authorization-code grant: exchanges a code from `/oauth/authorize`.
    pub async fn authorization_code(
        &mut self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<&Token, ClientError> {
        self.token_grant(vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
        ])
        .await
    }

    /// Refresh grant: the refresh token is single-use, so the new one replaces it.
    pub async fn refresh(&mut self) -> Result<&Token, ClientError> {
        let refresh = self
            .token
            .as_ref()
            .and_then(|t| t.refresh_token.clone())
            .ok_or_else(|| ClientError::Decode {
                what: "refresh".to_owned(),
                message: "the current token has no refresh token".to_owned(),
            })?;
        self.token_grant(vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh),
        ])
        .await
    }

    async fn token_grant(
        &mut self,
        mut params: Vec<(&'static str, String)>,
    ) -> Result<&Token, ClientError> {
        params.push(("client_id", self.credentials.client_id.clone()));
        params.push(("client_secret", self.credentials.client_secret.clone()));
        let request = ApiRequest {
            body: Body::Form(params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            authenticated: false,
            with_company: false,
            login: true,
            ..ApiRequest::new(Method::POST, "/oauth/token")
        };
        let token: Token = self.send(&request).await?.decode("POST /oauth/token")?;
        Ok(self.token.insert(token))
    }

    /// Sends one request; throttled answers are retried as the [`RetryPolicy`] allows.
    pub async fn send(&self, request: &ApiRequest) -> Result<ApiResponse, ClientError> {
        let mut pacing = Pacing::polite(0, 0);
        let mut retries = 0;
        loop {
            let mut response = self.send_once(request).await?;
            response.retries = retries;
            let throttled = response.status == StatusCode::TOO_MANY_REQUESTS
                || (response.status == StatusCode::SERVICE_UNAVAILABLE
                    && response.headers.contains_key("retry-after"));
            if !throttled || retries >= self.retry.max_retries {
                return Ok(response);
            }
            let headers = RateHeaders::from_response(response.status.as_u16(), &response.headers);
            let wait = Duration::from_millis(pacing.delay_ms(&headers, server_now_ms(&response)));
            if wait > self.retry.max_wait {
                return Ok(response);
            }
            (self.wait)(wait).await;
            retries += 1;
        }
    }

    async fn send_once(&self, request: &ApiRequest) -> Result<ApiResponse, ClientError> {
        let url = self.url_of(request);
        let mut builder = self.http.request(request.method.clone(), &url);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if request.authenticated {
            if let Some(token) = &self.token {
                builder = builder.bearer_auth(&token.access_token);
            }
        }
        if request.with_company {
            if let Some(company_id) = self.company_id {
                builder = builder.header(COMPANY_HEADER, company_id.to_string());
            }
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(value),
            Body::Form(pairs) => builder.form(pairs),
            Body::Raw(bytes) => builder.body(bytes.clone()),
            Body::Multipart { fields, files } => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in fields {
                    form = form.text(name.clone(), value.clone());
                }
                for file in files {
                    let part = reqwest::multipart::Part::bytes(file.content.clone())
                        .file_name(file.filename.clone())
                        .mime_str(&file.content_type)
                        .map_err(|source| ClientError::Transport {
                            url: url.clone(),
                            source,
                        })?;
                    form = form.part(file.name.clone(), part);
                }
                builder.multipart(form)
            }
        };
        let transport = |source| ClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?.to_vec();
        Ok(ApiResponse {
            status,
            headers,
            body,
            retries: 0,
        })
    }

    /// The absolute URL a request goes to.
    pub fn url_of(&self, request: &ApiRequest) -> String {
        if request.path.starts_with("http://") || request.path.starts_with("https://") {
            return request.path.clone();
        }
        let base = if request.login {
            &self.credentials.login_base
        } else {
            &self.credentials.api_base
        };
        format!("{base}{}", request.path)
    }

    /// Every item of a paginated list: follows `Link` rel=`next` until there is none, at most
    /// `max_pages` pages (a guard against a server that links in circles).
    pub async fn all_pages(
        &self,
        first: ApiRequest,
        max_pages: usize,
    ) -> Result<Vec<Value>, ClientError> {
        let mut items = Vec::new();
        let mut request = first;
        for _ in 0..max_pages {
            let what = format!("{} {}", request.method, request.path);
            let response = self.send(&request).await?;
            let next = response.link("next");
            let page: Vec<Value> = response.decode(&what)?;
            if page.is_empty() {
                break;
            }
            items.extend(page);
            match next {
                Some(url) => {
                    request = ApiRequest {
                        path: url,
                        query: Vec::new(),
                        ..request
                    }
                }
                None => break,
            }
        }
        Ok(items)
    }

    /// `GET /rest/v1.0/companies`: the companies the app is installed in.
    pub async fn companies(&self) -> Result<Vec<Company>, ClientError> {
        let request = ApiRequest {
            with_company: false,
            ..ApiRequest::new(Method::GET, "/rest/v1.0/companies")
        };
        decode_all(self.all_pages(request, 100).await?, "companies")
    }

    /// `GET /rest/v1.0/projects?company_id=N`.
    pub async fn projects(&self, company_id: u64) -> Result<Vec<Project>, ClientError> {
        let request = ApiRequest::new(Method::GET, "/rest/v1.0/projects")
            .query("company_id", company_id.to_string());
        decode_all(self.all_pages(request, 100).await?, "projects")
    }

    /// `GET /rest/v1.0/companies/{id}/users`: the active directory, every page.
    pub async fn company_users(
        &self,
        company_id: u64,
        filters: &[(&str, &str)],
    ) -> Result<Vec<User>, ClientError> {
        let mut request = ApiRequest::new(
            Method::GET,
            format!("/rest/v1.0/companies/{company_id}/users"),
        );
        for (name, value) in filters {
            request = request.query(*name, *value);
        }
        decode_all(self.all_pages(request, 10_000).await?, "company users")
    }

    /// `POST /rest/v1.0/companies/{id}/users` with the fields nested under `user`.
    pub async fn create_company_user(
        &self,
        company_id: u64,
        fields: Map<String, Value>,
    ) -> Result<ApiResponse, ClientError> {
        let request = ApiRequest::new(
            Method::POST,
            format!("/rest/v1.0/companies/{company_id}/users"),
        )
        .json(serde_json::json!({ "user": fields }));
        self.send(&request).await
    }

    /// `PATCH /rest/v1.0/companies/{id}/users/{user_id}`: only the given fields change.
    pub async fn update_company_user(
        &self,
        company_id: u64,
        user_id: u64,
        fields: Map<String, Value>,
    ) -> Result<ApiResponse, ClientError> {
        let request = ApiRequest::new(
            Method::PATCH,
            format!("/rest/v1.0/companies/{company_id}/users/{user_id}"),
        )
        .json(serde_json::json!({ "user": fields }));
        self.send(&request).await
    }

    /// `POST .../projects/{id}/users/{user_id}/actions/add` with an optional template.
    pub async fn add_to_project(
        &self,
        project_id: u64,
        user_id: u64,
        permission_template_id: Option<u64>,
    ) -> Result<ApiResponse, ClientError> {
        let mut request = ApiRequest::new(
            Method::POST,
            format!("/rest/v1.0/projects/{project_id}/users/{user_id}/actions/add"),
        );
        if let Some(template) = permission_template_id {
            request =
                request.json(serde_json::json!({ "user": { "permission_template_id": template } }));
        }
        self.send(&request).await
    }

    /// `DELETE .../projects/{id}/users/{user_id}/actions/remove` (204 on success).
    pub async fn remove_from_project(
        &self,
        project_id: u64,
        user_id: u64,
    ) -> Result<ApiResponse, ClientError> {
        let request = ApiRequest::new(
            Method::DELETE,
            format!("/rest/v1.0/projects/{project_id}/users/{user_id}/actions/remove"),
        );
        self.send(&request).await
    }

    /// `GET /rest/v1.0/projects/{id}/users`: every member, every page.
    pub async fn project_users(&self, project_id: u64) -> Result<Vec<User>, ClientError> {
        let request = ApiRequest::new(
            Method::GET,
            format!("/rest/v1.0/projects/{project_id}/users"),
        );
        decode_all(self.all_pages(request, 10_000).await?, "project users")
    }
}

fn decode_all<T: DeserializeOwned>(items: Vec<Value>, what: &str) -> Result<Vec<T>, ClientError> {
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(item).map_err(|err| ClientError::Decode {
                what: what.to_owned(),
                message: err.to_string(),
            })
        })
        .collect()
}

/// The server's time from its `Date` header, else the local clock: `X-Rate-Limit-Reset` is on
/// the server's clock (a mock's may be far from ours), so the wait is measured on it too.
fn server_now_ms(response: &ApiResponse) -> i64 {
    let from_date = response
        .header("date")
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.timestamp_millis());
    from_date.unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_target_finds_each_rel() {
        let header = "<http://h/x?page=1>; rel=\"first\", <http://h/x?page=3>; rel=\"next\"";
        assert_eq!(
            link_target(header, "next").as_deref(),
            Some("http://h/x?page=3")
        );
        assert_eq!(
            link_target(header, "first").as_deref(),
            Some("http://h/x?page=1")
        );
        assert_eq!(link_target(header, "last"), None);
    }
}
