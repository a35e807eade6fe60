//! The request journal: what clients sent and what they were answered, for tests to inspect.
//!
//! A fixed ring of slots. A request takes the next sequence number from an atomic counter as
//! it arrives and writes what it sent into slot `number % capacity` under that slot's own tiny
//! lock ([`Journal::begin`]); when it is answered it adds the outcome to the same slot
//! ([`Journal::finish`]). Requests only meet when they land on the same slot, and memory is
//! bounded by the capacity. Each slot keeps its buffers from one request to the next and copies
//! into them, so recording allocates nothing once the ring has warmed up, frees nothing, and
//! holds no reference into the connection's read buffers. Turning a slot into readable JSON,
//! with credentials redacted, happens only when someone reads the journal. The answer is kept
//! the same way: its status, headers and body, the body cut at the same [`BODY_LIMIT`].

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{header, HeaderMap, Method, Uri};
use chrono::{SecondsFormat, TimeZone, Utc};
use parking_lot::Mutex;
use serde::Serialize;

/// Request and response bodies are kept up to this many bytes each.
pub const BODY_LIMIT: usize = 4096;

/// Parameters whose values are credentials, hidden when bodies are shown.
const SECRET_PARAMETERS: [&str; 5] = [
    "client_secret",
    "refresh_token",
    "code",
    "token",
    "access_token",
];

/// What a request sent, noted as it arrives.
#[derive(Clone, Copy, Debug)]
pub struct Arrival<'a> {
    /// Arrival time, epoch milliseconds on the mock clock.
    pub at_ms: i64,
    /// HTTP method.
    pub method: &'a Method,
    /// Path and query.
    pub uri: &'a Uri,
    /// Request headers as sent (redacted when read).
    pub headers: &'a HeaderMap,
    /// The OAuth client of the bearer token, when the token was valid.
    pub client_id: Option<&'a str>,
}

/// How a request was answered.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    /// Status answered.
    pub status: u16,
    /// Time spent answering, microseconds (real time).
    pub duration_us: u64,
    /// The request body (only its first [`BODY_LIMIT`] bytes are kept).
    pub body: &'a [u8],
    /// The headers answered (the `Date` header, added last by the control layer, is not here).
    pub response_headers: &'a HeaderMap,
    /// The body answered (only its first [`BODY_LIMIT`] bytes are kept).
    pub response_body: &'a [u8],
    /// The fault rule that answered or delayed the request, if one did.
    pub fault_rule_id: Option<u64>,
}

/// A request's place in the journal, from [`Journal::begin`] to [`Journal::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// One request and its answer, in buffers the slot reuses.
#[derive(Debug, Default)]
struct Record {
    /// Sequence number; 0 while the slot has never been used.
    id: u64,
    /// Whether the answer has been written; readers skip requests still in flight.
    answered: bool,
    at_ms: i64,
    method: Method,
    /// Path and query, as sent.
    target: String,
    client_id: Option<String>,
    /// `name: value` lines; values need not be UTF-8.
    headers: Vec<u8>,
    status: u16,
    duration_us: u64,
    body: Vec<u8>,
    body_truncated: bool,
    /// `name: value` lines, like `headers`.
    response_headers: Vec<u8>,
    response_body: Vec<u8>,
    response_body_truncated: bool,
    fault_rule_id: Option<u64>,
}

impl Record {
    fn note(&mut self, id: u64, arrival: &Arrival<'_>) {
        self.id = id;
        self.answered = false;
        self.at_ms = arrival.at_ms;
        self.method.clone_from(arrival.method);
        self.target.clear();
        self.target.push_str(
            arrival
                .uri
                .path_and_query()
                .map_or(arrival.uri.path(), |target| target.as_str()),
        );
        match (&mut self.client_id, arrival.client_id) {
            (Some(kept), Some(client_id)) => {
                kept.clear();
                kept.push_str(client_id);
            }
            (kept, client_id) => *kept = client_id.map(str::to_owned),
        }
        copy_header_lines(&mut self.headers, arrival.headers);
    }

