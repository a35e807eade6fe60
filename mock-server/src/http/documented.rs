//! What Procore documents for the operation a request calls: its query parameters and its body
//! fields, read from Procore's published document (embedded, see `procore-schema/data`).
//!
//! The warnings (`super::warnings`) use it to tell a client's typo (a name Procore does not
//! document either: "ignored") from a parameter Procore documents and the mock does not
//! emulate ("not applied"): the second passes against the mock and behaves differently on
//! Procore, whatever the client spelt. The document is parsed once, the first time a request
//! sends something its handler did not read.

use std::sync::LazyLock;

use axum::http::Method;
use serde_json::Value;

/// Procore's published document for the emulated operations (OpenAPI 3.0.3; see
/// `procore-schema/data/PROVENANCE.md`).
pub const PROCORE_DOCUMENT: &str = include_str!("../../../procore-schema/data/procore-subset.json");

/// [`PROCORE_DOCUMENT`], parsed.
pub fn procore_document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        serde_json::from_str(PROCORE_DOCUMENT).expect("the embedded Procore document is JSON")
    });
    &DOCUMENT
}

/// One operation of Procore's document, as requests are matched to it.
struct Operation {
    /// Lower case, as the document keys it.
    method: String,
    /// The path template's segments; `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// The query parameters and body fields it documents, as [`Operation::names_of`] writes
    /// them.
    names: Vec<String>,
}

impl Operation {
    /// Query parameters as named (`filters[vendor_id]`); body fields Rails-style under their
    /// root: the root itself (`user`), an object's fields (`user[job_title]`) and an array's
    /// items' fields (`updates[][zip]`), as `super::warnings::Ignored` names what it finds.
    fn names_of(operation: &Value) -> Vec<String> {
        let mut names: Vec<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|parameter| parameter["in"] == "query")
            .filter_map(|parameter| parameter["name"].as_str().map(str::to_owned))
            .collect();
        let bodies = operation["requestBody"]["content"].as_object();
        for media in bodies.into_iter().flat_map(|content| content.values()) {
            let roots = media["schema"]["properties"].as_object();
            for (root, schema) in roots.into_iter().flatten() {
                names.push(root.clone());
                let (prefix, object) = match schema["type"].as_str() {
                    Some("array") => (format!("{root}[]"), &schema["items"]),
                    _ => (root.clone(), schema),
                };
                let fields = object["properties"].as_object();
                names.extend(
                    fields
                        .into_iter()
                        .flat_map(|fields| fields.keys())
                        .map(|field| format!("{prefix}[{field}]")),
                );
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// How well this operation's path template matches `segments`: `None` if it does not,
    /// else how many of its segments are literal (the most literal match wins, so
    /// `users/inactive` is not read as `users/{id}`).
    fn matches(&self, method: &str, segments: &[&str]) -> Option<usize> {
        if self.method != method || self.segments.len() != segments.len() {
            return None;
        }
        let mut literal = 0;
        for (template, sent) in self.segments.iter().zip(segments) {
            match template {
                Some(text) if text == sent => literal += 1,
                Some(_) => return None,
                None => {}
            }
        }
        Some(literal)
    }
}

/// Every operation of Procore's document.
fn operations() -> &'static [Operation] {
    static OPERATIONS: LazyLock<Vec<Operation>> = LazyLock::new(|| {
        let mut operations = Vec::new();
        let paths = procore_document()["paths"].as_object();
        for (path, item) in paths.into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                operations.push(Operation {
                    method: method.clone(),
                    segments: path
                        .split('/')
                        .map(|segment| {
                            let parameter = segment.starts_with('{') && segment.ends_with('}');
                            (!parameter).then(|| segment.to_owned())
                        })
                        .collect(),
                    names: Operation::names_of(operation),
                });
            }
        }
        operations
    });
    &OPERATIONS
}

