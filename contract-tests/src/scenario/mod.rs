//! Scenario files: the schema, loading and validation (this module), `{{var}}` templating
//! ([`template`]), JSON matchers ([`matcher`]), running ([`runner`]) and reports ([`report`]).
//!
//! A file is checked in full when it is loaded, before anything is sent: unknown fields, bad
//! methods, statuses, regexes, pointers and variables used before they are captured are all
//! reported with the file, the step and the field at fault. The format is documented for
//! authors in `scenarios/README.md`.

pub mod matcher;
pub mod report;
pub mod runner;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

/// Variables every scenario starts with.
pub const BUILTIN_VARS: [&str; 6] = [
    "run_id",
    "api_base",
    "company_id",
    "client_id",
    "client_secret",
    "access_token",
];

/// The methods a request may use, upper case as on the wire.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// What a scenario needs from its target; unmet, it is skipped with the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// The mock's own powers: `/__admin` (reset, clock, rate limits, faults).
    MockOnly,
    /// Seed-only behaviour, served by a mock in the `documented` profile.
    ProfileDocumented,
    /// Behaviour only the `official` profile has (e.g. seed extras answered 404/405).
    ProfileOfficial,
}

impl Requirement {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "mock-only" => Some(Requirement::MockOnly),
            "profile:documented" => Some(Requirement::ProfileDocumented),
            "profile:official" => Some(Requirement::ProfileOfficial),
            _ => None,
        }
    }
}

/// One scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name, used by `--filter`, reports and snapshots.
    pub name: String,
    /// What workflow it checks, in a sentence or two.
    pub description: String,
    /// Free-form labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Requirements as written (`mock-only`, `profile:documented`, `profile:official`).
    #[serde(default)]
    pub requires: Vec<String>,
    /// Headers sent on every request of the scenario (templated), e.g. `Procore-Company-Id`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The steps, in order; the first failure ends the scenario.
    pub steps: Vec<Step>,
    /// Steps that always run afterwards (restoring limits, removing faults), pass or fail.
    #[serde(default)]
    pub cleanup: Vec<Step>,
    /// The file it came from.
    #[serde(skip)]
    pub file: PathBuf,
}

/// One step: a request with its expectation, or a check of captured values.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the step does, named in reports.
    pub name: String,
    /// Requirements of this step alone; unmet, the step is skipped and the scenario goes on.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The request to send.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// A value (usually `{{captured}}`) to hold against `expect.json` without a request.
    #[serde(default)]
    pub check: Option<Value>,
    /// What the answer must look like.
    #[serde(default)]
    pub expect: Expectation,
    /// Variables to capture from the answer.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// Appends every answer's body (arrays flattened) to this list variable.
    #[serde(default)]
    pub collect: Option<String>,
    /// Send the request several times.
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

/// A request as written in a file; every string may hold `{{var}}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: String,
    /// Path below the base URL, or an absolute URL (a captured `Link`).
    pub path: String,
    /// Query parameters in order; an array value repeats the parameter.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// Extra headers; they override the scenario's, and `null` leaves a header out.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// A JSON body.
    #[serde(default)]
    pub json: Option<Value>,
    /// A form-urlencoded body.
    #[serde(default)]
    pub form: Option<Map<String, Value>>,
    /// A multipart body.
    #[serde(default)]
    pub multipart: Option<MultipartSpec>,
    /// A body sent byte for byte (not templated), for malformed-input probes.
    #[serde(default)]
    pub raw: Option<String>,
    /// Which token to send.
    #[serde(default)]
    pub auth: Auth,
    /// Which base URL: the API (default) or the OAuth login host.
    #[serde(default)]
    pub base: Base,
}

/// The bearer token a request carries.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Auth {
    /// The scenario's client-credentials token (`{{access_token}}`).
    #[default]
    App,
    /// No `Authorization` header.
    None,
    /// This token (templated).
    Bearer(String),
}