    fn answer(&mut self, outcome: &Outcome<'_>) {
        self.answered = true;
        self.status = outcome.status;
        self.duration_us = outcome.duration_us;
        self.body_truncated = copy_cut(&mut self.body, outcome.body);
        copy_header_lines(&mut self.response_headers, outcome.response_headers);
        self.response_body_truncated = if speaks_json(outcome.response_headers) {
            copy_cut(&mut self.response_body, outcome.response_body)
        } else {
            self.response_body.clear();
            if !outcome.response_body.is_empty() {
                // An HTML page (which may show an authorization code) or an image: its type and
                // size say enough, and nothing in it is shown. Written in place: no allocation.
                let content_type = outcome
                    .response_headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("no content type");
                let size = outcome.response_body.len();
                let _ = write!(
                    self.response_body,
                    "[{content_type} body of {size} bytes, not kept]"
                );
            }
            false
        };
        self.fault_rule_id = outcome.fault_rule_id;
    }

    fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    fn entry(&self) -> JournalEntry {
        let time = Utc
            .timestamp_millis_opt(self.at_ms)
            .single()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default();
        JournalEntry {
            id: self.id,
            time,
            at_ms: self.at_ms,
            method: self.method.to_string(),
            path: self.path().to_owned(),
            query: self.query().map(str::to_owned),
            client_id: self.client_id.clone(),
            status: self.status,
            duration_ms: self.duration_us as f64 / 1000.0,
            request_headers: redacted_headers(&self.headers),
            body: (!self.body.is_empty()).then(|| redacted_body(&self.body)),
            body_truncated: self.body_truncated,
            response_headers: redacted_headers(&self.response_headers),
            response_body: (!self.response_body.is_empty())
                .then(|| redacted_answer(&self.response_body)),
            response_body_truncated: self.response_body_truncated,
            fault_rule_id: self.fault_rule_id,
        }
    }
}

/// A journal entry as `GET /__admin/requests` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    /// Sequence number, increasing for the server's life.
    pub id: u64,
    /// Arrival time on the mock clock (RFC 3339, milliseconds).
    pub time: String,
    /// Arrival time, epoch milliseconds on the mock clock (what `since` filters compare).
    #[serde(skip)]
    pub at_ms: i64,
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
    /// The headers answered (rate-limit headers, `Retry-After`, content type...), except
    /// `Date`; OAuth secrets in a `Location` are redacted.
    pub response_headers: BTreeMap<String, String>,
    /// The body answered as text (OAuth tokens redacted), cut at [`BODY_LIMIT`] bytes; an answer
    /// that is not JSON (an HTML page, an image) is named by its type and size instead.
    pub response_body: Option<String>,
    /// Whether `response_body` was cut.
    pub response_body_truncated: bool,
    /// The fault rule (`/__admin/faults` id) that answered or delayed the request, if any.
    pub fault_rule_id: Option<u64>,
}

/// Copies `headers` as `name: value` lines into `lines`, reusing its buffer.
fn copy_header_lines(lines: &mut Vec<u8>, headers: &HeaderMap) {
    lines.clear();
    for (name, value) in headers {
        lines.extend_from_slice(name.as_str().as_bytes());
        lines.extend_from_slice(b": ");
        lines.extend_from_slice(value.as_bytes());
        lines.push(b'\n');
    }
}

/// Whether a response is JSON (what the API answers), the one kind of answer body the journal
/// keeps.
fn speaks_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"))
}

/// Copies at most [`BODY_LIMIT`] bytes of `bytes` into `kept`, reusing its buffer; says whether
/// it had to cut.
fn copy_cut(kept: &mut Vec<u8>, bytes: &[u8]) -> bool {
    kept.clear();
    kept.extend_from_slice(&bytes[..bytes.len().min(BODY_LIMIT)]);
    bytes.len() > BODY_LIMIT
}

