//! The request journal: what clients sent and what they were answered, for tests to inspect.
//!
//! A fixed ring of slots. A request takes the next sequence number from an atomic counter as
//! it arrives and writes what it sent into slot `number % capacity` under that slot's own tiny
//! lock ([`Journal::begin`]); when it is answered it adds the outcome to the same slot
//! ([`Journal::finish`]). Requests only meet when they land on the same slot. Each slot keeps
//! its buffers from one request to the next and copies into them, so recording allocates
//! nothing once the ring has warmed up and holds no reference into the connection's read
//! buffers. Turning a slot into readable JSON, with credentials redacted, happens only when
//! someone reads the journal.
//!
//! Memory is bounded twice: in entries (the ring's capacity) and in bytes. Each entry keeps at
//! most [`HEADERS_LIMIT`] bytes of headers and [`BODY_LIMIT`] of body (cut ones are marked), a
//! slot's buffers shrink when a large entry gives way to a small one, and the bytes all slots
//! hold (`Record::held_bytes`) are counted against `--journal-max-bytes`: past it, the oldest
//! entries are dropped, buffers and all, until the journal fits again.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::http::{header, HeaderMap, Method, Uri};
use chrono::{SecondsFormat, TimeZone, Utc};
use parking_lot::Mutex;
use serde::Serialize;

/// Request bodies are kept up to this many bytes.
pub const BODY_LIMIT: usize = 4096;

/// Request headers (as `name: value` lines) are kept up to this many bytes.
pub const HEADERS_LIMIT: usize = 8192;

/// The response header in which the mock names what it ignored or served as a seed-only
/// extra; entries show it as their `warning`.
pub const WARNING_HEADER: &str = "x-procore-mock-warning";

/// A buffer keeps up to this much room beyond what its entry needs; more is given back.
const SPARE_BYTES: usize = 1024;

/// Parameters whose values are credentials, hidden when bodies are shown (`password` and
/// `auth_token` are Crux Connect's login and its answer).
const SECRET_PARAMETERS: [&str; 7] = [
    "client_secret",
    "refresh_token",
    "code",
    "token",
    "access_token",
    "password",
    "auth_token",
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
    /// `name: value` lines, cut at [`HEADERS_LIMIT`]; values need not be UTF-8.
    headers: Vec<u8>,
    headers_truncated: bool,
    status: u16,
    duration_us: u64,
    body: Vec<u8>,
    body_truncated: bool,
    /// `name: value` lines, like `headers`.
    response_headers: Vec<u8>,
    response_body: Vec<u8>,
    response_body_truncated: bool,
    fault_rule_id: Option<u64>,
    /// [`Record::held_bytes`] when the journal last counted this record.
    counted: usize,
}

impl Record {
    /// The heap bytes this record's buffers hold, what the byte budget counts. Every buffer a
    /// record keeps belongs in this sum (a recorded response, say, would add its own).
    fn held_bytes(&self) -> usize {
        self.target.capacity()
            + self.client_id.as_ref().map_or(0, String::capacity)
            + self.headers.capacity()
            + self.body.capacity()
            + self.response_headers.capacity()
            + self.response_body.capacity()
    }