/// Which host a request goes to.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Base {
    /// The REST API (and, on mocks, `/__admin`).
    #[default]
    Api,
    /// The OAuth host (`/oauth/...`).
    Login,
}

/// A multipart body.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartSpec {
    /// Text parts, e.g. `"user[last_name]": "Doe"`.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// File parts.
    #[serde(default)]
    pub files: Vec<FileSpec>,
}

/// One file part.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Part name.
    pub name: String,
    /// File name.
    pub filename: String,
    /// Media type.
    pub content_type: String,
    /// Content, as text.
    pub content: String,
}

/// What an answer must look like; everything optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The status code.
    #[serde(default)]
    pub status: Option<u16>,
    /// Headers by name (case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderExpectation>,
    /// A JSON subset the body must match (see [`matcher`]).
    #[serde(default)]
    pub json: Option<Value>,
    /// The body must be empty (204 answers).
    #[serde(default)]
    pub empty_body: bool,
}

/// A header expectation: a plain string means "equals".
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum HeaderExpectation {
    /// Equal to this (templated).
    Equals(String),
    /// Any of the checks.
    Rule(HeaderRule),
}

/// Checks on one header.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    /// Must be present (`true`) or absent (`false`).
    #[serde(default)]
    pub present: Option<bool>,
    /// Must equal (templated).
    #[serde(default)]
    pub equals: Option<String>,
    /// Must match this regex (templated).
    #[serde(default)]
    pub matches: Option<String>,
}

/// Where a captured variable comes from: a bare string is a JSON pointer into the body.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Capture {
    /// A JSON pointer (`/user/id`; `""` is the whole body).
    Pointer(String),
    /// A header or pointer with an optional regex whose first group is kept.
    Rule(CaptureRule),
}

/// A capture from a header or the body.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureRule {
    /// JSON pointer into the body.
    #[serde(default)]
    pub json: Option<String>,
    /// Header name.
    #[serde(default)]
    pub header: Option<String>,
    /// Keep the first group of this regex (applied to the text).
    #[serde(default)]
    pub regex: Option<String>,
    /// The body (or checked value) is an array: take the first element matching this
    /// expectation, and apply `json` inside it.
    #[serde(default, rename = "where")]
    pub where_: Option<Value>,
}

/// How a step repeats.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Send it this many times; `{{i}}` (or `var`) counts from 0.
    #[serde(default)]
    pub times: Option<u32>,
    /// Name of the counter variable (default `i`).
    #[serde(default)]
    pub var: Option<String>,
    /// Walk pages: after each answer follow its `Link` entry with this rel (`next`).
    #[serde(default)]
    pub follow_link: Option<String>,
    /// Most requests a walk may send before it counts as a failure (default 100).
    #[serde(default)]
    pub max: Option<u32>,
}

/// A file could not be used; names the file, the step and the field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {location}: {message}")]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// `step 3 (\"create the user\"), field request.method` or similar.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

/// Loads and validates every `*.json` directly in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|err| LoadError {
        file: dir.display().to_string(),
        location: "directory".to_owned(),
        message: err.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let scenarios = files
        .iter()
        .map(|file| load_file(file))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names = BTreeSet::new();
    for scenario in &scenarios {
        if !names.insert(scenario.name.as_str()) {
            return Err(LoadError {
                file: scenario.file.display().to_string(),
                location: "field name".to_owned(),
                message: format!("another file already has the name `{}`", scenario.name),
            });
        }
    }
    Ok(scenarios)
}

/// Loads and validates one file.
pub fn load_file(file: &Path) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|err| LoadError {
        file: file.display().to_string(),
        location: "file".to_owned(),
        message: err.to_string(),
    })?;
    parse(&text, file)
}

/// Parses and validates a scenario's JSON text; `file` is only for messages.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, LoadError> {
    let fail = |location: String, message: String| LoadError {
        file: file.display().to_string(),
        location,
        message,
    };
    let raw: Value =
        serde_json::from_str(text).map_err(|err| fail("JSON".to_owned(), err.to_string()))?;
    let mut scenario: Scenario = serde_path_to_error::deserialize(&raw).map_err(|err| {
        let path = err.path().to_string();
        fail(locate(&raw, &path), err.into_inner().to_string())
    })?;
    scenario.file = file.to_path_buf();
    validate(&scenario).map_err(|(location, message)| fail(location, message))?;
    Ok(scenario)
}

