//! The mock's control plane (`/__admin`) as the harness uses it: reset, clock, rate limits,
//! faults, state and the request journal. One client for every command; it sends the admin
//! token of a mock started with `--admin-token`.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::ClientError;
use crate::error::{HarnessError, Result};

/// A running mock's `/__admin` API.
#[derive(Clone, Debug)]
pub struct AdminApi {
    /// The mock's base URL (no trailing slash).
    base: String,
    /// Sent as `Authorization: Bearer` when the mock is guarded.
    token: Option<String>,
    /// Keeps no idle connections: the same API is used from more than one tokio runtime.
    http: reqwest::Client,
}

/// One journal entry as `GET /__admin/requests` answers it (the fields the harness reads).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct JournalEntry {
    /// Sequence number, increasing for the mock's life.
    pub id: u64,
    /// Arrival on the mock clock, RFC 3339.
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// The OAuth client of a valid bearer token.
    pub client_id: Option<String>,
    /// Status answered.
    pub status: u16,
    /// Request headers (credentials redacted by the mock).
    pub request_headers: std::collections::BTreeMap<String, String>,
    /// The headers answered (rate limits, `Total`, `Per-Page`, `Link`...).
    pub response_headers: std::collections::BTreeMap<String, String>,
    /// The body answered, as text (cut by the mock past its limit); absent from mocks that do
    /// not keep answers.
    pub response_body: Option<String>,
}

impl JournalEntry {
    /// Arrival time in epoch milliseconds, if the time is readable.
    pub fn at_ms(&self) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// A response header (case-insensitive) as a number.
    pub fn response_number(&self, name: &str) -> Option<i64> {
        self.response_headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| value.trim().parse().ok())
    }
}

/// Which part of the journal to read. Filtered here, so the harness works with mocks whose
/// `GET /__admin/requests` filters only by method and path.
#[derive(Clone, Debug, Default)]
pub struct JournalFilter {
    /// Only requests of this OAuth client.
    pub client_id: Option<String>,
    /// Only requests at or after this point.
    pub since: Option<Since>,
}

/// A point in the journal: a time on the mock clock or a journal id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Since {
    /// Entries at or after this time (epoch ms).
    Time(i64),
    /// Entries with this id or later.
    Id(u64),
}

impl std::str::FromStr for Since {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(id) = text.parse::<u64>() {
            return Ok(Since::Id(id));
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Since::Time(t.timestamp_millis()))
            .map_err(|_| {
                format!(
                    "`{text}` is neither a journal id nor an RFC 3339 time (2030-01-01T09:00:00Z)"
                )
            })
    }
}

impl JournalFilter {
    /// Whether `entry` is in the selection.
    pub fn admits(&self, entry: &JournalEntry) -> bool {
        let client = self
            .client_id
            .as_deref()
            .is_none_or(|wanted| entry.client_id.as_deref() == Some(wanted));
        let recent = match self.since {
            None => true,
            Some(Since::Id(id)) => entry.id >= id,
            Some(Since::Time(ms)) => entry.at_ms().is_some_and(|at| at >= ms),
        };
        client && recent
    }
}

impl AdminApi {
    /// The admin API of the mock at `base`, with `token` when it is guarded.
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_default(),
        }
    }

    /// The `Authorization` header an `/__admin` call needs, if the mock is guarded.
    pub fn header(&self) -> Option<(String, String)> {
        self.token
            .as_ref()
            .map(|token| ("Authorization".to_owned(), format!("Bearer {token}")))
    }

    /// Sends `METHOD /__admin{path}` and answers status and JSON body (whatever the status).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let url = format!("{}/__admin{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                request: format!("{method} {url}"),
                source,
            })?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Like [`AdminApi::send`], but a non-2xx answer is an error naming the call.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let (status, answer) = self.send(method.clone(), path, body).await?;
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(HarnessError::Answered {
                request: format!("{method} /__admin{path}"),
                status,
                body: answer,
            })
        }
    }

    /// `POST /__admin/reset`: state, fault rules, journal and limits back to the start.
    pub async fn reset(&self) -> Result<()> {
        self.call(Method::POST, "/reset", None).await.map(drop)
    }

    /// `POST /__admin/clock/advance`.
    pub async fn advance_clock(&self, seconds: f64) -> Result<()> {
        let body = serde_json::json!({ "seconds": seconds });
        self.call(Method::POST, "/clock/advance", Some(&body))
            .await
            .map(drop)
    }

    /// `POST /__admin/webhooks/flush`: delivers every webhook event due now and answers once
    /// the receivers have been called, with what is still waiting.
    pub async fn flush_webhooks(&self) -> Result<Value> {
        self.call(Method::POST, "/webhooks/flush", None).await
    }

    /// `POST /__admin/faults`: adds a fault rule.
    pub async fn add_fault(&self, rule: &Value) -> Result<Value> {
        self.call(Method::POST, "/faults", Some(rule)).await
    }

    /// The mock's own OpenAPI document (`GET /openapi.json`, beside `/__admin`): every
    /// operation it serves, as coverage reads them.
    pub async fn openapi(&self) -> Result<Value> {
        let url = format!("{}/openapi.json", self.base);
        let transport = |source| ClientError::Transport {
            request: format!("GET {url}"),
            source,
        };
        let response = self.http.get(&url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        if status == 200 {
            Ok(body)
        } else {
            Err(HarnessError::Answered {
                request: "GET /openapi.json".to_owned(),
                status,
                body,
            })
        }
    }

    /// The journal entries `filter` selects, oldest first.
    pub async fn journal(&self, filter: &JournalFilter) -> Result<Vec<JournalEntry>> {
        let answer = self.call(Method::GET, "/requests", None).await?;
        let entries: Vec<JournalEntry> =
            serde_json::from_value(answer).map_err(|e| HarnessError::Answered {
                request: "GET /__admin/requests".to_owned(),
                status: 200,
                body: Value::String(format!("not a journal: {e}")),
            })?;
        let mut selected: Vec<JournalEntry> =
            entries.into_iter().filter(|e| filter.admits(e)).collect();
        selected.sort_by_key(|e| e.id);
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_a_journal_id_or_a_time() {
        assert_eq!("42".parse(), Ok(Since::Id(42)));
        assert_eq!(
            "2030-01-01T00:00:01Z".parse(),
            Ok(Since::Time(1_893_456_001_000))
        );
        assert!("yesterday".parse::<Since>().is_err());
    }

    #[test]
    fn the_filter_selects_by_client_and_start() {
        let entry = |id, client: &str, time: &str| JournalEntry {
            id,
            client_id: Some(client.to_owned()),
            time: time.to_owned(),
            ..JournalEntry::default()
        };
        let filter = JournalFilter {
            client_id: Some("hr-sync".to_owned()),
            since: Some(Since::Time(1_893_456_001_000)),
        };
        assert!(filter.admits(&entry(1, "hr-sync", "2030-01-01T00:00:01Z")));
        assert!(!filter.admits(&entry(2, "hr-sync", "2030-01-01T00:00:00.999Z")));
        assert!(!filter.admits(&entry(3, "other", "2030-01-01T00:00:02Z")));
        let by_id = JournalFilter {
            since: Some(Since::Id(5)),
            ..JournalFilter::default()
        };
        assert!(!by_id.admits(&entry(4, "a", "")));
        assert!(by_id.admits(&entry(5, "a", "")));
    }
}
