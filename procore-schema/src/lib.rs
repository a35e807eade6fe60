//! procore-schema: Procore's published schema for the operations the mock emulates, embedded,
//! and a check of any answer (from the mock or a real sandbox) against it.
//!
//! The document is data, not code: `data/procore-subset.json`, rebuilt from Procore's published
//! OpenAPI document (see `data/PROVENANCE.md` for where each part comes from and what was lost).
//! It is compiled in, so the mock's tests and the harness's `--check-schema` need no file at run
//! time.
//!
//! # Layout
//!
//! - [`ProcoreSchema`]: the document, one compiled validator per operation and status.
//! - [`Verdict`]: what a check of one answer found.
//! - [`Quirk`]: the known looseness of Procore's document and how the check handles each one;
//!   every verdict names the quirks it relied on, so nothing is silenced without a trace.
//!
//! The OpenAPI 3.0 schema objects are read as JSON Schema draft 4 (which they extend), with
//! `nullable: true` translated to a `null` type, and checked by the `jsonschema` crate with
//! formats (`date-time`) enforced.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Procore's document for the emulated operations (OpenAPI 3.0.3, every schema inline).
pub const DOCUMENT: &str = include_str!("../data/procore-subset.json");

/// Known looseness of Procore's document (PROVENANCE.md, "Quirks") that a faithful server
/// cannot satisfy to the letter, and what the check does about each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quirk {
    /// A `oneOf` whose branches are all open objects with only optional properties: a real
    /// object matches several branches, so strict `oneOf` refuses every element (Procore's own
    /// sample included). Such a `oneOf` is read as `anyOf`; a `oneOf` whose branches can be
    /// told apart is kept.
    OneOfOverOpenObjects,
    /// The status is an error Procore answers but its document does not declare for the
    /// operation (404, 409, 422, 429, ...): the body is checked against the error shape the
    /// operation declares for its other errors.
    UndeclaredErrorStatus,
    /// The path is one Procore serves under a newer version than the document holds (`GET
    /// /rest/v1.1/projects`): checked against the older version's schema.
    NewerVersionOfDocumentedOperation,
}

impl Quirk {
    /// Every quirk, for reports that list what was relied on.
    pub const ALL: [Quirk; 3] = [
        Quirk::OneOfOverOpenObjects,
        Quirk::UndeclaredErrorStatus,
        Quirk::NewerVersionOfDocumentedOperation,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Quirk::OneOfOverOpenObjects => "oneOf over open objects read as anyOf",
            Quirk::UndeclaredErrorStatus => "undeclared error status checked as an error body",
            Quirk::NewerVersionOfDocumentedOperation => {
                "newer version checked against the documented one"
            }
        }
    }
}

/// Paths Procore serves that the document holds only under an older version: (method, path
/// template served, path template documented).
const NEWER_VERSIONS: [(&str, &str, &str); 1] =
    [("GET", "/rest/v1.1/projects", "/rest/v1.0/projects")];

/// What checking one answer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The document has no such operation: nothing to check against.
    Undocumented,
    /// The body validates against the document's schema for the operation and status.
    Conforms {
        /// The document's `operationId`.
        operation_id: String,
        /// The quirks the check relied on.
        quirks: Vec<Quirk>,
    },
    /// The answer differs from the document.
    Differs {
        /// The document's `operationId`.
        operation_id: String,
        /// Each difference, as `instance path: message`.
        differences: Vec<String>,
        /// The quirks the check relied on.
        quirks: Vec<Quirk>,
    },
}

impl Verdict {
    /// Whether the answer differs from the document.
    pub fn differs(&self) -> bool {
        matches!(self, Verdict::Differs { .. })
    }
}

/// One operation of the document with a validator per declared status.
struct Operation {
    method: String,
    /// Path template segments; `{name}` segments match any one segment.
    segments: Vec<String>,
    operation_id: String,
    /// Validators by declared status (`"200"`, `"default"`, ...); `None` for a status that
    /// declares no body (204).
    responses: BTreeMap<String, Option<jsonschema::Validator>>,
    /// Quirks relied on when the operation's schemas were read.
    read_quirks: Vec<Quirk>,
}

/// Procore's document, compiled: one validator per operation and declared status.
pub struct ProcoreSchema {
    operations: Vec<Operation>,
}