/// Turns a serde path (`steps[2].request.methd`) into `step 3 ("name"), field request.methd`.
fn locate(raw: &Value, path: &str) -> String {
    for list in ["steps", "cleanup"] {
        let Some(rest) = path.strip_prefix(&format!("{list}[")) else {
            continue;
        };
        let Some((index, field)) = rest.split_once(']') else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        let name = raw[list][index]["name"].as_str().unwrap_or("unnamed");
        let field = field.trim_start_matches('.');
        let which = if list == "steps" {
            "step"
        } else {
            "cleanup step"
        };
        return if field.is_empty() {
            format!("{which} {} (\"{name}\")", index + 1)
        } else {
            format!("{which} {} (\"{name}\"), field {field}", index + 1)
        };
    }
    format!("field {path}")
}

type Invalid = (String, String);

fn validate(scenario: &Scenario) -> Result<(), Invalid> {
    let top = |field: &str, message: String| (format!("field {field}"), message);
    if scenario.name.trim().is_empty() {
        return Err(top("name", "must not be empty".to_owned()));
    }
    if scenario.steps.is_empty() {
        return Err(top(
            "steps",
            "a scenario needs at least one step".to_owned(),
        ));
    }
    for (i, requirement) in scenario.requires.iter().enumerate() {
        check_requirement(requirement).map_err(|m| top(&format!("requires[{i}]"), m))?;
    }
    let mut defined: BTreeSet<String> = BUILTIN_VARS.iter().map(|s| (*s).to_owned()).collect();
    for (name, value) in &scenario.headers {
        check_templates(value, &defined).map_err(|m| top(&format!("headers.{name}"), m))?;
    }
    for (list, steps) in [
        ("step", &scenario.steps),
        ("cleanup step", &scenario.cleanup),
    ] {
        for (index, step) in steps.iter().enumerate() {
            validate_step(step, &mut defined).map_err(|(field, message)| {
                (
                    format!("{list} {} (\"{}\"), field {field}", index + 1, step.name),
                    message,
                )
            })?;
        }
    }
    Ok(())
}

fn check_requirement(text: &str) -> Result<Requirement, String> {
    Requirement::parse(text).ok_or_else(|| {
        format!(
            "unknown requirement `{text}` (known: mock-only, profile:documented, profile:official)"
        )
    })
}