/// Request headers for reading, with credentials hidden; a repeated header keeps its last value.
fn redacted_headers(lines: &[u8]) -> BTreeMap<String, String> {
    lines
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let text = String::from_utf8_lossy(line);
            let (name, value) = text.split_once(": ")?;
            let value = if name == header::AUTHORIZATION.as_str() {
                let scheme = value.split(' ').next().unwrap_or("");
                format!("{scheme} [redacted]")
            } else if name == header::LOCATION.as_str() {
                redacted_url(value)
            } else {
                value.to_owned()
            };
            Some((name.to_owned(), value))
        })
        .collect()
}

/// A request body for reading, with OAuth secrets hidden in form and JSON bodies.
fn redacted_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if let Some(redacted) = redacted_json(&text) {
        return redacted;
    }
    if text.contains('=') && !text.contains('\n') {
        return redacted_form(&text);
    }
    text.into_owned()
}

/// An answer body for reading: JSON with OAuth tokens hidden, or the note that stands for a
/// body that was not kept.
fn redacted_answer(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    redacted_json(&text).unwrap_or_else(|| text.into_owned())
}

/// A JSON object with its OAuth secrets hidden; `None` for anything else.
fn redacted_json(text: &str) -> Option<String> {
    let serde_json::Value::Object(mut fields) = serde_json::from_str(text).ok()? else {
        return None;
    };
    for name in SECRET_PARAMETERS {
        if let Some(value) = fields.get_mut(name) {
            *value = serde_json::Value::String("[redacted]".to_owned());
        }
    }
    Some(serde_json::Value::Object(fields).to_string())
}

/// Form parameters (a body, a query, a fragment) with OAuth secrets hidden.
fn redacted_form(text: &str) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(text.as_bytes()) {
        let secret = SECRET_PARAMETERS.contains(&key.as_ref());
        form.append_pair(&key, if secret { "[redacted]" } else { &value });
    }
    form.finish()
}

/// A redirect target with the OAuth secrets of its query and fragment hidden (the
/// authorization endpoint hands out codes and implicit-flow tokens in them).
fn redacted_url(url: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let mut redacted = match rest.split_once('?') {
        Some((base, query)) => format!("{base}?{}", redacted_form(query)),
        None => rest.to_owned(),
    };
    if let Some(fragment) = fragment {
        redacted.push('#');
        redacted.push_str(&redacted_form(fragment));
    }
    redacted
}