/// The names Procore documents for the operation `method path` calls (`path` as requested,
/// ids and all), or none when Procore's document has no such operation (the webhooks API,
/// Crux Connect, the mock's own routes).
///
/// A path Procore's document lacks is read as the one it has where the mock serves the same
/// operation under another name: another version (`/rest/v1.1/projects`,
/// `/rest/v1.3/companies/{company_id}/users/{id}`) as v1.0, and the older
/// `/rest/v1.0/companies/{company_id}/vendors[/{id}]` as `/rest/v1.0/vendors[/{id}]`.
pub fn documented_names(method: &Method, path: &str) -> &'static [String] {
    let method = method.as_str().to_ascii_lowercase();
    let find = |path: &str| {
        let segments: Vec<&str> = path.split('/').collect();
        operations()
            .iter()
            .filter_map(|operation| Some((operation.matches(&method, &segments)?, operation)))
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, operation)| operation.names.as_slice())
    };
    if let Some(names) = find(path) {
        return names;
    }
    let v10 = match path.strip_prefix("/rest/") {
        Some(rest) => match rest.split_once('/') {
            Some((_version, tail)) => format!("/rest/v1.0/{tail}"),
            None => return &[],
        },
        None => return &[],
    };
    if let Some(names) = find(&v10) {
        return names;
    }
    let mut segments: Vec<&str> = v10.split('/').collect();
    // ["", "rest", "v1.0", "companies", id, "vendors", ...] -> ["", "rest", "v1.0", "vendors", ...]
    if segments.get(3) == Some(&"companies") && segments.get(5) == Some(&"vendors") {
        segments.drain(3..5);
        return find(&segments.join("/")).unwrap_or(&[]);
    }
    &[]
}

/// Whether `sent` (a name as the request sent it) is one of `documented`. Array brackets do not
/// matter (`filters[vendor_id][]` is `filters[vendor_id]`), and a name below a documented
/// bracketed one is documented with it (`filters[custom_fields][12]` under
/// `filters[custom_fields]`); a body root's fields are documented one by one (`user` does not
/// cover `user[job_titel]`).
pub fn is_documented(documented: &[String], sent: &str) -> bool {
    let sent = sent.strip_suffix("[]").unwrap_or(sent);
    documented.iter().any(|name| {
        let name = name.strip_suffix("[]").unwrap_or(name);
        sent.strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || (name.ends_with(']') && rest.starts_with('[')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents(method: Method, path: &str, name: &str) -> bool {
        is_documented(documented_names(&method, path), name)
    }

    #[test]
    fn query_parameters_are_found_by_the_concrete_path() {
        assert!(documents(
            Method::GET,
            "/rest/v1.0/projects",
            "filters[by_status]"
        ));
        assert!(documents(
            Method::GET,
            "/rest/v1.0/companies/8001/users",
            "filters[trade_id][]"
        ));
        assert!(!documents(
            Method::GET,
            "/rest/v1.0/companies/8001/users",
            "filters[nonsense]"
        ));
        // The method matters: the create documents no list filter.
        assert!(!documents(
            Method::POST,
            "/rest/v1.0/companies/8001/users",
            "filters[search]"
        ));
        assert!(documents(
            Method::POST,
            "/rest/v1.0/companies/8001/users",
            "run_configurable_validations"
        ));
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        // `users/inactive` documents `sort` but not the list's filters.
        assert!(documents(
            Method::GET,
            "/rest/v1.0/companies/8001/users/inactive",
            "sort"
        ));
        assert!(!documents(
            Method::GET,
            "/rest/v1.0/companies/8001/users/inactive",
            "filters[search]"
        ));
    }

    #[test]
    fn other_versions_and_the_older_vendor_paths_read_as_procores() {
        assert!(documents(
            Method::GET,
            "/rest/v1.1/projects",
            "filters[by_status]"
        ));
        assert!(documents(
            Method::GET,
            "/rest/v1.0/companies/8001/vendors",
            "filters[search]"
        ));
        assert!(documents(
            Method::GET,
            "/rest/v1.0/companies/8001/vendors/5",
            "view"
        ));
        assert!(documented_names(&Method::GET, "/rest/v1.0/webhooks/hooks").is_empty());
        assert!(documented_names(&Method::GET, "/organizations/users/all/").is_empty());
    }

    #[test]
    fn body_fields_are_named_rails_style() {
        let patch = |name| documents(Method::PATCH, "/rest/v1.0/projects/2001/users/5", name);
        assert!(patch("user[job_title]"));
        assert!(patch("user"));
        assert!(!patch("user[job_titel]"));
        assert!(documents(
            Method::PATCH,
            "/rest/v1.0/companies/8001/users/sync",
            "updates[][zip]"
        ));
    }

    #[test]
    fn names_below_a_documented_one_are_documented() {
        let documented = ["filters[custom_fields]".to_owned()];
        assert!(is_documented(&documented, "filters[custom_fields][12]"));
        assert!(!is_documented(&documented, "filters[custom_fieldsx]"));
        let roots = ["user".to_owned(), "user[job_title]".to_owned()];
        assert!(is_documented(&roots, "user[job_title]"));
        assert!(!is_documented(&roots, "user[job_titel]"));
    }
}
