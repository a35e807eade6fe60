//! Coverage: which answers a client's traffic met, per emulated operation, read from the mock's
//! journal; and what it never met that Procore can answer, with the fault rule or clock step
//! that makes the mock answer it. It tells a team which failure paths their CI never exercises.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

use crate::admin::JournalEntry;

/// Token lifetime the contract gives; advancing the clock past it expires every token.
const TOKEN_LIFETIME_SECS: u64 = 5400;

/// One emulated operation: method, route template, and the statuses Procore can answer it with.
struct Operation {
    method: &'static str,
    /// Route template; `{name}` matches one segment (`{version}` is `v1.0`, `v1.1` or `v1.3`).
    template: &'static str,
    answers: &'static [u16],
}

/// Statuses any authenticated call can meet: an expired token, no permission, the rate limit,
/// heavy-load throttling.
const READ: &[u16] = &[200, 401, 403, 429, 503];
const READ_ONE: &[u16] = &[200, 401, 403, 404, 429, 503];
const CREATE: &[u16] = &[201, 400, 401, 403, 409, 422, 429, 503];
const UPDATE: &[u16] = &[200, 400, 401, 403, 404, 409, 422, 429, 503];
const REMOVE: &[u16] = &[204, 401, 403, 404, 422, 429, 503];

/// The operations the mock emulates, literal routes before the templates they would match.
const OPERATIONS: &[Operation] = &[
    Operation {
        method: "POST",
        template: "/oauth/token",
        answers: &[200, 400, 401],
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/me",
        answers: READ,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/companies",
        answers: READ,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/projects",
        answers: READ,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/companies/{company_id}/permission_templates",
        answers: READ,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/projects/{project_id}/permission_templates",
        answers: READ,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/companies/{company_id}/vendors",
        answers: READ,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/companies/{company_id}/vendors/{id}",
        answers: READ_ONE,
    },
    Operation {
        method: "GET",
        template: "/rest/{version}/companies/{company_id}/users/inactive",
        answers: READ,
    },
    Operation {
        method: "PATCH",
        template: "/rest/v1.0/companies/{company_id}/users/inactive/{id}",
        answers: UPDATE,
    },
    Operation {
        method: "PATCH",
        template: "/rest/v1.0/companies/{company_id}/users/sync",
        answers: UPDATE,
    },
    Operation {
        method: "GET",
        template: "/rest/{version}/companies/{company_id}/users",
        answers: READ,
    },
    Operation {
        method: "POST",
        template: "/rest/v1.0/companies/{company_id}/users",
        answers: CREATE,
    },
    Operation {
        method: "GET",
        template: "/rest/{version}/companies/{company_id}/users/{id}",
        answers: READ_ONE,
    },
    Operation {
        method: "PATCH",
        template: "/rest/{version}/companies/{company_id}/users/{id}",
        answers: UPDATE,
    },
    Operation {
        method: "DELETE",
        template: "/rest/v1.0/companies/{company_id}/users/{id}",
        answers: REMOVE,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/projects/{project_id}/users",
        answers: READ,
    },
    Operation {
        method: "POST",
        template: "/rest/v1.0/projects/{project_id}/users",
        answers: CREATE,
    },
    Operation {
        method: "POST",
        template: "/rest/v1.0/projects/{project_id}/users/{id}/actions/add",
        answers: CREATE,
    },
    Operation {
        method: "DELETE",
        template: "/rest/v1.0/projects/{project_id}/users/{id}/actions/remove",
        answers: REMOVE,
    },
    Operation {
        method: "GET",
        template: "/rest/v1.0/projects/{project_id}/users/{id}",
        answers: READ_ONE,
    },
    Operation {
        method: "PATCH",
        template: "/rest/v1.0/projects/{project_id}/users/{id}",
        answers: UPDATE,
    },
];

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let wanted: Vec<&str> = self.template.split('/').collect();
        let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        wanted.len() == got.len()
            && wanted.iter().zip(&got).all(|(w, g)| match *w {
                "{version}" => matches!(*g, "v1.0" | "v1.1" | "v1.3"),
                w if w.starts_with('{') => !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()),
                w => w == *g,
            })
    }

    /// A paginated list: a GET not ending in a record's id, except `/me`, which answers the
    /// token's one user.
    fn is_list(&self) -> bool {
        self.method == "GET" && !self.template.ends_with('}') && self.template != "/rest/v1.0/me"
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
    /// Requests journaled.
    pub calls: usize,
    /// Requests by status answered.
    pub statuses: BTreeMap<u16, usize>,
    /// What Procore can answer that the client never met here.
    pub never_met: Vec<Unmet>,
}

/// The coverage of a journal selection.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Coverage {
    /// Requests read from the journal.
    pub requests: usize,
    /// Operations the client called, in catalogue order.
    pub operations: Vec<OperationCoverage>,
    /// Operations it never called.
    pub never_called: Vec<String>,
    /// Requests that matched no emulated operation (`/__admin`, unknown paths).
    pub unmatched: usize,
}