/// A bounded ring of the most recent requests.
#[derive(Debug)]
pub struct Journal {
    slots: Box<[Mutex<Record>]>,
    next: AtomicU64,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity).map(|_| Mutex::default()).collect(),
            next: AtomicU64::new(1),
        }
    }

    fn slot(&self, id: u64) -> &Mutex<Record> {
        &self.slots[(id % self.slots.len() as u64) as usize]
    }

    /// Notes an arriving request under the next id; `None` when the journal keeps nothing.
    pub fn begin(&self, arrival: Arrival<'_>) -> Option<Ticket> {
        if self.slots.is_empty() {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.slot(id).lock().note(id, &arrival);
        Some(Ticket(id))
    }

    /// Adds the answer to a request noted by [`Journal::begin`]. A request whose slot a later
    /// one has taken meanwhile (more requests in flight than the journal holds) is forgotten.
    pub fn finish(&self, ticket: Ticket, outcome: Outcome<'_>) {
        let mut record = self.slot(ticket.0).lock();
        if record.id == ticket.0 {
            record.answer(&outcome);
        }
    }

    /// Answered requests oldest first that `wanted` accepts, the most recent `limit` of them.
    pub fn entries(
        &self,
        wanted: impl Fn(&JournalEntry) -> bool,
        limit: Option<usize>,
    ) -> Vec<JournalEntry> {
        let mut entries: Vec<JournalEntry> = self
            .slots
            .iter()
            .filter_map(|slot| {
                let record = slot.lock();
                record.answered.then(|| record.entry())
            })
            .filter(|entry| wanted(entry))
            .collect();
        entries.sort_by_key(|entry| entry.id);
        let skip = limit.map_or(0, |limit| entries.len().saturating_sub(limit));
        entries.split_off(skip)
    }

    /// Forgets every request.
    pub fn clear(&self) {
        for slot in self.slots.iter() {
            let mut record = slot.lock();
            record.id = 0;
            record.answered = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn record(journal: &Journal, target: &str) {
        let uri: Uri = target.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        headers.insert("procore-company-id", HeaderValue::from_static("8001"));
        let ticket = journal
            .begin(Arrival {
                at_ms: 0,
                method: &Method::GET,
                uri: &uri,
                headers: &headers,
                client_id: Some("app"),
            })
            .unwrap();
        let mut answered = HeaderMap::new();
        answered.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        journal.finish(
            ticket,
            Outcome {
                status: 200,
                duration_us: 0,
                body: b"",
                response_headers: &answered,
                response_body: br#"{"access_token":"t","id":1}"#,
                fault_rule_id: None,
            },
        );
    }

    #[test]
    fn the_ring_keeps_only_the_most_recent_entries_in_order() {
        let journal = Journal::new(3);
        for i in 0..10 {
            record(&journal, &format!("/{i}?page={i}"));
        }
        let paths: Vec<String> = journal
            .entries(|_| true, None)
            .iter()
            .map(|e| e.path.clone())
            .collect();
        assert_eq!(paths, ["/7", "/8", "/9"]);
        let last = &journal.entries(|_| true, Some(1))[0];
        assert_eq!(
            (last.path.as_str(), last.query.as_deref()),
            ("/9", Some("page=9"))
        );
        assert_eq!(last.request_headers["authorization"], "Bearer [redacted]");
        assert_eq!(last.request_headers["procore-company-id"], "8001");
        assert_eq!(
            last.response_body.as_deref(),
            Some(r#"{"access_token":"[redacted]","id":1}"#),
            "answered tokens are redacted like sent ones"
        );
        assert_eq!(journal.entries(|e| e.path == "/8", None).len(), 1);
        journal.clear();
        assert!(journal.entries(|_| true, None).is_empty());
    }

    #[test]
    fn requests_in_flight_are_not_listed_and_a_lapped_one_is_forgotten() {
        let journal = Journal::new(1);
        let uri: Uri = "/slow".parse().unwrap();
        let arrival = Arrival {
            at_ms: 0,
            method: &Method::POST,
            uri: &uri,
            headers: &HeaderMap::new(),
            client_id: None,
        };
        let slow = journal.begin(arrival).unwrap();
        assert!(
            journal.entries(|_| true, None).is_empty(),
            "still in flight"
        );
        record(&journal, "/fast");
        let outcome = Outcome {
            status: 503,
            duration_us: 0,
            body: &[b'x'; BODY_LIMIT + 1],
            response_headers: &HeaderMap::new(),
            response_body: b"",
            fault_rule_id: Some(1),
        };
        journal.finish(slow, outcome);
        let entries = journal.entries(|_| true, None);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].path, "/fast",
            "the slot belongs to the later request"
        );
    }

    #[test]
    fn answers_keep_json_bodies_and_hide_secrets_in_redirects_and_pages() {
        let journal = Journal::new(2);
        let uri: Uri = "/oauth/authorize".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("https://app.example/cb?code=c0de&state=s#access_token=t"),
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let arrival = Arrival {
            at_ms: 0,
            method: &Method::GET,
            uri: &uri,
            headers: &HeaderMap::new(),
            client_id: None,
        };
        let ticket = journal.begin(arrival).unwrap();
        let page = b"<code id=\"authorization_code\">c0de</code>";
        let outcome = Outcome {
            status: 302,
            duration_us: 0,
            body: b"",
            response_headers: &headers,
            response_body: page,
            fault_rule_id: None,
        };
        journal.finish(ticket, outcome);
        let entry = &journal.entries(|_| true, None)[0];
        assert_eq!(
            entry.response_headers["location"],
            "https://app.example/cb?code=%5Bredacted%5D&state=s#access_token=%5Bredacted%5D"
        );
        assert_eq!(
            entry.response_body.as_deref(),
            Some(format!("[text/html body of {} bytes, not kept]", page.len()).as_str())
        );
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