impl ProcoreSchema {
    /// The embedded document, compiled. Compiling takes a few milliseconds; keep the result.
    pub fn embedded() -> Self {
        let document: Value =
            serde_json::from_str(DOCUMENT).expect("the embedded document is JSON");
        Self::from_document(&document).expect("the embedded document compiles")
    }

    /// A document given as OpenAPI 3.0 JSON, compiled. Errors name the schema that did not
    /// compile.
    pub fn from_document(document: &Value) -> Result<Self, String> {
        let paths = document["paths"]
            .as_object()
            .ok_or("the document has no paths")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let Some(methods) = item.as_object() else {
                continue;
            };
            for (method, operation) in methods {
                let operation_id = operation["operationId"].as_str().unwrap_or(path).to_owned();
                let mut read_quirks = Vec::new();
                let mut responses = BTreeMap::new();
                let declared = operation["responses"].as_object().into_iter().flatten();
                for (status, response) in declared {
                    let schema = &response["content"]["application/json"]["schema"];
                    let validator = if schema.is_null() {
                        None
                    } else {
                        let json_schema = to_json_schema(schema, &mut read_quirks);
                        let validator = jsonschema::draft4::options()
                            .should_validate_formats(true)
                            .build(&json_schema)
                            .map_err(|e| format!("{operation_id} {status}: {e}"))?;
                        Some(validator)
                    };
                    responses.insert(status.clone(), validator);
                }
                read_quirks.sort();
                read_quirks.dedup();
                operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    segments: segments(path),
                    operation_id,
                    responses,
                    read_quirks,
                });
            }
        }
        Ok(Self { operations })
    }

    /// The `operationId`s of the document, in document order.
    pub fn operation_ids(&self) -> impl Iterator<Item = &str> {
        self.operations.iter().map(|op| op.operation_id.as_str())
    }

    /// The `operationId` the document gives `method` on `path` (a concrete path such as
    /// `/rest/v1.0/companies/8001/users`, without query), if it documents it.
    pub fn operation_id(&self, method: &str, path: &str) -> Option<&str> {
        self.find(method, path)
            .map(|(op, _)| op.operation_id.as_str())
    }

    /// Checks one answer: `status` and JSON `body` (ignored for bodiless statuses) of `method`
    /// on `path` (concrete, without query).
    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Verdict {
        let Some((operation, newer)) = self.find(method, path) else {
            return Verdict::Undocumented;
        };
        let mut quirks = operation.read_quirks.clone();
        if newer {
            quirks.push(Quirk::NewerVersionOfDocumentedOperation);
        }
        let operation_id = operation.operation_id.clone();
        let status_key = status.to_string();
        let validator = match operation.responses.get(&status_key) {
            Some(validator) => validator.as_ref(),
            None if status >= 400 => {
                quirks.push(Quirk::UndeclaredErrorStatus);
                operation.error_validator()
            }
            None => {
                let declared: Vec<&str> = operation.responses.keys().map(String::as_str).collect();
                return Verdict::Differs {
                    operation_id,
                    differences: vec![format!(
                        "status {status} is not declared (declared: {})",
                        declared.join(", ")
                    )],
                    quirks,
                };
            }
        };
        let differences: Vec<String> = match validator {
            Some(validator) => validator
                .iter_errors(body)
                .map(|error| describe(&error))
                .collect(),
            None => Vec::new(),
        };
        if differences.is_empty() {
            Verdict::Conforms {
                operation_id,
                quirks,
            }
        } else {
            Verdict::Differs {
                operation_id,
                differences,
                quirks,
            }
        }
    }

    /// The operation for `method` on `path`, and whether it was found through a newer version
    /// of its path. Where several templates fit, the one with most literal segments wins, so
    /// `/users/inactive` is the inactive list, not user `inactive`.
    fn find(&self, method: &str, path: &str) -> Option<(&Operation, bool)> {
        let method = method.to_ascii_uppercase();
        let concrete = segments(path);
        let documented = self
            .operations
            .iter()
            .filter(|op| op.method == method && matches_template(&op.segments, &concrete))
            .max_by_key(|op| literal_count(&op.segments));
        if let Some(op) = documented {
            return Some((op, false));
        }
        NEWER_VERSIONS
            .iter()
            .filter(|(m, served, _)| *m == method && matches_template(&segments(served), &concrete))
            .find_map(|(_, _, documented_path)| {
                let template = segments(documented_path);
                self.operations
                    .iter()
                    .find(|op| op.method == method && op.segments == template)
                    .map(|op| (op, true))
            })
    }
}

