//! Which journal entries a test is asking about.
//!
//! One [`RequestMatcher`] serves every way of asking: the filters of `GET /__admin/requests`
//! ([`RequestMatcher::from_filters`]), the JSON body of `POST /__admin/requests/count` (serde)
//! and embedders' [`crate::MockServer::requests_matching`] (the builder methods). Paths are
//! read as fault rules read them ([`RouteTemplate`]), so `/rest/v1.0/projects/{project_id}/users`
//! matches every project's team.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::faults::RouteTemplate;
use super::journal::JournalEntry;

/// A filter of `GET /__admin/requests` that cannot be read: which one, and why (the admin
/// route answers it as a 400 naming the field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// The query parameter at fault.
    pub field: String,
    /// A sentence that names it and says what is wrong.
    pub message: String,
}

/// The query parameters `GET /__admin/requests` reads; any other is refused.
pub const FILTERS: [&str; 6] = ["method", "path", "status", "client_id", "since", "limit"];

/// What a request must look like to match; every condition given must hold.
///
/// ```
/// use procore_mock::{Expect, RequestMatcher};
///
/// let adds = RequestMatcher::new()
///     .method("POST")
///     .path("/rest/v1.0/projects/{project_id}/users")
///     .status_class(2)
///     .body_field("user.email_address", Expect::contains("@example.com"));
/// # let _ = adds;
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMatcher {
    /// HTTP method, any case.
    #[serde(default)]
    method: Option<String>,
    /// Exact path or route template.
    #[serde(default)]
    path: Option<PathPattern>,
    /// Status answered.
    #[serde(default)]
    status: Option<StatusMatch>,
    /// The OAuth client whose valid token the request carried.
    #[serde(default)]
    client_id: Option<String>,
    /// Only requests from a journal id on, or at or after a time.
    #[serde(default)]
    since: Option<Since>,
    /// Query parameters; a repeated parameter matches when any of its values does.
    #[serde(default)]
    query: BTreeMap<String, Expect>,
    /// Request headers by name (any case).
    #[serde(default)]
    headers: BTreeMap<String, Expect>,
    /// Request body fields by dotted path (`user.email_address`, `ids.0`); for a form body,
    /// the parameter's name.
    #[serde(default)]
    body: BTreeMap<String, Expect>,
}

/// A path as given, with its template read once.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
struct PathPattern(RouteTemplate);

impl TryFrom<String> for PathPattern {
    type Error = String;

    fn try_from(path: String) -> Result<Self, String> {
        if !path.starts_with('/') {
            return Err(format!("must start with /, got `{path}`"));
        }
        Ok(Self(RouteTemplate::new(&path)))
    }
}

/// An exact status or a class of statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum StatusMatch {
    /// This status (`201`).
    Exact(u16),
    /// Any status of this hundred (`4` for `4xx`).
    Class(u16),
}

impl StatusMatch {
    fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Exact(wanted) => status == wanted,
            StatusMatch::Class(hundred) => status / 100 == hundred,
        }
    }
}

impl TryFrom<Value> for StatusMatch {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let problem =
            || format!("must be a status such as 201 or a class such as 4xx, got {value}");
        let text = match &value {
            Value::Number(number) => number.to_string(),
            Value::String(text) => text.clone(),
            _ => return Err(problem()),
        };
        let text = text.to_ascii_lowercase();
        if let Some(hundred) = text.strip_suffix("xx") {
            return match hundred.parse::<u16>() {
                Ok(hundred @ 1..=5) => Ok(StatusMatch::Class(hundred)),
                _ => Err(problem()),
            };
        }
        match text.parse::<u16>() {
            Ok(status @ 100..=599) => Ok(StatusMatch::Exact(status)),
            _ => Err(problem()),
        }
    }
}

/// Where in the journal to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Since {
    /// Entries with this journal id or a later one (as the harness's `--since` reads an id).
    Id(u64),
    /// Entries that arrived at or after this instant (epoch milliseconds, mock clock).
    Time(i64),
}

impl TryFrom<Value> for Since {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let problem = || format!("must be a journal id or an RFC 3339 time, got {value}");
        match &value {
            Value::Number(number) => number.as_u64().map(Since::Id).ok_or_else(problem),
            Value::String(text) => match text.parse::<u64>() {
                Ok(id) => Ok(Since::Id(id)),
                Err(_) => DateTime::parse_from_rfc3339(text)
                    .map(|at| Since::Time(at.timestamp_millis()))
                    .map_err(|_| problem()),
            },
            _ => Err(problem()),
        }
    }
}

/// What a query parameter, header or body field must hold.
///
/// On the wire: a plain value means equals; `{"equals": value}` or `{"contains": "text"}`
/// say it explicitly (an object to compare with must be written `{"equals": {...}}`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub enum Expect {
    /// Equal to this value (text compares with text, numbers with their digits in a query or
    /// header).
    Equals(Value),
    /// A text containing this (case-sensitive), or a list with an element that reads as it.
    Contains(String),
}