    /// Gives the buffers' memory back (an evicted or cleared entry).
    fn release(&mut self) {
        self.id = 0;
        self.answered = false;
        self.target = String::new();
        self.client_id = None;
        self.headers = Vec::new();
        self.body = Vec::new();
        self.response_headers = Vec::new();
        self.response_body = Vec::new();
    }

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
        self.headers_truncated = copy_header_lines(&mut self.headers, arrival.headers);
        shrink_string(&mut self.target);
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
            shrink(&mut self.response_body);
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
        let response_headers = redacted_headers(&self.response_headers);
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
            request_headers_truncated: self.headers_truncated,
            body: (!self.body.is_empty()).then(|| redacted_body(&self.body)),
            body_truncated: self.body_truncated,
            warning: response_headers.get(WARNING_HEADER).cloned(),
            response_headers,
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
    /// Whether headers were left out: only the first `HEADERS_LIMIT` (8,192) bytes of whole
    /// `name: value` lines are kept.
    pub request_headers_truncated: bool,
    /// Request body as text (OAuth secrets redacted), cut at `BODY_LIMIT` (4,096) bytes.
    pub body: Option<String>,
    /// Whether `body` was cut.
    pub body_truncated: bool,
    /// The headers answered (rate-limit headers, `Retry-After`, content type...), except
    /// `Date`; OAuth secrets in a `Location` are redacted.
    pub response_headers: BTreeMap<String, String>,
    /// What the mock warned about (`X-Procore-Mock-Warning`: parameters and fields it ignored,
    /// seed-only behaviour it served), if anything. Read from the kept response headers, so it
    /// costs the journal's byte budget nothing more.
    pub warning: Option<String>,
    /// The body answered as text (OAuth tokens redacted), cut at `BODY_LIMIT` bytes; an answer
    /// that is not JSON (an HTML page, an image) is named by its type and size instead.
    pub response_body: Option<String>,
    /// Whether `response_body` was cut.
    pub response_body_truncated: bool,
    /// The fault rule (`/__admin/faults` id) that answered or delayed the request, if any.
    pub fault_rule_id: Option<u64>,
}

/// Copies `headers` as `name: value` lines into `lines`, reusing its buffer, up to
/// [`HEADERS_LIMIT`] bytes of whole lines; says whether lines were left out.
fn copy_header_lines(lines: &mut Vec<u8>, headers: &HeaderMap) -> bool {
    lines.clear();
    let mut truncated = false;
    for (name, value) in headers {
        let line = [name.as_str().as_bytes(), b": ", value.as_bytes(), b"\n"];
        let length: usize = line.iter().map(|part| part.len()).sum();
        if lines.len() + length > HEADERS_LIMIT {
            truncated = true;
            break;
        }
        line.iter().for_each(|part| lines.extend_from_slice(part));
    }
    shrink(lines);
    truncated
}

/// Copies at most [`BODY_LIMIT`] bytes of `bytes` into `kept`, reusing its buffer; says whether
/// it had to cut.
fn copy_cut(kept: &mut Vec<u8>, bytes: &[u8]) -> bool {
    kept.clear();
    kept.extend_from_slice(&bytes[..bytes.len().min(BODY_LIMIT)]);
    shrink(kept);
    bytes.len() > BODY_LIMIT
}

/// Whether a response is JSON (what the API answers), the one kind of answer body the journal
/// keeps.
fn speaks_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"))
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

/// A buffer's spare room given back when it is much larger than its contents now need.
fn shrink(buffer: &mut Vec<u8>) {
    if buffer.capacity() > buffer.len() + SPARE_BYTES {
        buffer.shrink_to(buffer.len() + SPARE_BYTES / 2);
    }
}

fn shrink_string(buffer: &mut String) {
    if buffer.capacity() > buffer.len() + SPARE_BYTES {
        buffer.shrink_to(buffer.len() + SPARE_BYTES / 2);
    }
}