impl Operation {
    /// The validator of the operation's declared error body (all its 4xx share one shape).
    fn error_validator(&self) -> Option<&jsonschema::Validator> {
        ["400", "401", "403", "404", "409", "default"]
            .iter()
            .find_map(|status| self.responses.get(*status).and_then(Option::as_ref))
    }
}

/// One validation error as `instance path: message`; for an `anyOf` that no branch matched,
/// each branch's own errors, so the report says what is wrong rather than quoting the object.
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    match error.kind() {
        jsonschema::error::ValidationErrorKind::AnyOf { context }
        | jsonschema::error::ValidationErrorKind::OneOfNotValid { context } => {
            let branches: Vec<String> = context
                .iter()
                .enumerate()
                .map(|(i, errors)| {
                    let errors: Vec<String> = errors.iter().map(describe).collect();
                    format!("branch {}: {}", i + 1, errors.join("; "))
                })
                .collect();
            format!(
                "{}: matches no branch ({})",
                error.instance_path(),
                branches.join(" | ")
            )
        }
        _ => format!("{}: {error}", error.instance_path()),
    }
}

/// `/a/{b}/c` as `["a", "{b}", "c"]`.
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether concrete segments fit a template.
fn matches_template(template: &[String], concrete: &[String]) -> bool {
    template.len() == concrete.len()
        && template
            .iter()
            .zip(concrete)
            .all(|(t, c)| is_parameter(t) || t == c)
}