impl Expect {
    /// Equal to `value`.
    pub fn equals(value: impl Into<Value>) -> Self {
        Expect::Equals(value.into())
    }

    /// Containing `text`.
    pub fn contains(text: impl Into<String>) -> Self {
        Expect::Contains(text.into())
    }

    /// Whether a text (a query parameter, a header, a form field) meets the expectation.
    fn accepts_text(&self, actual: &str) -> bool {
        match self {
            Expect::Equals(wanted) => text_of(wanted) == actual,
            Expect::Contains(part) => actual.contains(part.as_str()),
        }
    }

    /// Whether a JSON body field meets the expectation.
    fn accepts_json(&self, actual: &Value) -> bool {
        match (self, actual) {
            (Expect::Equals(wanted), _) => wanted == actual,
            (Expect::Contains(part), Value::String(text)) => text.contains(part.as_str()),
            (Expect::Contains(part), Value::Array(items)) => {
                items.iter().any(|item| text_of(item) == *part)
            }
            (Expect::Contains(_), _) => false,
        }
    }
}

impl TryFrom<Value> for Expect {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let Value::Object(fields) = &value else {
            return Ok(Expect::Equals(value));
        };
        let mut fields = fields.iter();
        match (fields.next(), fields.next()) {
            (Some((op, wanted)), None) if op == "equals" => Ok(Expect::Equals(wanted.clone())),
            (Some((op, Value::String(part))), None) if op == "contains" => {
                Ok(Expect::Contains(part.clone()))
            }
            _ => Err(format!(
                r#"must be a value, {{"equals": value}} or {{"contains": "text"}}, got {value}"#
            )),
        }
    }
}

