//! The scenario file format (documented for users in `scenarios/README.md`), and loading with
//! validation: a problem is reported with its file, step and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::matching;

/// One workflow: a named sequence of requests with expectations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name, used by `--filter` and in reports.
    pub name: String,
    /// What the workflow proves.
    #[serde(default)]
    pub description: String,
    /// Free labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What a target must offer: `mock-only`, `profile:documented`, `profile:official`, `crux`.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The steps, run in order; the first failure ends the scenario.
    pub steps: Vec<Step>,
    /// The file it came from.
    #[serde(skip)]
    pub file: PathBuf,
}

/// One step: a request and what must come back, or a webhook receiver started, or the
/// deliveries a receiver got checked. Exactly one of `request`, `receiver`, `deliveries`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the step does, for reports.
    pub name: String,
    /// The request.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    /// Starts a webhook receiver.
    #[serde(default)]
    pub receiver: Option<ReceiverSpec>,
    /// Flushes the target's webhook deliveries and checks what a receiver got.
    #[serde(default)]
    pub deliveries: Option<DeliveriesSpec>,
    /// What the answer must look like.
    #[serde(default)]
    pub expect: Expectation,
    /// Variables to read from the answer.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// Run the step several times, or follow pagination.
    #[serde(default)]
    pub repeat: Option<Repeat>,
    /// Whether a 429 is waited out and retried, as a polite client does (the default), or
    /// checked as the step's answer (`false`: for steps about rate limiting).
    #[serde(default = "polite")]
    pub retry_429: bool,
}

fn polite() -> bool {
    true
}

/// A webhook receiver on a loopback port, for the rest of the scenario. Its URL is the variable
/// `{{<name>_url}}`, to register as a hook's `destination_url`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSpec {
    /// Names the receiver (lowercase letters and `_`).
    pub name: String,
    /// The status it answers every delivery with (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
}

fn ok_status() -> u16 {
    200
}

/// What a receiver must have been delivered, checked after `POST /__admin/webhooks/flush`
/// (mock targets only): the deliveries since the previous check of the same receiver.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesSpec {
    /// The receiver, started by an earlier step.
    pub receiver: String,
    /// How many deliveries (default: as many as `events` lists).
    #[serde(default)]
    pub count: Option<usize>,
    /// The payloads in order of arrival, each a JSON subset (matchers and `{{variables}}`
    /// allowed), e.g. `{"resource_name": "Company Users", "event_type": "create"}`.
    #[serde(default)]
    pub events: Vec<Value>,
    /// Headers every delivery must carry, with these exact values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A field that is there, even as `null`, is `Some` (`"json": null` expects an empty body).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// An HTTP request. Every string may hold `{{variables}}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// `GET`, `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// Path below the API base (or `/oauth/...`, `/__admin/...`), or an absolute URL.
    pub path: String,
    /// Query parameters, appended in order.
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body.
    #[serde(default)]
    pub json: Option<Value>,
    /// A form-urlencoded body.
    #[serde(default)]
    pub form: Option<Vec<(String, String)>>,
    /// A multipart body: text parts, and files given as `{"file_name", "content_type", "text"}`.
    #[serde(default)]
    pub multipart: Option<Vec<(String, Value)>>,
    /// A raw text body, sent with whatever `Content-Type` the headers give (for bad input).
    #[serde(default)]
    pub raw: Option<String>,
    /// `bearer` (default: the target's token and company header) or `none` (no credentials).
    #[serde(default)]
    pub auth: Auth,
}

/// Which credentials a request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// The target's bearer token and `Procore-Company-Id`.
    #[default]
    Bearer,
    /// Nothing: for OAuth endpoints and for proving 401s.
    None,
}

/// What an answer must look like.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The status, or any of several.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// Headers: `{"present": true}`, `{"absent": true}`, `{"equals": "..."}`, `{"matches": "regex"}`.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderExpectation>,
    /// A JSON subset the body must match; see the README for matchers. `null` expects an
    /// empty body.
    #[serde(default, deserialize_with = "present")]
    pub json: Option<Value>,
}

