//! `--check-schema`: every answer a run receives, checked against Procore's published schema
//! for its operation and status (embedded by `procore-schema`, so nothing is read at run time).
//!
//! Against a real sandbox this reports where Procore's answers differ from Procore's own
//! document; against a mock, where the mock does. The report is information, not a verdict on
//! the integration: it does not change the run's exit code.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use procore_schema::{ProcoreSchema, Quirk, Verdict};
use serde_json::Value;

/// At most this many differences are printed per operation and status.
const SHOWN_PER_ANSWER: usize = 3;

/// The answers checked so far and what differed. Shared by concurrent steps behind a mutex:
/// recording is a push, never held across an await.
pub struct SchemaCheck {
    schema: ProcoreSchema,
    tally: std::sync::Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    checked: usize,
    undocumented: BTreeMap<String, usize>,
    /// By `operationId status`: how many answers differed, and the first differences seen.
    differences: BTreeMap<String, (usize, Vec<String>)>,
    quirks: BTreeMap<Quirk, usize>,
}

impl Default for SchemaCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl SchemaCheck {
    /// A check against the embedded document.
    pub fn new() -> Self {
        Self {
            schema: ProcoreSchema::embedded(),
            tally: std::sync::Mutex::new(Tally::default()),
        }
    }

    /// Checks one answer: `url` may be absolute (a followed `Link`) and carry a query.
    pub fn record(&self, method: &str, url: &str, status: u16, body: &Value) {
        let path = path_of(url);
        let verdict = self.schema.check(method, &path, status, body);
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        match verdict {
            Verdict::Undocumented => {
                *tally
                    .undocumented
                    .entry(format!("{method} {}", template_of(&path)))
                    .or_default() += 1;
            }
            Verdict::Conforms { quirks, .. } => {
                tally.checked += 1;
                for quirk in quirks {
                    *tally.quirks.entry(quirk).or_default() += 1;
                }
            }
            Verdict::Differs {
                operation_id,
                differences,
                quirks,
            } => {
                tally.checked += 1;
                for quirk in quirks {
                    *tally.quirks.entry(quirk).or_default() += 1;
                }
                let entry = tally
                    .differences
                    .entry(format!("{operation_id} {status}"))
                    .or_default();
                entry.0 += 1;
                for difference in differences {
                    if entry.1.len() < SHOWN_PER_ANSWER && !entry.1.contains(&difference) {
                        entry.1.push(difference);
                    }
                }
            }
        }
    }

    /// How many answers differed from the document.
    pub fn differing_answers(&self) -> usize {
        let tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        tally.differences.values().map(|(n, _)| n).sum()
    }

    /// The report: totals, each differing operation and status with its first differences,
    /// the quirks of Procore's document relied on, and what the document does not cover.
    pub fn report(&self) -> String {
        let tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let differing: usize = tally.differences.values().map(|(n, _)| n).sum();
        let _ = writeln!(
            out,
            "schema check: {} answers checked against Procore's published schema, {differing} differ",
            tally.checked
        );
        for (answer, (count, details)) in &tally.differences {
            let _ = writeln!(out, "  DIFFERS {answer} ({count} answers)");
            for detail in details {
                let _ = writeln!(out, "    {detail}");
            }
        }
        for (quirk, count) in &tally.quirks {
            let _ = writeln!(out, "  relied on: {} ({count} answers)", quirk.name());
        }
        for (operation, count) in &tally.undocumented {
            let _ = writeln!(
                out,
                "  not in Procore's document: {operation} ({count} answers)"
            );
        }
        out
    }
}

/// The path of a URL, without scheme, host or query.
fn path_of(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map(|i| rest[i..].to_owned())
            .unwrap_or_else(|| "/".to_owned()),
        None => without_query.to_owned(),
    }
}

/// A path with numeric segments as `{id}`, so the report groups answers by operation.
fn template_of(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_differing_answer_is_reported_with_its_operation_and_what_differs() {
        let check = SchemaCheck::new();
        check.record(
            "GET",
            "http://sandbox.example/rest/v1.0/companies/1/users/2?x=1",
            200,
            &json!({"id": 2, "vendor": null}),
        );
        check.record(
            "GET",
            "/rest/v1.0/me",
            200,
            &json!({"id": 1, "login": "a", "name": "A"}),
        );
        check.record(
            "DELETE",
            "/rest/v1.0/companies/1/users/2",
            204,
            &Value::Null,
        );
        assert_eq!(check.differing_answers(), 1);
        let report = check.report();
        assert!(report.contains("2 answers checked"), "{report}");
        assert!(
            report.contains("DIFFERS RestV10CompaniesCompanyIdUsersIdGet 200 (1 answers)"),
            "{report}"
        );
        assert!(report.contains("/vendor: null is not of type"), "{report}");
        assert!(
            report
                .contains("not in Procore's document: DELETE /rest/v1.0/companies/{id}/users/{id}"),
            "{report}"
        );
    }

    #[test]
    fn paths_lose_host_and_query() {
        assert_eq!(
            path_of("https://h.example:8/rest/v1.0/me?a=b"),
            "/rest/v1.0/me"
        );
        assert_eq!(path_of("/rest/v1.0/me?a=b"), "/rest/v1.0/me");
    }
}
