//! Coverage: which answers a client's traffic met, per operation the mock serves (Procore's
//! API, OAuth, webhooks and Crux Connect's, as the mock's own OpenAPI document lists them),
//! read from the mock's journal; and what it never met that Procore or Crux can answer, with the
//! fault rule or clock step that makes the mock answer it, pages past the end of a list
//! included. It tells a team which failure paths their CI never exercises.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

use crate::admin::JournalEntry;

/// Procore's token lifetime (the contract's `expires_in: 5400`); advancing the clock past it
/// expires every Procore token.
const TOKEN_LIFETIME_SECS: u64 = 5400;

/// Crux Connect's token lifetime ("authentication tokens expire after two hours").
const CRUX_TOKEN_LIFETIME_SECS: u64 = 2 * 60 * 60;

/// Tags of the mock's document that describe the mock itself, not an API a client uses.
const OWN_TAGS: [&str; 2] = ["admin", "meta"];

/// How an operation is authenticated, which decides how token expiry is provoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Credentials {
    /// Procore's OAuth bearer token.
    Bearer,
    /// Crux Connect's `Token` from its login.
    CruxToken,
    /// None (OAuth endpoints, Crux's login, public avatars).
    None,
}

/// One operation a mock serves to clients, as its OpenAPI document describes it.
#[derive(Clone, Debug)]
struct Operation {
    /// Upper case.
    method: String,
    /// Route template; `{name}` matches one non-empty segment.
    template: String,
    /// The statuses it can answer: those the document lists, and 503 on Procore's API.
    answers: Vec<u16>,
    /// The document's description of each error status (the fallback situation).
    descriptions: BTreeMap<u16, String>,
    /// Takes `page`, so a page past the last can be asked for.
    paginated: bool,
    credentials: Credentials,
}

/// The operations a mock serves to clients (Procore's API, OAuth, webhooks, Crux Connect),
/// read from the mock's own OpenAPI document (`GET /openapi.json`), so coverage knows every
/// operation that mock serves (its profile, with or without Crux) and no list is kept here.
#[derive(Clone, Debug)]
pub struct Catalogue {
    operations: Vec<Operation>,
}

/// A document coverage cannot read operations from.
#[derive(Debug, thiserror::Error)]
#[error("not an OpenAPI document with operations: {0}")]
pub struct CatalogueError(String);

impl Catalogue {
    /// The client-facing operations of `document` (a mock's `GET /openapi.json`), in its
    /// order; the mock's own (`/__admin`, the document itself) are left out.
    pub fn from_openapi(document: &Value) -> Result<Self, CatalogueError> {
        let paths = document["paths"]
            .as_object()
            .ok_or_else(|| CatalogueError("no `paths` object".to_owned()))?;
        let mut operations = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, described) in item {
                let tags: Vec<&str> = described["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if template.starts_with("/__admin") || tags.iter().any(|t| OWN_TAGS.contains(t)) {
                    continue;
                }
                operations.push(Operation::from_openapi(method, template, described));
            }
        }
        if operations.is_empty() {
            return Err(CatalogueError(
                "`paths` lists no operation a client calls".to_owned(),
            ));
        }
        Ok(Self { operations })
    }

    /// `METHOD template` of every operation, in the document's order.
    pub fn operation_names(&self) -> Vec<String> {
        self.operations.iter().map(Operation::name).collect()
    }

    /// The operation `method path` is a call of: of the templates it fits, the one with the
    /// fewest placeholders (`/users/inactive` before `/users/{id}`).
    fn find(&self, method: &str, path: &str) -> Option<usize> {
        self.operations
            .iter()
            .enumerate()
            .filter_map(|(index, op)| op.fit(method, path).map(|holes| (holes, index)))
            .min()
            .map(|(_, index)| index)
    }
}