/// How many segments of a template are literal.
fn literal_count(template: &[String]) -> usize {
    template.iter().filter(|s| !is_parameter(s)).count()
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// An OpenAPI 3.0 schema object as JSON Schema draft 4: `nullable: true` adds `null` to the
/// type (and to an `enum`), OpenAPI-only keywords are dropped, and a `oneOf` over open objects
/// becomes `anyOf` ([`Quirk::OneOfOverOpenObjects`], recorded in `quirks`).
fn to_json_schema(schema: &Value, quirks: &mut Vec<Quirk>) -> Value {
    match schema {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| to_json_schema(item, quirks))
                .collect(),
        ),
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                match key.as_str() {
                    "nullable" | "example" | "readOnly" | "writeOnly" | "deprecated" | "xml"
                    | "discriminator" | "externalDocs" => {}
                    // Property maps and enums hold data, not schemas, at their first level.
                    "properties" => {
                        let properties = value
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(name, property)| {
                                (name.clone(), to_json_schema(property, quirks))
                            })
                            .collect();
                        out.insert(key.clone(), Value::Object(properties));
                    }
                    "enum" | "default" | "required" => {
                        out.insert(key.clone(), value.clone());
                    }
                    "oneOf" if open_object_branches_overlap(value) => {
                        quirks.push(Quirk::OneOfOverOpenObjects);
                        out.insert("anyOf".to_owned(), to_json_schema(value, quirks));
                    }
                    _ => {
                        out.insert(key.clone(), to_json_schema(value, quirks));
                    }
                }
            }
            if object.get("nullable") == Some(&Value::Bool(true)) {
                allow_null(&mut out);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Adds `null` to a schema's `type` and `enum`.
fn allow_null(schema: &mut Map<String, Value>) {
    match schema.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = kind.clone();
            schema.insert("type".to_owned(), serde_json::json!([kind, "null"]));
        }
        Some(Value::Array(kinds)) if !kinds.contains(&Value::from("null")) => {
            kinds.push(Value::from("null"));
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
}

/// Whether two or more branches of a `oneOf` are object schemas with no required property and
/// no closed property set, so that one object can match several of them. (Branches of other
/// types, such as v1.3's bare ids, cannot overlap the objects, so `anyOf` changes nothing there.)
fn open_object_branches_overlap(branches: &Value) -> bool {
    let open_objects = branches.as_array().into_iter().flatten().filter(|branch| {
        branch["type"] == "object"
            && branch
                .get("required")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            && branch.get("additionalProperties") != Some(&Value::Bool(false))
    });
    open_objects.count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_embedded_document_compiles_every_operation() {
        let schema = ProcoreSchema::embedded();
        assert_eq!(schema.operation_ids().count(), 23);
    }

    #[test]
    fn literal_segments_win_over_path_parameters() {
        let schema = ProcoreSchema::embedded();
        assert_eq!(
            schema.operation_id("GET", "/rest/v1.0/companies/1/users/inactive"),
            Some("RestV10CompaniesCompanyIdUsersInactiveGet")
        );
        assert_eq!(
            schema.operation_id("PATCH", "/rest/v1.0/companies/1/users/sync"),
            Some("RestV10CompaniesCompanyIdUsersSyncPatch")
        );
        assert_eq!(
            schema.operation_id("GET", "/rest/v1.0/companies/1/users/7"),
            Some("RestV10CompaniesCompanyIdUsersIdGet")
        );
    }

    #[test]
    fn oneof_is_loosened_only_where_procores_document_needs_it() {
        let schema = ProcoreSchema::embedded();
        let loosened: Vec<&str> = schema
            .operations
            .iter()
            .filter(|op| op.read_quirks.contains(&Quirk::OneOfOverOpenObjects))
            .map(|op| op.operation_id.as_str())
            .collect();
        assert_eq!(
            loosened,
            [
                "RestV10ProjectsProjectIdUsersGet",
                "RestV10VendorsIdGet",
                "RestV13CompaniesCompanyIdUsersGet"
            ]
        );
    }

    #[test]
    fn procores_own_sample_list_conforms() {
        let sample: Value =
            serde_json::from_str(include_str!("../data/upstream/list_company_users.json")).unwrap();
        let schema = ProcoreSchema::embedded();
        let verdict = schema.check("GET", "/rest/v1.0/companies/1/users", 200, &sample);
        assert!(matches!(verdict, Verdict::Conforms { .. }), "{verdict:?}");
    }

    #[test]
    fn a_null_where_the_document_says_not_nullable_differs() {
        let schema = ProcoreSchema::embedded();
        let verdict = schema.check(
            "GET",
            "/rest/v1.0/companies/1/users/2",
            200,
            &json!({"id": 2, "name": "A B", "last_name": "B", "vendor": null}),
        );
        let Verdict::Differs { differences, .. } = verdict else {
            panic!("expected a difference, got {verdict:?}");
        };
        assert!(differences[0].starts_with("/vendor:"), "{differences:?}");
    }

    #[test]
    fn a_bad_date_time_differs() {
        let schema = ProcoreSchema::embedded();
        let verdict = schema.check(
            "GET",
            "/rest/v1.0/companies/1/users",
            200,
            &json!([{"id": 2, "created_at": "yesterday"}]),
        );
        assert!(verdict.differs(), "{verdict:?}");
    }

    #[test]
    fn undeclared_errors_are_checked_as_error_bodies() {
        let schema = ProcoreSchema::embedded();
        let verdict = schema.check(
            "GET",
            "/rest/v1.0/companies/1/users/2",
            404,
            &json!({"message": "User 2 not found"}),
        );
        assert_eq!(
            verdict,
            Verdict::Conforms {
                operation_id: "RestV10CompaniesCompanyIdUsersIdGet".to_owned(),
                quirks: vec![Quirk::UndeclaredErrorStatus],
            }
        );
        let verdict = schema.check(
            "GET",
            "/rest/v1.0/companies/1/users/2",
            404,
            &json!({"message": 7}),
        );
        assert!(verdict.differs());
    }

    #[test]
    fn an_undeclared_success_status_differs() {
        let schema = ProcoreSchema::embedded();
        let verdict = schema.check("POST", "/rest/v1.0/companies/1/users", 200, &json!({}));
        assert!(verdict.differs(), "{verdict:?}");
    }

    #[test]
    fn v1_1_projects_are_checked_against_v1_0() {
        let schema = ProcoreSchema::embedded();
        let verdict = schema.check("GET", "/rest/v1.1/projects", 200, &json!([{"id": 1}]));
        assert_eq!(
            verdict,
            Verdict::Conforms {
                operation_id: "RestV10ProjectsGet".to_owned(),
                quirks: vec![Quirk::NewerVersionOfDocumentedOperation],
            }
        );
    }
}