/// A bounded ring of the most recent requests.
#[derive(Debug)]
pub struct Journal {
    slots: Box<[Mutex<Record>]>,
    next: AtomicU64,
    /// The byte budget: what all slots' buffers may hold together.
    max_bytes: usize,
    /// What all slots' buffers hold now (the sum of their last counted `held_bytes`).
    held: AtomicUsize,
    /// Ids below this have been dropped to keep the budget: eviction goes on from here.
    evicted_below: AtomicU64,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none), in at most `max_bytes`.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            slots: (0..capacity).map(|_| Mutex::default()).collect(),
            next: AtomicU64::new(1),
            max_bytes,
            held: AtomicUsize::new(0),
            evicted_below: AtomicU64::new(1),
        }
    }

    fn slot(&self, id: u64) -> &Mutex<Record> {
        &self.slots[(id % self.slots.len() as u64) as usize]
    }

    /// Brings the count of held bytes up to date with `record`'s buffers.
    fn count(&self, record: &mut Record) {
        let now = record.held_bytes();
        // Once the ring has warmed up this is the usual case: no shared counter to touch.
        if now == record.counted {
            return;
        }
        if now > record.counted {
            self.held.fetch_add(now - record.counted, Ordering::AcqRel);
        } else {
            self.held.fetch_sub(record.counted - now, Ordering::AcqRel);
        }
        record.counted = now;
    }

    /// Drops the oldest entries, buffers and all, until the journal is within its budget.
    /// Takes one slot lock at a time, never while the caller holds one.
    fn keep_within_budget(&self) {
        while self.held.load(Ordering::Acquire) > self.max_bytes {
            let next = self.next.load(Ordering::Acquire);
            let oldest_kept = next.saturating_sub(self.slots.len() as u64).max(1);
            // Claim the oldest id not yet dropped; ids the ring has overwritten are skipped.
            let claimed =
                self.evicted_below
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |below| {
                        let id = below.max(oldest_kept);
                        (id < next).then_some(id + 1)
                    });
            let Ok(below) = claimed else {
                return; // Nothing older is left to drop.
            };
            let id = below.max(oldest_kept);
            let mut record = self.slot(id).lock();
            if record.id == id {
                record.release();
                self.count(&mut record);
            }
        }
    }

    /// Notes an arriving request under the next id; `None` when the journal keeps nothing.
    pub fn begin(&self, arrival: Arrival<'_>) -> Option<Ticket> {
        if self.slots.is_empty() {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        {
            let mut record = self.slot(id).lock();
            record.note(id, &arrival);
            self.count(&mut record);
        }
        self.keep_within_budget();
        Some(Ticket(id))
    }

    /// Adds the answer to a request noted by [`Journal::begin`]. A request whose slot a later
    /// one has taken meanwhile (more requests in flight than the journal holds), or that was
    /// dropped to keep the byte budget, is forgotten.
    pub fn finish(&self, ticket: Ticket, outcome: Outcome<'_>) {
        {
            let mut record = self.slot(ticket.0).lock();
            if record.id != ticket.0 {
                return;
            }
            record.answer(&outcome);
            self.count(&mut record);
        }
        self.keep_within_budget();
    }

    /// The bytes the journal's entries hold now (what `--journal-max-bytes` bounds).
    #[cfg(any(test, feature = "bench-internals"))]
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Acquire)
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

    /// Forgets every request and gives their buffers' memory back.
    pub fn clear(&self) {
        self.evicted_below
            .fetch_max(self.next.load(Ordering::Acquire), Ordering::AcqRel);
        for slot in self.slots.iter() {
            let mut record = slot.lock();
            record.release();
            self.count(&mut record);
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
        journal.finish(
            ticket,
            Outcome {
                status: 200,
                duration_us: 0,
                body: b"",
                response_headers: &HeaderMap::new(),
                response_body: b"",
                fault_rule_id: None,
            },
        );
    }

    #[test]
    fn the_ring_keeps_only_the_most_recent_entries_in_order() {
        let journal = Journal::new(3, usize::MAX);
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
        assert_eq!(journal.entries(|e| e.path == "/8", None).len(), 1);
        journal.clear();
        assert!(journal.entries(|_| true, None).is_empty());
    }

    #[test]
    fn requests_in_flight_are_not_listed_and_a_lapped_one_is_forgotten() {
        let journal = Journal::new(1, usize::MAX);
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
    fn past_the_byte_budget_the_oldest_entries_are_dropped() {
        let journal = Journal::new(100, 4 * 1024);
        for i in 0..50 {
            record(&journal, &format!("/{i}?{}", "q".repeat(500)));
            assert!(journal.held_bytes() <= 4 * 1024);
        }
        let entries = journal.entries(|_| true, None);
        assert!(entries.len() < 50, "older entries gave way");
        assert_eq!(entries.last().unwrap().path, "/49", "the newest is kept");
        let ids: Vec<u64> = entries.iter().map(|e| e.id).collect();
        assert!(
            ids.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "only the oldest are dropped: {ids:?}"
        );
        journal.clear();
        assert_eq!(journal.held_bytes(), 0);
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
        assert_eq!(
            redacted_answer(br#"{"auth_token":"k","org_type":"RETAILER"}"#),
            r#"{"auth_token":"[redacted]","org_type":"RETAILER"}"#
        );
    }
}
