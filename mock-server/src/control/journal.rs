//! The request journal: what clients sent and what they were answered, for tests to inspect.
//!
//! A fixed ring of slots written without a lock: each request takes the next sequence number
//! from an atomic counter and swaps its entry into slot `number % capacity`, so recording never
//! makes requests wait on each other and memory is bounded by the capacity.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde::Serialize;

/// Request bodies are kept up to this many bytes.
pub const BODY_LIMIT: usize = 4096;

/// One request and its answer.
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
    /// Request body as text, cut at [`BODY_LIMIT`] bytes.
    pub body: Option<String>,
    /// Whether `body` was cut.
    pub body_truncated: bool,
    /// The rate-limit headers (`X-Rate-Limit-*`, `Retry-After`) answered, for auditing clients.
    pub response_headers: BTreeMap<String, String>,
}

/// A bounded, lock-free ring of the most recent entries.
#[derive(Debug)]
pub struct Journal {
    slots: Box<[ArcSwapOption<JournalEntry>]>,
    next: AtomicU64,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity).map(|_| ArcSwapOption::empty()).collect(),
            next: AtomicU64::new(1),
        }
    }

    /// Whether entries are kept at all.
    pub fn is_enabled(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Records an entry, giving it the next id (the `id` passed in is replaced).
    pub fn record(&self, mut entry: JournalEntry) {
        if self.slots.is_empty() {
            return;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        entry.id = id;
        let slot = (id % self.slots.len() as u64) as usize;
        self.slots[slot].store(Some(Arc::new(entry)));
    }

    /// Entries oldest first, filtered by method and path, the most recent `limit` of them.
    pub fn entries(
        &self,
        method: Option<&str>,
        path: Option<&str>,
        limit: Option<usize>,
    ) -> Vec<Arc<JournalEntry>> {
        let mut entries: Vec<Arc<JournalEntry>> = self
            .slots
            .iter()
            .filter_map(|slot| slot.load_full())
            .filter(|e| method.is_none_or(|m| e.method.eq_ignore_ascii_case(m)))
            .filter(|e| path.is_none_or(|p| e.path == p))
            .collect();
        entries.sort_by_key(|e| e.id);
        if let Some(limit) = limit {
            let skip = entries.len().saturating_sub(limit);
            entries.drain(..skip);
        }
        entries
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        for slot in self.slots.iter() {
            slot.store(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            id: 0,
            time: String::new(),
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: None,
            client_id: None,
            status: 200,
            duration_ms: 0.0,
            request_headers: BTreeMap::new(),
            body: None,
            body_truncated: false,
            response_headers: BTreeMap::new(),
        }
    }

    #[test]
    fn the_ring_keeps_only_the_most_recent_entries_in_order() {
        let journal = Journal::new(3);
        for i in 0..10 {
            journal.record(entry(&format!("/{i}")));
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
}