/// One status or several.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// Exactly this status.
    One(u16),
    /// Any of these.
    Any(Vec<u16>),
}

impl StatusSpec {
    /// Whether `status` is allowed.
    pub fn allows(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::Any(all) => all.contains(&status),
        }
    }
}

/// A condition on one header.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderExpectation {
    /// The header must be there.
    #[serde(default)]
    pub present: bool,
    /// The header must not be there.
    #[serde(default)]
    pub absent: bool,
    /// Exact value (after templating).
    #[serde(default)]
    pub equals: Option<String>,
    /// A regular expression the value must match.
    #[serde(default)]
    pub matches: Option<String>,
}

/// Where a variable comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Capture {
    /// A JSON pointer into the body (`/id`, `/0/email_address`).
    Pointer(String),
    /// Something more specific.
    Spec(CaptureSpec),
}

/// The forms of capture beyond a plain pointer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    /// A response header (`Total`), or with `rel` an entry of the `Link` header.
    #[serde(default)]
    pub header: Option<String>,
    /// With `header: "Link"`: the rel whose URL to take.
    #[serde(default)]
    pub rel: Option<String>,
    /// A pointer to an array to search (with `where` and `take`) or to count (with `count`).
    #[serde(default)]
    pub pointer: Option<String>,
    /// The array element to pick: the first that matches this JSON subset.
    #[serde(rename = "where", default)]
    pub filter: Option<Value>,
    /// A pointer inside the picked element.
    #[serde(default)]
    pub take: Option<String>,
    /// Capture the array's length instead; with `accumulate`, add it to the variable.
    #[serde(default)]
    pub count: bool,
    /// Add to the variable's current value (pagination walks).
    #[serde(default)]
    pub accumulate: bool,
    /// With `header`: a regular expression whose first group is captured.
    #[serde(default)]
    pub regex: Option<String>,
}

/// Repetition of a step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Run the step this many times, with `{{i}}` = 0, 1, ...
    #[serde(default)]
    pub times: Option<u32>,
    /// Follow the `Link` rel (usually `next`) until there is none, checking every page.
    #[serde(default)]
    pub follow: Option<String>,
    /// At most this many pages when following.
    #[serde(default)]
    pub max: Option<u32>,
}

impl Expectation {
    /// Whether anything is checked at all.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.headers.is_empty() && self.json.is_none()
    }
}

impl Step {
    /// Every string of the step that is templated, with the field it sits in.
    fn templated_strings(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = Vec::new();
        if let Some(deliveries) = &self.deliveries {
            for event in &deliveries.events {
                json_strings(event, "deliveries.events", &mut out);
            }
            for (name, value) in &deliveries.headers {
                out.push((format!("deliveries.headers.{name}"), value));
            }
        }
        let Some(request) = &self.request else {
            return out;
        };
        out.push(("request.path".to_owned(), &request.path));
        for (key, value) in &request.query {
            out.push(("request.query".to_owned(), key));
            out.push(("request.query".to_owned(), value));
        }
        for (name, value) in &request.headers {
            out.push((format!("request.headers.{name}"), value));
        }
        for (key, value) in request.form.iter().flatten() {
            out.push(("request.form".to_owned(), key));
            out.push(("request.form".to_owned(), value));
        }
        if let Some(raw) = &request.raw {
            out.push(("request.raw".to_owned(), raw));
        }
        if let Some(json) = &request.json {
            json_strings(json, "request.json", &mut out);
        }
        for (name, value) in request.multipart.iter().flatten() {
            json_strings(value, &format!("request.multipart.{name}"), &mut out);
        }
        for (name, header) in &self.expect.headers {
            for text in header.equals.iter().chain(&header.matches) {
                out.push((format!("expect.headers.{name}"), text));
            }
        }
        if let Some(json) = &self.expect.json {
            json_strings(json, "expect.json", &mut out);
        }
        out
    }
}

