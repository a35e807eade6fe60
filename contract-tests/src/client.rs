//! A typed Procore client: OAuth client credentials, the `Procore-Company-Id` header,
//! pagination that follows `Link`, and rate-limit handling that honours `Retry-After` and
//! `X-Rate-Limit-Reset` with bounded retries. Written to be copied into integrations.
//!
//! A non-2xx answer is data ([`ApiResponse`] with its status), never a panic or an error: only
//! transport failures and refused credentials are [`ClientError`]s. The module depends on
//! reqwest, serde_json, tokio and chrono only, so it can be copied on its own.

use std::time::Duration;

use reqwest::header::{HeaderMap, LINK};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Mutex;

/// Where and as whom the client talks.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// API base URL, e.g. `https://sandbox.procore.com` (no trailing slash).
    pub api_base: String,
    /// OAuth base URL (the same as `api_base` on the mock).
    pub login_base: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Company sent as `Procore-Company-Id`.
    pub company_id: Option<u64>,
    /// How many times a 429 is retried before it is returned.
    pub max_retries: u32,
}

/// A transport failure: the request got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, sending or reading failed.
    #[error("{request}: {source}")]
    Transport {
        /// `METHOD url`.
        request: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint answered without a token.
    #[error("authentication as client `{client_id}` failed ({status}): {body}")]
    Authentication {
        /// The client id that was tried (the first thing to check when a mock runs your own
        /// fixture).
        client_id: String,
        /// Status of the token response.
        status: u16,
        /// Its body.
        body: Value,
    },
}

/// An HTTP answer of any status.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as JSON; a non-JSON body is a JSON string; an empty one is `null`.
    pub body: Value,
}