impl Operation {
    fn from_openapi(method: &str, template: &str, described: &Value) -> Self {
        let responses = described["responses"].as_object();
        let mut answers: Vec<u16> = responses
            .into_iter()
            .flatten()
            .filter_map(|(status, _)| status.parse().ok())
            .collect();
        let descriptions = responses
            .into_iter()
            .flatten()
            .filter_map(|(status, response)| {
                Some((
                    status.parse().ok()?,
                    response["description"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let schemes: Vec<&str> = described["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|requirement| requirement.keys().map(String::as_str))
            .collect();
        let credentials = if schemes.contains(&"bearer") {
            Credentials::Bearer
        } else if schemes.contains(&"cruxToken") {
            Credentials::CruxToken
        } else {
            Credentials::None
        };
        if credentials == Credentials::Bearer && !answers.contains(&503) {
            // Procore can throttle any call under heavy load (503 with Retry-After); the
            // document lists what the mock answers on its own, faults aside.
            answers.push(503);
        }
        answers.sort_unstable();
        answers.dedup();
        let paginated = described["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|parameter| parameter["in"] == "query" && parameter["name"] == "page");
        Self {
            method: method.to_ascii_uppercase(),
            template: template.to_owned(),
            answers,
            descriptions,
            paginated,
            credentials,
        }
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// How many placeholders `method path` fills in this operation's template, if it fits.
    fn fit(&self, method: &str, path: &str) -> Option<usize> {
        if !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let wanted: Vec<&str> = self.template.trim_end_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        if wanted.len() != got.len() {
            return None;
        }
        let mut holes = 0;
        for (w, g) in wanted.iter().zip(&got) {
            if w.starts_with('{') && w.ends_with('}') {
                if g.is_empty() {
                    return None;
                }
                holes += 1;
            } else if w != g {
                return None;
            }
        }
        Some(holes)
    }
}

/// Whether `entry`, a call of a paginated list, asked for a page past the last: a 200 for page
/// 2 or later with no records on it, read from the `Total` and `Per-Page` headers the journal
/// kept, or from an answer body of `[]` when it has no `Total`.
fn is_past_the_end(entry: &JournalEntry) -> bool {
    if entry.status != 200 {
        return false;
    }
    let page = entry
        .query
        .as_deref()
        .and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "page")
                .and_then(|(_, value)| value.parse::<u64>().ok())
        })
        .unwrap_or(1);
    if page < 2 {
        return false;
    }
    let number = |name: &str| {
        entry
            .response_number(name)
            .and_then(|n| u64::try_from(n).ok())
    };
    match (number("total"), number("per-page")) {
        (Some(total), Some(per_page)) => (page - 1).saturating_mul(per_page) >= total,
        _ => entry
            .response_body
            .as_deref()
            .and_then(|body| serde_json::from_str::<Value>(body).ok())
            .is_some_and(|body| body.as_array().is_some_and(Vec::is_empty)),
    }
}

/// A situation the client never met and how to make the mock produce it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Unmet {
    /// The status Procore would answer (`None` for past-the-end pages, which answer 200).
    pub status: Option<u16>,
    /// What it stands for.
    pub situation: String,
    /// The call that makes it happen: `method`, `path` and, for `/__admin` calls, `body`.
    pub provoke: Value,
}

/// What the client met on one operation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OperationCoverage {
    /// `METHOD template`.
    pub operation: String,
    /// Requests journaled (pages past the end included: they are calls of the list).
    pub calls: usize,
    /// Requests by status answered.
    pub statuses: BTreeMap<u16, usize>,
    /// On a paginated list, how many calls asked for a page past the last (answered 200 with
    /// no records); absent on other operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_past_the_end: Option<usize>,
    /// What Procore (or Crux) can answer that the client never met here.
    pub never_met: Vec<Unmet>,
}

/// The coverage of a journal selection.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Coverage {
    /// Requests read from the journal.
    pub requests: usize,
    /// Operations the client called, in the catalogue's order.
    pub operations: Vec<OperationCoverage>,
    /// Operations it never called.
    pub never_called: Vec<String>,
    /// Requests that matched no operation of the catalogue (`/__admin`, unknown paths).
    pub unmatched: usize,
}

/// The coverage of `journal` (already filtered to the client and period of interest) over the
/// operations of `catalogue`.
pub fn coverage(catalogue: &Catalogue, journal: &[JournalEntry]) -> Coverage {
    let operations = &catalogue.operations;
    let mut met: Vec<Option<OperationCoverage>> = vec![None; operations.len()];
    let mut unmatched = 0;
    for entry in journal {
        let Some(index) = catalogue.find(&entry.method, &entry.path) else {
            unmatched += 1;
            continue;
        };
        let operation = &operations[index];
        let slot = met[index].get_or_insert_with(|| OperationCoverage {
            operation: operation.name(),
            calls: 0,
            statuses: BTreeMap::new(),
            pages_past_the_end: operation.paginated.then_some(0),
            never_met: Vec::new(),
        });
        slot.calls += 1;
        *slot.statuses.entry(entry.status).or_default() += 1;
        if let Some(past) = &mut slot.pages_past_the_end {
            *past += usize::from(is_past_the_end(entry));
        }
    }
    let mut covered = Vec::new();
    let mut never_called = Vec::new();
    for (operation, seen) in operations.iter().zip(met) {
        let Some(mut seen) = seen else {
            never_called.push(operation.name());
            continue;
        };
        seen.never_met = operation
            .answers
            .iter()
            .filter(|status| !seen.statuses.contains_key(status))
            .filter_map(|&status| unmet(operation, status))
            .collect();
        if seen.pages_past_the_end == Some(0) {
            seen.never_met.push(Unmet {
                status: None,
                situation: "a page past the end (200 with no records): check your client stops"
                    .to_owned(),
                provoke: json!({"method": "GET", "path": format!("{}?page=100000", operation.template)}),
            });
        }
        covered.push(seen);
    }
    Coverage {
        requests: journal.len(),
        operations: covered,
        never_called,
        unmatched,
    }
}

/// The situation behind `status` on `operation` and the call that provokes it (`method`,
/// `path`, and `body` for `/__admin` calls); `None` for success and redirects.
fn unmet(operation: &Operation, status: u16) -> Option<Unmet> {
    let fault = |extra: Value| {
        let mut rule = json!({"method": operation.method, "path": operation.template, "status": status, "times": 1});
        if let (Value::Object(rule), Value::Object(extra)) = (&mut rule, extra) {
            rule.extend(extra);
        }
        json!({"method": "POST", "path": "/__admin/faults", "body": rule})
    };
    let expiry = |seconds: u64| json!({"method": "POST", "path": "/__admin/clock/advance", "body": {"seconds": seconds}});
    let (situation, provoke) = match (status, operation.credentials) {
        (200..=399, _) => return None,
        (401, Credentials::Bearer) => (
            "token expiry (401): renew the token and retry".to_owned(),
            expiry(TOKEN_LIFETIME_SECS),
        ),
        (401, Credentials::CruxToken) => (
            "Crux token expiry (401): log in again and retry".to_owned(),
            expiry(CRUX_TOKEN_LIFETIME_SECS),
        ),
        (429, _) => (
            "the rate limit (429 with Retry-After): wait and retry".to_owned(),
            fault(json!({"retry_after": 1})),
        ),
        (503, _) => (
            "heavy-load throttling (503 with Retry-After)".to_owned(),
            fault(json!({"retry_after": 1})),
        ),
        // Otherwise the mock's own words for the status on this operation.
        (other, _) => (
            match operation.descriptions.get(&other) {
                Some(description) => format!("{description} ({other})"),
                None => format!("status {other}"),
            },
            fault(json!({})),
        ),
    };
    Some(Unmet {
        status: Some(status),
        situation,
        provoke,
    })
}

/// The coverage for people: the operation × status table, then what was never met.
pub fn text(coverage: &Coverage) -> String {
    let mut out = String::new();
    let columns: Vec<u16> = coverage
        .operations
        .iter()
        .flat_map(|op| op.statuses.keys().copied())
        .collect::<std::collections::BTreeSet<u16>>()
        .into_iter()
        .collect();
    let width = coverage
        .operations
        .iter()
        .map(|op| op.operation.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let lists = coverage
        .operations
        .iter()
        .any(|op| op.pages_past_the_end.is_some());
    let _ = write!(out, "{:width$}  calls", "operation");
    for status in &columns {
        let _ = write!(out, "  {status:>4}");
    }
    if lists {
        out.push_str("  past end");
    }
    out.push('\n');
    for op in &coverage.operations {
        let _ = write!(out, "{:width$}  {:>5}", op.operation, op.calls);
        for status in &columns {
            match op.statuses.get(status) {
                Some(count) => {
                    let _ = write!(out, "  {count:>4}");
                }
                None => out.push_str("     ."),
            }
        }
        if let Some(past) = op.pages_past_the_end.filter(|_| lists) {
            let _ = write!(out, "  {past:>8}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} requests, {} matched no operation the mock serves",
        coverage.requests, coverage.unmatched
    );
    let unmet: Vec<&OperationCoverage> = coverage
        .operations
        .iter()
        .filter(|op| !op.never_met.is_empty())
        .collect();
    if !unmet.is_empty() {
        out.push_str(
            "\nnever met (Procore or Crux can answer these; the call makes the mock do it):\n",
        );
    }
    for op in unmet {
        let _ = writeln!(out, "{}", op.operation);
        for item in &op.never_met {
            let mut call = format!(
                "{} {}",
                item.provoke["method"].as_str().unwrap_or_default(),
                item.provoke["path"].as_str().unwrap_or_default()
            );
            if let Some(body) = item.provoke.get("body") {
                let _ = write!(call, " {body}");
            }
            let _ = writeln!(out, "  {}: {call}", item.situation);
        }
    }
    if !coverage.never_called.is_empty() {
        out.push_str("\nnever called:\n");
        for operation in &coverage.never_called {
            let _ = writeln!(out, "  {operation}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, status: u16) -> JournalEntry {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (path, None),
        };
        JournalEntry {
            method: method.to_owned(),
            path: path.to_owned(),
            query,
            status,
            ..JournalEntry::default()
        }
    }

    fn responses(statuses: &[u16]) -> Value {
        statuses
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    json!({"description": format!("described {s}")}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// A document shaped like the mock's `/openapi.json`, with a few of its operations.
    fn catalogue() -> Catalogue {
        let rest = json!([{"bearer": []}]);
        let page = json!([{"name": "page", "in": "query"}]);
        let document = json!({"paths": {
            "/rest/v1.0/me": {"get": {"tags": ["procore"], "security": rest,
                "responses": responses(&[200, 401, 403, 429])}},
            "/rest/v1.0/companies/{company_id}/users": {
                "get": {"tags": ["procore"], "security": rest, "parameters": page,
                    "responses": responses(&[200, 401, 403, 429])},
                "post": {"tags": ["procore"], "security": rest,
                    "responses": responses(&[201, 400, 401, 403, 409, 422, 429])}},
            "/rest/v1.3/companies/{company_id}/users": {"get": {"tags": ["procore"],
                "security": rest, "parameters": page, "responses": responses(&[200, 401])}},
            "/rest/v1.0/companies/{company_id}/users/{id}": {"get": {"tags": ["procore"],
                "security": rest, "responses": responses(&[200, 404])}},
            "/rest/v1.0/companies/{company_id}/users/inactive": {"get": {"tags": ["procore"],
                "security": rest, "parameters": page, "responses": responses(&[200, 401])}},
            "/oauth/token": {"post": {"tags": ["oauth"], "responses": responses(&[200, 400, 401])}},
            "/organizations/user-login/": {"post": {"tags": ["crux"],
                "responses": responses(&[200, 400, 401])}},
            "/organizations/users/permissions/{user_uuid}/": {"patch": {"tags": ["crux"],
                "security": [{"cruxToken": []}], "responses": responses(&[200, 400, 401, 403, 404])}},
            "/openapi.json": {"get": {"tags": ["meta"], "responses": responses(&[200])}},
            "/__admin/requests": {"get": {"tags": ["admin"], "responses": responses(&[200])}},
        }});
        Catalogue::from_openapi(&document).unwrap()
    }

    fn operation<'a>(report: &'a Coverage, name: &str) -> &'a OperationCoverage {
        report
            .operations
            .iter()
            .find(|op| op.operation == name)
            .unwrap_or_else(|| panic!("{name} in {report:?}"))
    }

    #[test]
    fn the_catalogue_is_the_documents_client_operations() {
        let names = catalogue().operation_names();
        assert!(names.contains(&"PATCH /organizations/users/permissions/{user_uuid}/".to_owned()));
        assert!(names.contains(&"POST /oauth/token".to_owned()));
        assert!(
            !names
                .iter()
                .any(|n| n.contains("/__admin") || n.contains("openapi")),
            "the mock's own operations are not a client's: {names:?}"
        );
        assert!(Catalogue::from_openapi(&json!({"openapi": "3.0.3"})).is_err());
    }

    #[test]
    fn requests_are_counted_per_operation_and_status() {
        let journal = [
            entry("GET", "/rest/v1.0/companies/8001/users", 200),
            entry("GET", "/rest/v1.0/companies/8001/users", 429),
            entry("GET", "/rest/v1.3/companies/8001/users", 200),
            entry("GET", "/rest/v1.0/companies/8001/users/inactive", 200),
            entry("GET", "/rest/v1.0/companies/8001/users/10001", 200),
            entry("POST", "/rest/v1.0/companies/8001/users", 201),
            entry("GET", "/__admin/requests", 200),
        ];
        let report = coverage(&catalogue(), &journal);
        assert_eq!(report.unmatched, 1);
        let users = operation(&report, "GET /rest/v1.0/companies/{company_id}/users");
        assert_eq!(users.statuses, BTreeMap::from([(200, 1), (429, 1)]));
        assert_eq!(
            operation(&report, "GET /rest/v1.3/companies/{company_id}/users").calls,
            1,
            "each version is its own operation"
        );
        assert_eq!(
            operation(
                &report,
                "GET /rest/v1.0/companies/{company_id}/users/inactive"
            )
            .calls,
            1,
            "a literal segment wins over a placeholder"
        );
        let create = operation(&report, "POST /rest/v1.0/companies/{company_id}/users");
        let unmet: Vec<Option<u16>> = create.never_met.iter().map(|u| u.status).collect();
        assert_eq!(
            unmet,
            [
                Some(400),
                Some(401),
                Some(403),
                Some(409),
                Some(422),
                Some(429),
                Some(503)
            ],
            "the document's statuses, and 503 on Procore's API"
        );
        let conflict = &create.never_met[3];
        assert_eq!(conflict.situation, "described 409 (409)");
        assert_eq!(
            conflict.provoke["body"],
            json!({"method": "POST", "path": "/rest/v1.0/companies/{company_id}/users", "status": 409, "times": 1})
        );
        assert_eq!(
            create.never_met[1].provoke["path"], "/__admin/clock/advance",
            "token expiry is a clock step"
        );
        assert_eq!(create.pages_past_the_end, None, "a create is no list");
        assert!(report
            .never_called
            .contains(&"GET /rest/v1.0/me".to_owned()));
    }

    #[test]
    fn crux_operations_are_counted_and_their_token_expires_on_crux_time() {
        let journal = [
            entry("POST", "/organizations/user-login/", 200),
            entry(
                "PATCH",
                "/organizations/users/permissions/5de38a8e-800e-4cba-84c5-ee6c27f304d8/",
                200,
            ),
        ];
        let report = coverage(&catalogue(), &journal);
        assert_eq!(report.unmatched, 0);
        let grant = operation(
            &report,
            "PATCH /organizations/users/permissions/{user_uuid}/",
        );
        assert_eq!(grant.statuses, BTreeMap::from([(200, 1)]));
        let statuses: Vec<Option<u16>> = grant.never_met.iter().map(|u| u.status).collect();
        assert_eq!(
            statuses,
            [Some(400), Some(401), Some(403), Some(404)],
            "no 503: Crux is not Procore"
        );
        assert_eq!(
            grant.never_met[1].provoke["body"],
            json!({"seconds": CRUX_TOKEN_LIFETIME_SECS})
        );
        let login = operation(&report, "POST /organizations/user-login/");
        assert_eq!(
            login.never_met[1].provoke["path"], "/__admin/faults",
            "a refused login is a fault, not a clock step"
        );
    }

    #[test]
    fn a_page_past_the_end_is_a_call_of_the_list_and_is_seen() {
        let page = |query: &str, total: &str, body: Option<&str>| {
            let mut entry = entry(
                "GET",
                &format!("/rest/v1.0/companies/8001/users{query}"),
                200,
            );
            if !total.is_empty() {
                entry.response_headers = BTreeMap::from([
                    ("total".to_owned(), total.to_owned()),
                    ("per-page".to_owned(), "100".to_owned()),
                ]);
            }
            entry.response_body = body.map(str::to_owned);
            entry
        };
        let list = "GET /rest/v1.0/companies/{company_id}/users";
        let past = |journal: &[JournalEntry]| {
            let report = coverage(&catalogue(), journal);
            let users = operation(&report, list).clone();
            let reminded = users.never_met.iter().any(|u| u.status.is_none());
            (users.calls, users.pages_past_the_end, reminded)
        };
        assert_eq!(
            past(&[
                page("", "3", Some("[{}]")),
                page("?page=2", "3", Some("[]"))
            ]),
            (2, Some(1), false)
        );
        assert_eq!(
            past(&[page("?per_page=100&page=2", "100", None)]),
            (1, Some(1), false),
            "page 2 of exactly one full page is past the end"
        );
        assert_eq!(
            past(&[page("?page=2", "101", None)]),
            (1, Some(0), true),
            "the last page is not past the end"
        );
        assert_eq!(
            past(&[page("", "0", Some("[]"))]),
            (1, Some(0), true),
            "an empty list's one page is not past its end"
        );
        assert_eq!(
            past(&[page("?page=7", "", Some("[]"))]),
            (1, Some(1), false),
            "without Total, an empty later page"
        );
        let report = coverage(
            &catalogue(),
            &[
                page("?page=2", "3", None),
                entry("GET", "/rest/v1.0/me", 200),
            ],
        );
        let table = text(&report);
        let rows: Vec<&str> = table.lines().take(3).collect();
        assert!(rows[0].ends_with("  200  past end"), "{table}");
        assert!(
            rows[1].starts_with("GET /rest/v1.0/me ") && rows[1].ends_with("1"),
            "{table}"
        );
        assert!(
            rows[2].starts_with(list) && rows[2].ends_with("  1         1"),
            "{table}"
        );
        assert!(
            table.contains("\nnever called:\n  POST /rest/v1.0/companies/{company_id}/users\n"),
            "{table}"
        );
    }
}