/// Every string (keys included) in a JSON value, labelled with `field`.
fn json_strings<'a>(value: &'a Value, field: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((field.to_owned(), s)),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, field, out)),
        Value::Object(map) => {
            for (key, item) in map {
                out.push((field.to_owned(), key));
                json_strings(item, field, out);
            }
        }
        _ => {}
    }
}

/// A scenario file that cannot be used, named by file, step and field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {location}: {problem}")]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// Where in it (`steps[2].request.method`).
    pub location: String,
    /// What is wrong.
    pub problem: String,
}

/// The variables the runner discovers on the target before each run, in the order
/// `Runner::discover` fills them.
pub const DISCOVERED_VARS: [&str; 10] = [
    "company_id",
    "project_id",
    "other_project_id",
    "project_template_id",
    "other_template_id",
    "company_template_id",
    "run_id",
    "base_url",
    "client_id",
    "client_secret",
];

/// The checks of a `receiver` or `deliveries` step.
struct WebhookStep<'a, 'at> {
    step: &'a Step,
    at: &'at str,
    scenario: &'a Scenario,
}

impl<'a> WebhookStep<'a, '_> {
    /// Problems as `(location, problem)`. A receiver defines `{{<name>_url}}`; deliveries need a
    /// receiver started earlier, and flushing needs a mock.
    fn validate(
        &self,
        receivers: &mut BTreeSet<&'a str>,
        defined: &mut BTreeSet<String>,
    ) -> Result<(), (String, String)> {
        let (step, at) = (self.step, self.at);
        let fail = |field: &str, problem: &str| (format!("{at}{field}"), problem.to_owned());
        if !step.expect.is_empty() || !step.capture.is_empty() || step.repeat.is_some() {
            return Err(fail(
                "",
                "a receiver or deliveries step takes no expect, capture or repeat",
            ));
        }
        if !self.scenario.requires.iter().any(|r| r == "mock-only") {
            return Err(fail(
                "",
                "webhook steps need a mock (deliveries are flushed through /__admin): add \"mock-only\" to requires",
            ));
        }
        if let Some(receiver) = &step.receiver {
            let name = receiver.name.as_str();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(fail(".receiver.name", "use lowercase letters and _"));
            }
            if !(200..=599).contains(&receiver.status) {
                return Err(fail(".receiver.status", "must be an HTTP status"));
            }
            if !receivers.insert(name) {
                return Err(fail(
                    ".receiver.name",
                    "a receiver of this name was started already",
                ));
            }
            defined.insert(format!("{name}_url"));
        }
        if let Some(deliveries) = &step.deliveries {
            if !receivers.contains(deliveries.receiver.as_str()) {
                return Err(fail(
                    ".deliveries.receiver",
                    "no earlier step starts a receiver of this name",
                ));
            }
            if deliveries.count.is_none() && deliveries.events.is_empty() {
                return Err(fail(
                    ".deliveries",
                    "give a count or the events expected (an empty check passes on anything)",
                ));
            }
            if deliveries
                .count
                .is_some_and(|count| count < deliveries.events.len())
            {
                return Err(fail(
                    ".deliveries.count",
                    "is below the number of events listed",
                ));
            }
            for event in &deliveries.events {
                matching::check_matchers(event)
                    .map_err(|e| (format!("{at}.deliveries.events"), e))?;
            }
        }
        Ok(())
    }
}

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];

/// The `Link` relations Procore answers, which `repeat.follow` may name.
pub const LINK_RELATIONS: [&str; 4] = ["next", "prev", "first", "last"];
const REQUIREMENTS: [&str; 4] = [
    "mock-only",
    "profile:documented",
    "profile:official",
    "crux",
];