/// A value as text: strings without their quotes, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl RequestMatcher {
    /// A matcher that matches every request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests with this method (any case).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Requests to this path, or to any path fitting this route template.
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(PathPattern(RouteTemplate::new(path)));
        self
    }

    /// Requests answered with exactly `status`.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(StatusMatch::Exact(status));
        self
    }

    /// Requests answered with a status of this hundred (`4` for any 4xx).
    pub fn status_class(mut self, hundred: u16) -> Self {
        self.status = Some(StatusMatch::Class(hundred));
        self
    }

    /// Requests whose valid bearer token belongs to this OAuth client.
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// Requests journaled as the entry with this id or later.
    pub fn since_id(mut self, id: u64) -> Self {
        self.since = Some(Since::Id(id));
        self
    }

    /// Requests that arrived at or after `at` on the mock clock.
    pub fn since_time(mut self, at: DateTime<Utc>) -> Self {
        self.since = Some(Since::Time(at.timestamp_millis()));
        self
    }

    /// Requests whose query parameter `name` meets `expect`.
    pub fn query_param(mut self, name: &str, expect: Expect) -> Self {
        self.query.insert(name.to_owned(), expect);
        self
    }

    /// Requests whose header `name` (any case) meets `expect`.
    pub fn header(mut self, name: &str, expect: Expect) -> Self {
        self.headers.insert(name.to_owned(), expect);
        self
    }

    /// Requests whose body field at the dotted path `field` meets `expect`.
    pub fn body_field(mut self, field: &str, expect: Expect) -> Self {
        self.body.insert(field.to_owned(), expect);
        self
    }

    /// The matcher and `limit` that the query parameters of `GET /__admin/requests` ask for.
    /// An unknown, repeated or malformed filter is refused, naming it.
    pub fn from_filters(
        pairs: &[(String, String)],
    ) -> Result<(RequestMatcher, Option<usize>), FilterError> {
        let mut matcher = RequestMatcher::new();
        let mut limit = None;
        for (index, (name, raw)) in pairs.iter().enumerate() {
            let bad = |problem: String| FilterError {
                field: name.clone(),
                message: format!("{name} {problem}"),
            };
            if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(bad("is given more than once".to_owned()));
            }
            let text = Value::String(raw.clone());
            match name.as_str() {
                "method" => matcher.method = Some(raw.clone()),
                "path" => matcher.path = Some(PathPattern::try_from(raw.clone()).map_err(bad)?),
                "status" => matcher.status = Some(StatusMatch::try_from(text).map_err(bad)?),
                "client_id" => matcher.client_id = Some(raw.clone()),
                "since" => matcher.since = Some(Since::try_from(text).map_err(bad)?),
                "limit" => {
                    limit = Some(
                        raw.parse::<usize>()
                            .map_err(|_| bad(format!("must be a whole number, got `{raw}`")))?,
                    );
                }
                _ => {
                    return Err(FilterError {
                        field: name.clone(),
                        message: format!(
                            "`{name}` is not a filter of /__admin/requests; the filters are {}",
                            FILTERS.join(", ")
                        ),
                    });
                }
            }
        }
        Ok((matcher, limit))
    }

    /// Whether `entry` meets every condition.
    pub fn matches(&self, entry: &JournalEntry) -> bool {
        self.method
            .as_deref()
            .is_none_or(|method| entry.method.eq_ignore_ascii_case(method))
            && self
                .path
                .as_ref()
                .is_none_or(|PathPattern(route)| route.matches(&entry.path))
            && self
                .status
                .is_none_or(|status| status.matches(entry.status))
            && self
                .client_id
                .as_deref()
                .is_none_or(|client| entry.client_id.as_deref() == Some(client))
            && self.since.is_none_or(|since| match since {
                Since::Id(id) => entry.id >= id,
                Since::Time(at_ms) => entry.at_ms >= at_ms,
            })
            && self.query_matches(entry)
            && self.headers.iter().all(|(name, expect)| {
                entry
                    .request_headers
                    .get(&name.to_ascii_lowercase())
                    .is_some_and(|value| expect.accepts_text(value))
            })
            && self.body_matches(entry)
    }

    fn query_matches(&self, entry: &JournalEntry) -> bool {
        if self.query.is_empty() {
            return true;
        }
        let pairs: Vec<(String, String)> = entry
            .query
            .as_deref()
            .map(|query| {
                form_urlencoded::parse(query.as_bytes())
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        self.query.iter().all(|(name, expect)| {
            pairs
                .iter()
                .any(|(given, value)| given == name && expect.accepts_text(value))
        })
    }

    /// Body fields are looked up in the journaled body (a JSON document or a form); a body the
    /// journal cut short may not parse, and then no body condition holds.
    fn body_matches(&self, entry: &JournalEntry) -> bool {
        if self.body.is_empty() {
            return true;
        }
        let Some(body) = entry.body.as_deref() else {
            return false;
        };
        if let Ok(document) = serde_json::from_str::<Value>(body) {
            return self.body.iter().all(|(field, expect)| {
                lookup(&document, field).is_some_and(|value| expect.accepts_json(value))
            });
        }
        let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        self.body.iter().all(|(field, expect)| {
            form.iter()
                .any(|(name, value)| name == field && expect.accepts_text(value))
        })
    }
}

/// The value at a dotted path: object keys by name, list elements by index.
fn lookup<'a>(document: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(document, |value, step| match value {
            Value::Object(fields) => fields.get(step),
            Value::Array(items) => items.get(step.parse::<usize>().ok()?),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(value: Value) -> Result<Expect, String> {
        Expect::try_from(value)
    }

    #[test]
    fn statuses_read_exact_or_as_a_class() {
        assert_eq!(
            StatusMatch::try_from(Value::from(201)),
            Ok(StatusMatch::Exact(201))
        );
        assert_eq!(
            StatusMatch::try_from(Value::from("4XX")),
            Ok(StatusMatch::Class(4))
        );
        for bad in ["6xx", "xx", "20", "abc"] {
            assert!(StatusMatch::try_from(Value::from(bad)).is_err(), "{bad}");
        }
        assert!(StatusMatch::Class(4).matches(429));
        assert!(!StatusMatch::Class(4).matches(500));
    }

    #[test]
    fn since_reads_an_id_or_a_time() {
        assert_eq!(Since::try_from(Value::from("42")), Ok(Since::Id(42)));
        assert_eq!(
            Since::try_from(Value::from("2030-01-01T00:00:01Z")),
            Ok(Since::Time(1_893_456_001_000))
        );
        assert!(Since::try_from(Value::from("yesterday")).is_err());
        assert!(Since::try_from(Value::from(-1)).is_err());
    }

    #[test]
    fn expectations_read_plain_values_as_equals() {
        assert_eq!(expect(Value::from("a")), Ok(Expect::equals("a")));
        assert_eq!(
            expect(serde_json::json!({"contains": "@x"})),
            Ok(Expect::contains("@x"))
        );
        assert!(expect(serde_json::json!({"contains": 1})).is_err());
        assert!(expect(serde_json::json!({"like": "a"})).is_err());
        assert!(Expect::equals(2).accepts_text("2"));
        assert!(Expect::contains("b").accepts_json(&serde_json::json!(["a", "b"])));
        assert!(!Expect::contains("b").accepts_json(&serde_json::json!(1)));
    }

    #[test]
    fn dotted_paths_walk_objects_and_lists() {
        let document = serde_json::json!({"user": {"email_address": "a@x", "ids": [3, 4]}});
        assert_eq!(
            lookup(&document, "user.email_address"),
            Some(&Value::from("a@x"))
        );
        assert_eq!(lookup(&document, "user.ids.1"), Some(&Value::from(4)));
        assert_eq!(lookup(&document, "user.ids.x"), None);
        assert_eq!(lookup(&document, "user.email_address.x"), None);
    }
}
