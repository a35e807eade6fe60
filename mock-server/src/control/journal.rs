//! The request journal: what clients sent and what they were answered, for tests to inspect.
//!
//! A fixed ring of slots: each request takes the next sequence number from an atomic counter
//! and puts its record into slot `number % capacity` under that slot's own tiny lock, so
//! requests only meet when they land on the same slot, and memory is bounded by the capacity.
//! Records keep the request's own (reference-counted) parts; turning them into readable JSON,
//! with credentials redacted, happens only when someone reads the journal, not on the request
//! path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue, Method, Uri};
use bytes::Bytes;
use chrono::{SecondsFormat, TimeZone, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use crate::store::oauth::AccessToken;

/// Request bodies are kept up to this many bytes.
pub const BODY_LIMIT: usize = 4096;

/// The response headers an audit of rate-limit manners needs.
pub const RATE_HEADERS: [&str; 4] = [
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "retry-after",
];

/// Parameters whose values are credentials, hidden when bodies are shown.
const SECRET_PARAMETERS: [&str; 5] = [
    "client_secret",
    "refresh_token",
    "code",
    "token",
    "access_token",
];

/// One request and its answer, as recorded on the request path.
#[derive(Clone, Debug)]
pub struct JournalRecord {
    /// Arrival time, epoch milliseconds on the mock clock.
    pub at_ms: i64,
    /// HTTP method.
    pub method: Method,
    /// Path and query.
    pub uri: Uri,
    /// The bearer token's record (its client id), when the token was valid.
    pub token: Option<Arc<AccessToken>>,
    /// Status answered.
    pub status: u16,
    /// Time spent answering, microseconds (real time).
    pub duration_us: u64,
    /// Request headers as sent (redacted when read). A flat list: one allocation, where a
    /// copy of the header map takes three.
    pub request_headers: Vec<(HeaderName, HeaderValue)>,
    /// The first [`BODY_LIMIT`] bytes of the body.
    pub body: Bytes,
    /// Whether the body was longer.
    pub body_truncated: bool,
    /// The [`RATE_HEADERS`] answered, in that order.
    pub rate_headers: [Option<HeaderValue>; 4],
}

/// A journal entry as `GET /__admin/requests` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    /// Sequence number, increasing for the server's life.
    pub id: u64,
    /// Arrival time on the mock clock (RFC 3339, milliseconds).
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// The OAuth client of the bearer token, when it was valid.
    pub client_id: Option<String>,
    /// Status answered.
    pub status: u16,
    /// Time spent answering, milliseconds (real time).
    pub duration_ms: f64,
    /// Request headers; `Authorization` is redacted.
    pub request_headers: BTreeMap<String, String>,
    /// Request body as text (OAuth secrets redacted), cut at [`BODY_LIMIT`] bytes.
    pub body: Option<String>,
    /// Whether `body` was cut.
    pub body_truncated: bool,
    /// The rate-limit headers (`X-Rate-Limit-*`, `Retry-After`) answered.
    pub response_headers: BTreeMap<String, String>,
}

impl JournalRecord {
    fn entry(&self, id: u64) -> JournalEntry {
        let time = Utc
            .timestamp_millis_opt(self.at_ms)
            .single()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default();
        JournalEntry {
            id,
            time,
            method: self.method.to_string(),
            path: self.uri.path().to_owned(),
            query: self.uri.query().map(str::to_owned),
            client_id: self.token.as_ref().map(|t| t.grant.client_id.clone()),
            status: self.status,
            duration_ms: self.duration_us as f64 / 1000.0,
            request_headers: redacted_headers(&self.request_headers),
            body: (!self.body.is_empty()).then(|| redacted_body(&self.body)),
            body_truncated: self.body_truncated,
            response_headers: RATE_HEADERS
                .iter()
                .zip(&self.rate_headers)
                .filter_map(|(name, value)| {
                    Some((
                        (*name).to_owned(),
                        value.as_ref()?.to_str().ok()?.to_owned(),
                    ))
                })
                .collect(),
        }
    }
}