impl ApiResponse {
    /// The URL of the `Link` entry with `rel`, if any.
    pub fn link(&self, rel: &str) -> Option<String> {
        link(&self.headers, rel)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The URL of the `rel` entry of a `Link` header.
pub fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let value = headers.get(LINK)?.to_str().ok()?;
    value.split(',').find_map(|entry| {
        let (url, params) = entry.trim().split_once(';')?;
        let wanted = format!("rel=\"{rel}\"");
        params.split(';').any(|p| p.trim() == wanted).then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// What a response said about rate limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, seconds.
    pub retry_after: Option<u64>,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-Rate-Limit-Reset`, epoch seconds.
    pub reset: Option<i64>,
}

impl RateHeaders {
    /// Reads the headers of a response.
    pub fn from_response(status: u16, headers: &HeaderMap) -> Self {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        Self {
            status,
            retry_after: number("retry-after").and_then(|v| u64::try_from(v).ok()),
            remaining: number("x-rate-limit-remaining").and_then(|v| u64::try_from(v).ok()),
            reset: number("x-rate-limit-reset"),
        }
    }

    /// How long a 429 asks to wait, at `now_ms` (epoch ms): `Retry-After`, else until
    /// `X-Rate-Limit-Reset`, else one second.
    pub fn wait_ms(&self, now_ms: i64) -> u64 {
        self.retry_after
            .map(|seconds| seconds * 1000)
            .or_else(|| {
                self.reset
                    .map(|reset| u64::try_from(reset * 1000 - now_ms).unwrap_or(0))
            })
            .unwrap_or(1000)
    }
}

/// A request body.
#[derive(Clone, Debug, Default)]
pub enum RequestBody {
    /// No body.
    #[default]
    Empty,
    /// `application/json`.
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// `multipart/form-data` text parts, and file parts as (name, file name, content type, bytes).
    Multipart(
        Vec<(String, String)>,
        Vec<(String, String, String, Vec<u8>)>,
    ),
    /// Bytes sent as they are (the caller sets `Content-Type`).
    Raw(Vec<u8>),
}

/// The client. Cheap to share behind an `Arc`; the token is refreshed when it expires.
#[derive(Debug)]
pub struct ProcoreClient {
    http: reqwest::Client,
    config: ClientConfig,
    token: Mutex<Option<String>>,
}

impl ProcoreClient {
    /// A client for `config` (no request is made yet).
    pub fn new(config: ClientConfig) -> Self {
        // Redirects are answers to look at (OAuth hands codes out in them), not to follow.
        // No idle connections are kept: the harness drives the same target from more than one
        // tokio runtime (lifecycles are synchronous), and a pooled connection dies with the
        // runtime that opened it.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_default();
        Self {
            http,
            config,
            token: Mutex::new(None),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The underlying HTTP client, for calls outside the API (admin endpoints).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A fresh client-credentials token (also kept for later calls).
    pub async fn authenticate(&self) -> Result<String, ClientError> {
        let url = format!("{}/oauth/token", self.config.login_base);
        let transport = |source| ClientError::Transport {
            request: format!("POST {url}"),
            source,
        };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.as_str()),
        ];
        let response = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let token = body["access_token"]
            .as_str()
            .ok_or(ClientError::Authentication {
                client_id: self.config.client_id.clone(),
                status,
                body: body.clone(),
            })?
            .to_owned();
        *self.token.lock().await = Some(token.clone());
        Ok(token)
    }

    async fn token(&self) -> Result<String, ClientError> {
        let current = self.token.lock().await.clone();
        match current {
            Some(token) => Ok(token),
            None => self.authenticate().await,
        }
    }

    /// Sends a request to `path` (absolute URLs are used as they are, as `Link` gives them),
    /// with the bearer token and company header. A 401 re-authenticates once; a 429 waits as
    /// the rate-limit headers say and retries, up to `max_retries` times.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: &RequestBody,
    ) -> Result<ApiResponse, ClientError> {
        let url = self.url(path);
        let mut retries = 0;
        let mut reauthenticated = false;
        loop {
            let token = self.token().await?;
            let response = self
                .send(&method, &url, headers, body, Some(&token))
                .await?;
            if response.status == 401 && !reauthenticated {
                reauthenticated = true;
                self.authenticate().await?;
                continue;
            }
            if response.status == 429 && retries < self.config.max_retries {
                retries += 1;
                let headers = RateHeaders::from_response(429, &response.headers);
                let now_ms = chrono::Utc::now().timestamp_millis();
                tokio::time::sleep(Duration::from_millis(headers.wait_ms(now_ms))).await;
                continue;
            }
            return Ok(response);
        }
    }

    /// Sends a request with no credentials at all (OAuth endpoints, or proving a 401).
    pub async fn request_without_token(
        &self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: &RequestBody,
    ) -> Result<ApiResponse, ClientError> {
        self.send(&method, &self.url(path), headers, body, None)
            .await
    }

    /// `path` below the API base; absolute URLs (as `Link` gives them) are used as they are.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.config.api_base)
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &[(String, String)],
        body: &RequestBody,
        token: Option<&str>,
    ) -> Result<ApiResponse, ClientError> {
        let transport = |source| ClientError::Transport {
            request: format!("{method} {url}"),
            source,
        };
        let mut request = self.http.request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
            if let Some(company) = self.config.company_id {
                request = request.header("Procore-Company-Id", company.to_string());
            }
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = match body {
            RequestBody::Empty => request,
            RequestBody::Json(value) => request.json(value),
            RequestBody::Form(pairs) => request.form(pairs),
            RequestBody::Multipart(texts, files) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in texts {
                    form = form.text(name.clone(), value.clone());
                }
                for (name, file_name, content_type, bytes) in files {
                    let part = reqwest::multipart::Part::bytes(bytes.clone())
                        .file_name(file_name.clone())
                        .mime_str(content_type)
                        .map_err(transport)?;
                    form = form.part(name.clone(), part);
                }
                request.multipart(form)
            }
            RequestBody::Raw(bytes) => request.body(bytes.clone()),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(transport)?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    /// GETs every page of a list by following `Link` rel="next" until a page has no next.
    pub async fn get_all(
        &self,
        path: &str,
    ) -> Result<Result<Vec<Value>, ApiResponse>, ClientError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        while let Some(url) = next {
            let response = self
                .request(Method::GET, &url, &[], &RequestBody::Empty)
                .await?;
            if response.status != 200 {
                return Ok(Err(response));
            }
            next = response.link("next");
            match response.body {
                Value::Array(page) if !page.is_empty() => items.extend(page),
                _ => break,
            }
        }
        Ok(Ok(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_entries_are_found_by_rel() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            "<http://h/x?page=1>; rel=\"first\", <http://h/x?page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(link(&headers, "next").as_deref(), Some("http://h/x?page=3"));
        assert_eq!(link(&headers, "prev"), None);
    }
}