fn validate_step(step: &Step, defined: &mut BTreeSet<String>) -> Result<(), Invalid> {
    let at = |field: &str, message: String| (field.to_owned(), message);
    for (i, requirement) in step.requires.iter().enumerate() {
        check_requirement(requirement).map_err(|m| at(&format!("requires[{i}]"), m))?;
    }
    let mut scope = defined.clone();
    if let Some(repeat) = &step.repeat {
        match (repeat.times, &repeat.follow_link) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(at(
                    "repeat",
                    "give exactly one of `times` or `follow_link`".to_owned(),
                ))
            }
            (Some(0), None) => return Err(at("repeat.times", "must be at least 1".to_owned())),
            _ => {}
        }
        if repeat.max == Some(0) {
            return Err(at("repeat.max", "must be at least 1".to_owned()));
        }
        scope.insert(repeat.var.clone().unwrap_or_else(|| "i".to_owned()));
    }
    match (&step.request, &step.check) {
        (Some(request), None) => validate_request(request, &scope)?,
        (None, Some(value)) => {
            check_value_templates(value, &scope).map_err(|m| at("check", m))?;
            if step.expect.json.is_none() {
                return Err(at("expect.json", "a check needs `expect.json`".to_owned()));
            }
            if step.repeat.is_some() || step.collect.is_some() {
                return Err(at("check", "a check cannot repeat or collect".to_owned()));
            }
        }
        _ => {
            return Err(at(
                "request",
                "give exactly one of `request` or `check`".to_owned(),
            ))
        }
    }
    let expect = &step.expect;
    if let Some(status) = expect.status {
        if !(100..=599).contains(&status) {
            return Err(at(
                "expect.status",
                format!("{status} is not an HTTP status"),
            ));
        }
    }
    for (name, rule) in &expect.headers {
        let field = format!("expect.headers.{name}");
        let (equals, matches) = match rule {
            HeaderExpectation::Equals(value) => (Some(value), None),
            HeaderExpectation::Rule(rule) => {
                if rule.present.is_none() && rule.equals.is_none() && rule.matches.is_none() {
                    return Err(at(
                        &field,
                        "give `present`, `equals` or `matches`".to_owned(),
                    ));
                }
                (rule.equals.as_ref(), rule.matches.as_ref())
            }
        };
        for text in equals.into_iter().chain(matches) {
            check_templates(text, &scope).map_err(|m| at(&field, m))?;
        }
        if let Some(pattern) = matches {
            if !template::has_templates(pattern) {
                regex::Regex::new(pattern).map_err(|e| at(&field, e.to_string()))?;
            }
        }
    }
    if let Some(json) = &expect.json {
        check_value_templates(json, &scope).map_err(|m| at("expect.json", m))?;
        matcher::validate(json).map_err(|m| at("expect.json", m))?;
    }
    for (name, capture) in &step.capture {
        let field = format!("capture.{name}");
        let (pointer, regex) = match capture {
            Capture::Pointer(pointer) => (Some(pointer), None),
            Capture::Rule(rule) => {
                if rule.json.is_some() == rule.header.is_some() {
                    return Err(at(
                        &field,
                        "give exactly one of `json` or `header`".to_owned(),
                    ));
                }
                if let Some(filter) = &rule.where_ {
                    if rule.header.is_some() {
                        return Err(at(&field, "`where` needs `json`, not `header`".to_owned()));
                    }
                    check_value_templates(filter, &scope).map_err(|m| at(&field, m))?;
                    matcher::validate(filter).map_err(|m| at(&field, m))?;
                }
                (rule.json.as_ref(), rule.regex.as_ref())
            }
        };
        if let Some(pointer) = pointer {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(at(
                    &field,
                    format!("`{pointer}` is not a JSON pointer (start it with `/`)"),
                ));
            }
        }
        if let Some(regex) = regex {
            let compiled = regex::Regex::new(regex).map_err(|e| at(&field, e.to_string()))?;
            if compiled.captures_len() < 2 {
                return Err(at(&field, "the regex needs a group to keep".to_owned()));
            }
        }
        defined.insert(name.clone());
    }
    if let Some(list) = &step.collect {
        defined.insert(list.clone());
    }
    Ok(())
}

fn validate_request(request: &RequestSpec, scope: &BTreeSet<String>) -> Result<(), Invalid> {
    let at = |field: &str, message: String| (field.to_owned(), message);
    if !METHODS.contains(&request.method.as_str()) {
        return Err(at(
            "request.method",
            format!("`{}` is not one of {}", request.method, METHODS.join(", ")),
        ));
    }
    if !(request.path.starts_with('/') || request.path.starts_with("{{")) {
        return Err(at(
            "request.path",
            "must start with `/` (or be a captured URL)".to_owned(),
        ));
    }
    check_templates(&request.path, scope).map_err(|m| at("request.path", m))?;
    for (name, value) in &request.query {
        check_value_templates(value, scope).map_err(|m| at(&format!("request.query.{name}"), m))?;
        if value.is_object() {
            return Err(at(
                &format!("request.query.{name}"),
                "must be a string, number, boolean or an array of them".to_owned(),
            ));
        }
    }
    for (name, value) in &request.headers {
        if let Some(value) = value {
            check_templates(value, scope).map_err(|m| at(&format!("request.headers.{name}"), m))?;
        }
    }
    let bodies = [
        request.json.is_some(),
        request.form.is_some(),
        request.multipart.is_some(),
        request.raw.is_some(),
    ];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err(at(
            "request",
            "give at most one of `json`, `form`, `multipart` or `raw`".to_owned(),
        ));
    }
    if let Some(json) = &request.json {
        check_value_templates(json, scope).map_err(|m| at("request.json", m))?;
    }
    if let Some(form) = &request.form {
        for (name, value) in form {
            check_value_templates(value, scope)
                .map_err(|m| at(&format!("request.form.{name}"), m))?;
        }
    }
    if let Some(multipart) = &request.multipart {
        for (name, value) in &multipart.fields {
            check_value_templates(value, scope)
                .map_err(|m| at(&format!("request.multipart.fields.{name}"), m))?;
        }
    }
    if let Auth::Bearer(token) = &request.auth {
        check_templates(token, scope).map_err(|m| at("request.auth.bearer", m))?;
    }
    Ok(())
}