/// Request headers for reading, with credentials hidden.
fn redacted_headers(headers: &[(HeaderName, HeaderValue)]) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == header::AUTHORIZATION {
                let scheme = value.to_str().unwrap_or("").split(' ').next().unwrap_or("");
                format!("{scheme} [redacted]")
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// A request body for reading, with OAuth secrets hidden in form and JSON bodies.
fn redacted_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(&text) {
        for name in SECRET_PARAMETERS {
            if let Some(value) = fields.get_mut(name) {
                *value = serde_json::Value::String("[redacted]".to_owned());
            }
        }
        return serde_json::Value::Object(fields).to_string();
    }
    if text.contains('=') && !text.contains('\n') {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(text.as_bytes()) {
            let secret = SECRET_PARAMETERS.contains(&key.as_ref());
            form.append_pair(&key, if secret { "[redacted]" } else { &value });
        }
        return form.finish();
    }
    text.into_owned()
}

/// One place in the ring: the record's id and the record, once written.
type Slot = Mutex<Option<(u64, JournalRecord)>>;

/// A bounded ring of the most recent records.
#[derive(Debug)]
pub struct Journal {
    slots: Box<[Slot]>,
    next: AtomicU64,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity).map(|_| Mutex::new(None)).collect(),
            next: AtomicU64::new(1),
        }
    }

    /// Whether records are kept at all.
    pub fn is_enabled(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Records a request with the next id.
    pub fn record(&self, record: JournalRecord) {
        if self.slots.is_empty() {
            return;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = (id % self.slots.len() as u64) as usize;
        // The record it replaces is dropped after the lock is released.
        let _replaced = self.slots[slot].lock().replace((id, record));
    }

    /// Entries oldest first, filtered by method and path, the most recent `limit` of them.
    pub fn entries(
        &self,
        method: Option<&str>,
        path: Option<&str>,
        limit: Option<usize>,
    ) -> Vec<JournalEntry> {
        let mut records: Vec<(u64, JournalRecord)> = self
            .slots
            .iter()
            .filter_map(|slot| slot.lock().clone())
            .filter(|r| method.is_none_or(|m| r.1.method.as_str().eq_ignore_ascii_case(m)))
            .filter(|r| path.is_none_or(|p| r.1.uri.path() == p))
            .collect();
        records.sort_by_key(|r| r.0);
        let skip = limit.map_or(0, |limit| records.len().saturating_sub(limit));
        records[skip..].iter().map(|r| r.1.entry(r.0)).collect()
    }

    /// Forgets every record.
    pub fn clear(&self) {
        for slot in self.slots.iter() {
            let _forgotten = slot.lock().take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str) -> JournalRecord {
        JournalRecord {
            at_ms: 0,
            method: Method::GET,
            uri: path.parse().unwrap(),
            token: None,
            status: 200,
            duration_us: 0,
            request_headers: Vec::new(),
            body: Bytes::new(),
            body_truncated: false,
            rate_headers: Default::default(),
        }
    }

    #[test]
    fn the_ring_keeps_only_the_most_recent_entries_in_order() {
        let journal = Journal::new(3);
        for i in 0..10 {
            journal.record(record(&format!("/{i}")));
        }
        let paths: Vec<String> = journal
            .entries(None, None, None)
            .iter()
            .map(|e| e.path.clone())
            .collect();
        assert_eq!(paths, ["/7", "/8", "/9"]);
        assert_eq!(journal.entries(None, None, Some(1))[0].path, "/9");
        assert_eq!(journal.entries(None, Some("/8"), None).len(), 1);
        journal.clear();
        assert!(journal.entries(None, None, None).is_empty());
    }

    #[test]
    fn secrets_in_form_and_json_bodies_are_redacted() {
        assert_eq!(
            redacted_body(b"grant_type=client_credentials&client_secret=s3cret"),
            "grant_type=client_credentials&client_secret=%5Bredacted%5D"
        );
        assert_eq!(
            redacted_body(br#"{"refresh_token":"r","x":1}"#),
            r#"{"refresh_token":"[redacted]","x":1}"#
        );
    }
}