/// The coverage of `journal` (already filtered to the client and period of interest).
pub fn coverage(journal: &[JournalEntry]) -> Coverage {
    let mut met: Vec<Option<OperationCoverage>> = vec![None; OPERATIONS.len()];
    let mut unmatched = 0;
    for entry in journal {
        let Some(index) = OPERATIONS
            .iter()
            .position(|op| op.matches(&entry.method, &entry.path))
        else {
            unmatched += 1;
            continue;
        };
        let slot = met[index].get_or_insert_with(|| OperationCoverage {
            operation: OPERATIONS[index].name(),
            calls: 0,
            statuses: BTreeMap::new(),
            never_met: Vec::new(),
        });
        slot.calls += 1;
        *slot.statuses.entry(entry.status).or_default() += 1;
    }
    let mut operations = Vec::new();
    let mut never_called = Vec::new();
    for (operation, seen) in OPERATIONS.iter().zip(met) {
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
        if operation.is_list() && operation.template.starts_with("/rest/") {
            seen.never_met.push(Unmet {
                status: None,
                situation: "a page past the end (200 with []; the journal keeps no bodies, so check your client stops)".to_owned(),
                provoke: json!({"method": "GET", "path": format!("{}?page=100000", operation.template)}),
            });
        }
        operations.push(seen);
    }
    Coverage {
        requests: journal.len(),
        operations,
        never_called,
        unmatched,
    }
}

/// The situation behind `status` on `operation` and the call that provokes it (`method`,
/// `path`, and `body` for `/__admin` calls); `None` for success.
fn unmet(operation: &Operation, status: u16) -> Option<Unmet> {
    let fault = |extra: Value| {
        let mut rule = json!({"method": operation.method, "path": operation.template, "status": status, "times": 1});
        if let (Value::Object(rule), Value::Object(extra)) = (&mut rule, extra) {
            rule.extend(extra);
        }
        json!({"method": "POST", "path": "/__admin/faults", "body": rule})
    };
    let (situation, provoke) = match status {
        200 | 201 | 204 => return None,
        401 if operation.template.starts_with("/rest/") => (
            "token expiry (401): renew the token and retry".to_owned(),
            json!({"method": "POST", "path": "/__admin/clock/advance", "body": {"seconds": TOKEN_LIFETIME_SECS}}),
        ),
        429 => (
            "the rate limit (429 with Retry-After): wait and retry".to_owned(),
            fault(json!({"retry_after": 1})),
        ),
        503 => (
            "heavy-load throttling (503 with Retry-After)".to_owned(),
            fault(json!({"retry_after": 1})),
        ),
        400 => ("a malformed request (400)".to_owned(), fault(json!({}))),
        401 => ("refused credentials (401)".to_owned(), fault(json!({}))),
        403 => (
            "no permission, or the app not installed (403)".to_owned(),
            fault(json!({})),
        ),
        404 => ("an unknown record (404)".to_owned(), fault(json!({}))),
        409 => (
            "a duplicate (409: same email or origin id)".to_owned(),
            fault(json!({})),
        ),
        422 => ("a business rule refused (422)".to_owned(), fault(json!({}))),
        other => (format!("status {other}"), fault(json!({}))),
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
    let _ = write!(out, "{:width$}  calls", "operation");
    for status in &columns {
        let _ = write!(out, "  {status:>4}");
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
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} requests, {} matched no emulated operation",
        coverage.requests, coverage.unmatched
    );
    let unmet: Vec<&OperationCoverage> = coverage
        .operations
        .iter()
        .filter(|op| !op.never_met.is_empty())
        .collect();
    if !unmet.is_empty() {
        out.push_str("\nnever met (Procore can answer these; the call makes the mock do it):\n");
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
        let _ = writeln!(out, "\nnever called: {}", coverage.never_called.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, path: &str, status: u16) -> JournalEntry {
        JournalEntry {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            ..JournalEntry::default()
        }
    }

    #[test]
    fn requests_are_counted_per_operation_and_status() {
        let journal = [
            entry("GET", "/rest/v1.0/companies/8001/users", 200),
            entry("GET", "/rest/v1.3/companies/8001/users", 429),
            entry("GET", "/rest/v1.0/companies/8001/users/inactive", 200),
            entry("POST", "/rest/v1.0/companies/8001/users", 201),
            entry("GET", "/__admin/requests", 200),
        ];
        let report = coverage(&journal);
        assert_eq!(report.unmatched, 1);
        let list = &report.operations[0];
        assert_eq!(
            list.operation,
            "GET /rest/{version}/companies/{company_id}/users/inactive"
        );
        let users = report
            .operations
            .iter()
            .find(|op| op.operation == "GET /rest/{version}/companies/{company_id}/users")
            .unwrap();
        assert_eq!(users.statuses, BTreeMap::from([(200, 1), (429, 1)]));
        let create = report
            .operations
            .iter()
            .find(|op| op.operation.starts_with("POST /rest/v1.0/companies"))
            .unwrap();
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
            ]
        );
        let conflict = &create.never_met[3];
        assert_eq!(
            conflict.provoke["body"],
            json!({"method": "POST", "path": "/rest/v1.0/companies/{company_id}/users", "status": 409, "times": 1})
        );
        assert_eq!(
            create.never_met[1].provoke["path"], "/__admin/clock/advance",
            "token expiry is a clock step"
        );
        assert!(report
            .never_called
            .contains(&"GET /rest/v1.0/me".to_owned()));
    }
}