fn check_templates(text: &str, scope: &BTreeSet<String>) -> Result<(), String> {
    for name in template::names(text)? {
        if !scope.contains(name) {
            return Err(format!(
                "`{{{{{name}}}}}` is used before it is captured (known here: {})",
                scope.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(())
}

fn check_value_templates(value: &Value, scope: &BTreeSet<String>) -> Result<(), String> {
    match value {
        Value::String(text) => check_templates(text, scope),
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_value_templates(item, scope)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            check_templates(key, scope)?;
            check_value_templates(item, scope)
        }),
        _ => Ok(()),
    }
}

impl Scenario {
    /// The scenario's requirements, parsed (validation already refused unknown ones).
    pub fn requirements(&self) -> Vec<Requirement> {
        self.requires
            .iter()
            .filter_map(|r| Requirement::parse(r))
            .collect()
    }
}

impl Step {
    /// The step's own requirements, parsed.
    pub fn requirements(&self) -> Vec<Requirement> {
        self.requires
            .iter()
            .filter_map(|r| Requirement::parse(r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        parse(text, Path::new("scenarios/x.json"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn an_unknown_field_names_file_step_and_field() {
        let err = error_of(
            r#"{"name": "x", "description": "d", "steps": [
                {"name": "first", "request": {"method": "GET", "path": "/a"}},
                {"name": "second", "request": {"methd": "GET", "path": "/a"}}]}"#,
        );
        assert!(
            err.starts_with("scenarios/x.json: step 2 (\"second\"), field request"),
            "{err}"
        );
        assert!(err.contains("methd"), "{err}");
    }

    #[test]
    fn a_variable_used_before_capture_is_refused() {
        let err = error_of(
            r#"{"name": "x", "description": "d", "steps": [
                {"name": "use", "request": {"method": "GET", "path": "/users/{{user_id}}"}},
                {"name": "capture", "request": {"method": "GET", "path": "/a"}, "capture": {"user_id": "/id"}}]}"#,
        );
        assert!(
            err.contains("step 1 (\"use\"), field request.path"),
            "{err}"
        );
        assert!(err.contains("{{user_id}}"), "{err}");
    }

    #[test]
    fn bad_status_method_matcher_and_requirement_are_named() {
        let step = |body: &str| {
            error_of(&format!(
                r#"{{"name": "x", "description": "d", "steps": [{{"name": "s", {body}}}]}}"#
            ))
        };
        assert!(
            step(r#""request": {"method": "get", "path": "/a"}"#).contains("field request.method")
        );
        assert!(
            step(r#""request": {"method": "GET", "path": "/a"}, "expect": {"status": 99}"#)
                .contains("field expect.status")
        );
        assert!(step(
            r#""request": {"method": "GET", "path": "/a"}, "expect": {"json": "$intger"}"#
        )
        .contains("$intger"));
        assert!(
            step(r#""requires": ["cloud"], "request": {"method": "GET", "path": "/a"}"#)
                .contains("unknown requirement `cloud`")
        );
    }
}