impl Scenario {
    /// Reads and validates one scenario file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            file: file.clone(),
            location: "file".to_owned(),
            problem: e.to_string(),
        })?;
        Self::parse(&text, &file)
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, LoadError> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let mut scenario: Scenario =
            serde_path_to_error::deserialize(deserializer).map_err(|err| LoadError {
                file: file.to_owned(),
                location: err.path().to_string(),
                problem: err.into_inner().to_string(),
            })?;
        scenario.file = PathBuf::from(file);
        let fail = |location: String, problem: String| LoadError {
            file: file.to_owned(),
            location,
            problem,
        };
        if scenario.steps.is_empty() {
            return Err(fail(
                "steps".to_owned(),
                "a scenario needs at least one step".to_owned(),
            ));
        }
        for (i, requirement) in scenario.requires.iter().enumerate() {
            if !REQUIREMENTS.contains(&requirement.as_str()) {
                return Err(fail(
                    format!("requires[{i}]"),
                    format!("`{requirement}` is not one of {}", REQUIREMENTS.join(", ")),
                ));
            }
        }
        let mut defined: BTreeSet<String> =
            DISCOVERED_VARS.into_iter().map(str::to_owned).collect();
        let mut receivers: BTreeSet<&str> = BTreeSet::new();
        for (i, step) in scenario.steps.iter().enumerate() {
            let at = format!("steps[{i}] ({})", step.name);
            let mut scope = defined.clone();
            if step.repeat.as_ref().is_some_and(|r| r.times.is_some()) {
                scope.insert("i".to_owned());
            }
            for (field, text) in step.templated_strings() {
                let unknown = matching::variables(text)
                    .map_err(|e| fail(format!("{at}.{field}"), e.to_string()))?
                    .into_iter()
                    .find(|name| !scope.contains(*name));
                if let Some(name) = unknown {
                    return Err(fail(
                        format!("{at}.{field}"),
                        format!("`{{{{{name}}}}}` is used before any step captures it"),
                    ));
                }
            }
            if let Some(json) = &step.expect.json {
                matching::check_matchers(json).map_err(|e| fail(format!("{at}.expect.json"), e))?;
            }
            defined.extend(step.capture.keys().cloned());
            let kinds = [
                step.request.is_some(),
                step.receiver.is_some(),
                step.deliveries.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(fail(
                    at,
                    "give exactly one of request, receiver, deliveries".to_owned(),
                ));
            }
            let Some(request) = &step.request else {
                let webhooks = WebhookStep {
                    step,
                    at: &at,
                    scenario: &scenario,
                };
                webhooks
                    .validate(&mut receivers, &mut defined)
                    .map_err(|(location, problem)| fail(location, problem))?;
                continue;
            };
            if !METHODS.contains(&request.method.to_ascii_uppercase().as_str()) {
                return Err(fail(
                    format!("{at}.request.method"),
                    format!("`{}` is not one of {}", request.method, METHODS.join(", ")),
                ));
            }
            let bodies = [
                request.json.is_some(),
                request.form.is_some(),
                request.multipart.is_some(),
                request.raw.is_some(),
            ];
            if bodies.iter().filter(|b| **b).count() > 1 {
                return Err(fail(
                    format!("{at}.request"),
                    "give at most one of json, form, multipart, raw".to_owned(),
                ));
            }
            for (name, header) in &step.expect.headers {
                if let Some(pattern) = &header.matches {
                    regex::Regex::new(pattern).map_err(|e| {
                        fail(format!("{at}.expect.headers.{name}.matches"), e.to_string())
                    })?;
                }
            }
            if step.expect.is_empty() {
                return Err(fail(
                    format!("{at}.expect"),
                    "a step must expect something (a status, headers or json): without one it passes on any answer".to_owned(),
                ));
            }
            for (name, header) in &step.expect.headers {
                let given = [
                    header.present,
                    header.absent,
                    header.equals.is_some(),
                    header.matches.is_some(),
                ];
                if !given.contains(&true) {
                    return Err(fail(
                        format!("{at}.expect.headers.{name}"),
                        "give present, absent, equals or matches".to_owned(),
                    ));
                }
            }
            if let Some(repeat) = &step.repeat {
                if repeat.times.is_some() == repeat.follow.is_some() {
                    return Err(fail(
                        format!("{at}.repeat"),
                        "give exactly one of times, follow".to_owned(),
                    ));
                }
                if let Some(rel) = &repeat.follow {
                    if !LINK_RELATIONS.contains(&rel.as_str()) {
                        return Err(fail(
                            format!("{at}.repeat.follow"),
                            format!(
                                "`{rel}` is not a Link relation Procore answers ({})",
                                LINK_RELATIONS.join(", ")
                            ),
                        ));
                    }
                }
            }
            for (name, capture) in &step.capture {
                if let Capture::Spec(spec) = capture {
                    if spec.header.is_none() && spec.pointer.is_none() {
                        return Err(fail(
                            format!("{at}.capture.{name}"),
                            "needs a header or a pointer".to_owned(),
                        ));
                    }
                    if let Some(pattern) = &spec.regex {
                        let compiled = regex::Regex::new(pattern).map_err(|e| {
                            fail(format!("{at}.capture.{name}.regex"), e.to_string())
                        })?;
                        if compiled.captures_len() < 2 {
                            return Err(fail(
                                format!("{at}.capture.{name}.regex"),
                                "needs a capture group".to_owned(),
                            ));
                        }
                    }
                }
            }
        }
        Ok(scenario)
    }

    /// One scenario file, or every `*.json` scenario in a directory sorted by file name.
    pub fn load_path(path: &Path) -> Result<Vec<Self>, LoadError> {
        if path.is_file() {
            Self::load(path).map(|scenario| vec![scenario])
        } else {
            Self::load_dir(path)
        }
    }

    /// Every `*.json` scenario in `dir`, sorted by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>, LoadError> {
        let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
            file: dir.display().to_string(),
            location: "directory".to_owned(),
            problem: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|f| Self::load(f)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_file_step_and_field() {
        let bad_method = r#"{"name": "x", "steps": [{"name": "first", "request": {"method": "FETCH", "path": "/"}, "expect": {"status": 200}}]}"#;
        let err = Scenario::parse(bad_method, "x.json").unwrap_err();
        assert_eq!(err.to_string(), "x.json: steps[0] (first).request.method: `FETCH` is not one of GET, POST, PATCH, PUT, DELETE");
        let unknown_field = r#"{"name": "x", "steps": [{"name": "s", "request": {"method": "GET", "path": "/", "bdy": 1}}]}"#;
        let err = Scenario::parse(unknown_field, "y.json").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("y.json: steps[0].request.bdy: unknown field `bdy`"),
            "{err}"
        );
        let bad_requirement = r#"{"name": "x", "requires": ["gpu"], "steps": [{"name": "s", "request": {"method": "GET", "path": "/"}, "expect": {"status": 200}}]}"#;
        assert!(Scenario::parse(bad_requirement, "z.json")
            .unwrap_err()
            .to_string()
            .contains("requires[0]"));
    }

    #[test]
    fn a_variable_must_be_discovered_or_captured_before_it_is_used() {
        let early = r#"{"name": "x", "steps": [
            {"name": "use", "request": {"method": "GET", "path": "/users/{{user_id}}"}, "expect": {"status": 200}},
            {"name": "capture", "request": {"method": "GET", "path": "/{{company_id}}"}, "expect": {"status": 200}, "capture": {"user_id": "/id"}}]}"#;
        let err = Scenario::parse(early, "x.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.json: steps[0] (use).request.path: `{{user_id}}` is used before any step captures it"
        );
        let later = r#"{"name": "x", "steps": [
            {"name": "capture", "request": {"method": "GET", "path": "/{{company_id}}"}, "expect": {"status": 200}, "capture": {"user_id": "/id"}},
            {"name": "bulk", "request": {"method": "POST", "path": "/users/{{user_id}}", "json": {"n": "{{i}}"}}, "expect": {"status": 201}, "repeat": {"times": 2}}]}"#;
        assert!(Scenario::parse(later, "x.json").is_ok());
        let no_counter = r#"{"name": "x", "steps": [{"name": "s", "request": {"method": "GET", "path": "/{{i}}"}, "expect": {"status": 200}}]}"#;
        assert!(Scenario::parse(no_counter, "x.json").is_err());
    }

    #[test]
    fn a_step_that_checks_nothing_is_refused_at_load_time() {
        for expect in [
            "",
            r#", "expect": {}"#,
            r#", "expect": {"headers": {"Total": {}}}"#,
        ] {
            let text = format!(
                r#"{{"name": "x", "steps": [{{"name": "s", "request": {{"method": "GET", "path": "/"}}{expect}}}]}}"#
            );
            let err = Scenario::parse(&text, "x.json").unwrap_err().to_string();
            assert!(err.starts_with("x.json: steps[0] (s).expect"), "{err}");
        }
        let empty_body = r#"{"name": "x", "steps": [{"name": "s", "request": {"method": "DELETE", "path": "/"}, "expect": {"json": null}}]}"#;
        let scenario = Scenario::parse(empty_body, "x.json").unwrap();
        assert_eq!(scenario.steps[0].expect.json, Some(Value::Null));
    }

    #[test]
    fn following_an_unknown_link_relation_is_refused_at_load_time() {
        let typo = r#"{"name": "x", "steps": [{"name": "s", "request": {"method": "GET", "path": "/"},
            "expect": {"status": 200}, "repeat": {"follow": "nxt"}}]}"#;
        let err = Scenario::parse(typo, "x.json").unwrap_err().to_string();
        assert_eq!(
            err,
            "x.json: steps[0] (s).repeat.follow: `nxt` is not a Link relation Procore answers (next, prev, first, last)"
        );
    }

    #[test]
    fn an_unknown_matcher_is_refused_at_load_time() {
        let typo = r#"{"name": "x", "steps": [{"name": "s", "request": {"method": "GET", "path": "/"},
            "expect": {"json": {"id": "$any_integr"}}}]}"#;
        let err = Scenario::parse(typo, "x.json").unwrap_err().to_string();
        assert!(
            err.starts_with("x.json: steps[0] (s).expect.json: unknown matcher `$any_integr`"),
            "{err}"
        );
    }

    #[test]
    fn webhook_steps_are_checked_at_load_time() {
        let scenario = |requires: &str, steps: &str| {
            format!(r#"{{"name": "x", "requires": [{requires}], "steps": [{steps}]}}"#)
        };
        let receiver = r#"{"name": "start", "receiver": {"name": "hooks"}}"#;
        let check = r#"{"name": "check", "deliveries": {"receiver": "hooks", "count": 1, "headers": {"X-Url": "{{hooks_url}}"}}}"#;
        let good = scenario(r#""mock-only""#, &format!("{receiver}, {check}"));
        let check = r#"{"name": "check", "deliveries": {"receiver": "hooks", "count": 1}}"#;
        assert!(Scenario::parse(&good, "x.json").is_ok());
        let cases = [
            (scenario("", receiver), "add \"mock-only\""),
            (
                scenario(r#""mock-only""#, check),
                "no earlier step starts a receiver",
            ),
            (
                scenario(r#""mock-only""#, &format!("{check}, {receiver}")),
                "no earlier step starts a receiver",
            ),
            (
                scenario(
                    r#""mock-only""#,
                    r#"{"name": "both", "receiver": {"name": "hooks"}, "request": {"method": "GET", "path": "/"}}"#,
                ),
                "exactly one of request, receiver, deliveries",
            ),
            (
                scenario(
                    r#""mock-only""#,
                    &format!(
                        r#"{receiver}, {{"name": "empty", "deliveries": {{"receiver": "hooks"}}}}"#
                    ),
                ),
                "give a count or the events",
            ),
            (
                scenario(
                    r#""mock-only""#,
                    r#"{"name": "s", "receiver": {"name": "Hooks!"}}"#,
                ),
                "lowercase letters",
            ),
        ];
        for (text, problem) in cases {
            let err = Scenario::parse(&text, "x.json").unwrap_err().to_string();
            assert!(err.contains(problem), "{text}: {err}");
        }
    }
}
