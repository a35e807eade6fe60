//! Runs scenarios against a [`Target`]: templating, sending, checking, capturing, and a
//! normalized transcript of every exchange for snapshots.
//!
//! The runner's client never retries a 429: a contract test must see what the target said.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::matcher::{self, short};
use super::template::{self, render, render_value, Vars};
use super::{
    Auth, Base, Capture, CaptureRule, HeaderExpectation, RequestSpec, Requirement, Scenario, Step,
};
use crate::client::{
    ApiRequest, ApiResponse, Body, ClientError, FilePart, ProcoreClient, RetryPolicy,
};
use crate::target::Target;

/// Default cap on the requests of one `follow_link` walk.
const DEFAULT_WALK_MAX: u32 = 100;
/// Longest body quoted in a failure report.
const REPORT_BODY_CHARS: usize = 2_000;
/// Arrays longer than this are cut in transcripts (their length is kept).
const TRANSCRIPT_ARRAY_ITEMS: usize = 2;

/// How a scenario ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every step met its expectation.
    Passed,
    /// A step did not; the details say which and how.
    Failed(Box<Failure>),
    /// The target cannot run it; the reason says why.
    Skipped(String),
}

/// Where and how a scenario failed, readable on its own.
#[derive(Clone, Debug)]
pub struct Failure {
    /// `step 3 "add to project"` (with the iteration for repeated steps).
    pub step: String,
    /// The request as sent (method, URL, headers without the token, body), if one was.
    pub request: Option<String>,
    /// Expected against actual, one line each (status, headers, JSON pointers).
    pub problems: Vec<String>,
    /// The status answered.
    pub status: Option<u16>,
    /// The body answered (cut when long).
    pub body: Option<String>,
}

/// The result of one scenario.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time taken.
    pub duration: Duration,
    /// Normalized exchanges (ids, emails, timestamps, tokens redacted), for snapshots.
    pub transcript: Vec<Value>,
}

impl ScenarioResult {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Passed)
    }
}

/// Why a run could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The client-credentials token was refused or the target unreachable.
    #[error("cannot authenticate against the target: {0}")]
    Auth(ClientError),
    /// No company to act in.
    #[error("cannot find a company to act in: {0}")]
    Company(String),
}

/// Runs scenarios against one target.
#[derive(Debug)]
pub struct Runner<'t> {
    target: &'t Target,
    client: ProcoreClient,
    company_id: u64,
    /// The mock's profile (`documented`/`official`); `None` on a sandbox.
    profile: Option<String>,
    run_id: String,
}

/// A run id unique enough for emails: time and process, in base 36.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mixed = nanos ^ (u128::from(std::process::id()) << 64);
    let mut n = (mixed % 36u128.pow(8)) as u64;
    let mut id = String::new();
    for _ in 0..8 {
        let digit = (n % 36) as u32;
        id.push(char::from_digit(digit, 36).unwrap_or('0'));
        n /= 36;
    }
    id
}

impl<'t> Runner<'t> {
    /// Authenticates once, finds the company (configured, else the first the app sees) and,
    /// on mocks, the profile served.
    pub async fn connect(target: &'t Target, run_id: String) -> Result<Self, RunnerError> {
        let mut client = target.client().with_retry(RetryPolicy::NONE);
        client
            .client_credentials()
            .await
            .map_err(RunnerError::Auth)?;
        let company_id = match target.company_id {
            Some(id) => id,
            None => client
                .companies()
                .await
                .map_err(|e| RunnerError::Company(e.to_string()))?
                .first()
                .map(|c| c.id)
                .ok_or_else(|| RunnerError::Company("the app sees no company".to_owned()))?,
        };
        let profile = if target.mock {
            let health = target.admin_request(Method::GET, "/__admin/health");
            client
                .send(&health)
                .await
                .ok()
                .and_then(|r| r.json())
                .and_then(|body| body["profile"].as_str().map(str::to_owned))
        } else {
            None
        };
        Ok(Self {
            target,
            client,
            company_id,
            profile,
            run_id,
        })
    }

    /// Why the target cannot meet `requirement`, if it cannot.
    fn unmet(&self, requirement: Requirement) -> Option<String> {
        match requirement {
            Requirement::MockOnly if !self.target.mock => Some(format!(
                "needs mock-only powers (admin API, clock, rate limits, faults); {} is not a mock",
                self.target.name
            )),
            Requirement::ProfileDocumented | Requirement::ProfileOfficial => {
                let wanted = if requirement == Requirement::ProfileDocumented {
                    "documented"
                } else {
                    "official"
                };
                match &self.profile {
                    Some(profile) if profile == wanted => None,
                    Some(profile) => Some(format!(
                        "needs the `{wanted}` profile; the mock serves `{profile}`"
                    )),
                    None if wanted == "documented" => Some(
                        "needs seed-only behaviour (profile:documented), checked on mocks only"
                            .to_owned(),
                    ),
                    None => None,
                }
            }
            Requirement::MockOnly => None,
        }
    }

    /// Runs one scenario: its steps until the first failure, then its cleanup steps.
    pub async fn run(&self, scenario: &Scenario) -> ScenarioResult {
        let started = Instant::now();
        let mut result = ScenarioResult {
            name: scenario.name.clone(),
            outcome: Outcome::Passed,
            duration: Duration::ZERO,
            transcript: Vec::new(),
        };
        if let Some(reason) = scenario
            .requirements()
            .into_iter()
            .find_map(|r| self.unmet(r))
        {
            result.outcome = Outcome::Skipped(reason);
            return result;
        }
        let mut execution = Execution {
            runner: self,
            scenario,
            vars: Vars::new(),
            transcript: Vec::new(),
        };
        let mut failure = match execution.prepare().await {
            Ok(()) => execution.steps(&scenario.steps, "step").await.err(),
            Err(failure) => Some(failure),
        };
        let cleanup = execution.steps(&scenario.cleanup, "cleanup step").await;
        if failure.is_none() {
            failure = cleanup.err();
        }
        result.transcript = execution.transcript;
        if let Some(failure) = failure {
            result.outcome = Outcome::Failed(Box::new(failure));
        }
        result.duration = started.elapsed();
        result
    }
}

/// One scenario in progress.
struct Execution<'r, 't> {
    runner: &'r Runner<'t>,
    scenario: &'r Scenario,
    vars: Vars,
    transcript: Vec<Value>,
}

/// One request as sent, for the transcript and reports.
struct Sent {
    request: ApiRequest,
    url: String,
}

impl Execution<'_, '_> {
    /// The built-in variables, with a token of the scenario's own.
    async fn prepare(&mut self) -> Result<(), Failure> {
        let mut client = self.runner.client.clone();
        let token = client
            .client_credentials()
            .await
            .map_err(|err| Failure {
                step: "before the first step (client-credentials token)".to_owned(),
                request: None,
                problems: vec![err.to_string()],
                status: None,
                body: None,
            })?
            .access_token
            .clone();
        let credentials = client.credentials();
        self.vars = Vars::from([
            ("run_id".to_owned(), json!(self.runner.run_id)),
            ("api_base".to_owned(), json!(credentials.api_base)),
            ("company_id".to_owned(), json!(self.runner.company_id)),
            ("client_id".to_owned(), json!(credentials.client_id)),
            ("client_secret".to_owned(), json!(credentials.client_secret)),
            ("access_token".to_owned(), json!(token)),
        ]);
        Ok(())
    }

    async fn steps(&mut self, steps: &[Step], kind: &str) -> Result<(), Failure> {
        for (index, step) in steps.iter().enumerate() {
            let label = format!("{kind} {} \"{}\"", index + 1, step.name);
            if let Some(reason) = step
                .requirements()
                .into_iter()
                .find_map(|r| self.runner.unmet(r))
            {
                self.transcript
                    .push(json!({"step": step.name, "skipped": reason}));
                continue;
            }
            self.step(step, &label).await?;
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step, label: &str) -> Result<(), Failure> {
        let fail = |problem: String| Failure {
            step: label.to_owned(),
            request: None,
            problems: vec![problem],
            status: None,
            body: None,
        };
        if let Some(check) = &step.check {
            let value = render_value(check, &self.vars).map_err(fail)?;
            let expected = step
                .expect
                .json
                .as_ref()
                .map(|json| render_value(json, &self.vars))
                .transpose()
                .map_err(fail)?
                .unwrap_or(Value::Null);
            let mut problems: Vec<String> = matcher::compare(&expected, Some(&value))
                .iter()
                .map(ToString::to_string)
                .collect();
            self.transcript
                .push(json!({"step": step.name, "check": problems.is_empty()}));
            let captured = if problems.is_empty() {
                self.capture(step, Some(value.clone()), None)
            } else {
                Ok(())
            };
            if let Err(problem) = captured {
                problems.push(problem);
            }
            if !problems.is_empty() {
                return Err(Failure {
                    problems,
                    body: Some(cut(&value.to_string())),
                    ..fail(String::new())
                });
            }
            return Ok(());
        }
        let Some(spec) = &step.request else {
            return Ok(());
        };
        if let Some(list) = &step.collect {
            self.vars.insert(list.clone(), Value::Array(Vec::new()));
        }
        let repeat = step.repeat.as_ref();
        match repeat.and_then(|r| r.follow_link.clone()) {
            Some(rel) => {
                let max = repeat.and_then(|r| r.max).unwrap_or(DEFAULT_WALK_MAX);
                let mut next: Option<String> = None;
                for page in 0..max {
                    let iteration = format!("{label}, request {}", page + 1);
                    let response = self.exchange(step, spec, &iteration, next.take()).await?;
                    match response.link(&rel) {
                        Some(url) => next = Some(url),
                        None => return Ok(()),
                    }
                }
                Err(fail(format!(
                    "still a `{rel}` link after {max} requests (raise repeat.max, or the target links in circles)"
                )))
            }
            None => {
                let times = repeat.and_then(|r| r.times).unwrap_or(1);
                let var = repeat
                    .and_then(|r| r.var.clone())
                    .unwrap_or_else(|| "i".to_owned());
                for i in 0..times {
                    let iteration = if repeat.is_some() {
                        self.vars.insert(var.clone(), json!(i));
                        format!("{label}, {var}={i}")
                    } else {
                        label.to_owned()
                    };
                    self.exchange(step, spec, &iteration, None).await?;
                }
                Ok(())
            }
        }
    }

    /// Sends one request of `step` (to `url_override` when walking links), checks, captures.
    async fn exchange(
        &mut self,
        step: &Step,
        spec: &RequestSpec,
        label: &str,
        url_override: Option<String>,
    ) -> Result<ApiResponse, Failure> {
        let fail = |problem: String| Failure {
            step: label.to_owned(),
            request: None,
            problems: vec![problem],
            status: None,
            body: None,
        };
        let sent = self.build(spec, url_override).map_err(fail)?;
        let request_text = describe_request(&sent);
        let response = match self.runner.client.send(&sent.request).await {
            Ok(response) => response,
            Err(err) => {
                return Err(Failure {
                    request: Some(request_text),
                    ..fail(format!("no answer: {err}"))
                })
            }
        };
        self.transcript
            .push(self.transcript_entry(step, &sent, &response));
        let mut problems = self.check(step, &response);
        if problems.is_empty() {
            if let Err(problem) = self.capture(step, response.json(), Some(&response)) {
                problems.push(problem);
            }
        }
        if !problems.is_empty() {
            return Err(Failure {
                step: label.to_owned(),
                request: Some(request_text),
                problems,
                status: Some(response.status.as_u16()),
                body: Some(cut(&response.text())),
            });
        }
        Ok(response)
    }

    fn build(&self, spec: &RequestSpec, url_override: Option<String>) -> Result<Sent, String> {
        let vars = &self.vars;
        let method = Method::from_bytes(spec.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = ApiRequest::new(method, render(&spec.path, vars)?);
        request.with_company = false;
        request.authenticated = false;
        request.login = spec.base == Base::Login;
        match url_override {
            Some(url) => request.path = url,
            None => {
                for (name, value) in &spec.query {
                    for item in scalars(&render_value(value, vars)?) {
                        request.query.push((name.clone(), item));
                    }
                }
            }
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let scenario_headers = self.scenario.headers.iter().map(|(n, v)| (n, Some(v)));
        let step_headers = spec.headers.iter().map(|(n, v)| (n, v.as_ref()));
        for (name, value) in scenario_headers.chain(step_headers) {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if let Some(value) = value {
                headers.push((name.clone(), render(value, vars)?));
            }
        }
        let token = match &spec.auth {
            Auth::App => Some(template::text_of(&vars["access_token"])),
            // The mock's control plane takes its own token, when it is guarded by one.
            Auth::None if request.path.starts_with("/__admin") => {
                self.runner.target.admin_token.clone()
            }
            Auth::None => None,
            Auth::Bearer(token) => Some(render(token, vars)?),
        };
        if let Some(token) = token {
            headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        request.headers = headers;
        request.body = if let Some(json) = &spec.json {
            Body::Json(render_value(json, vars)?)
        } else if let Some(form) = &spec.form {
            Body::Form(pairs(form, vars)?)
        } else if let Some(multipart) = &spec.multipart {
            Body::Multipart {
                fields: pairs(&multipart.fields, vars)?,
                files: multipart
                    .files
                    .iter()
                    .map(|f| FilePart {
                        name: f.name.clone(),
                        filename: f.filename.clone(),
                        content_type: f.content_type.clone(),
                        content: f.content.clone().into_bytes(),
                    })
                    .collect(),
            }
        } else if let Some(raw) = &spec.raw {
            Body::Raw(raw.clone().into_bytes())
        } else {
            Body::Empty
        };
        let url = self.runner.client.url_of(&request);
        Ok(Sent { request, url })
    }

    /// Every way `response` differs from the step's expectation.
    fn check(&self, step: &Step, response: &ApiResponse) -> Vec<String> {
        let expect = &step.expect;
        let mut problems = Vec::new();
        if let Some(status) = expect.status {
            if response.status.as_u16() != status {
                problems.push(format!(
                    "status: expected {status}, got {}",
                    response.status.as_u16()
                ));
            }
        }
        for (name, rule) in &expect.headers {
            let actual = response.header(name);
            let shown = actual.map_or_else(|| "(absent)".to_owned(), |v| format!("`{v}`"));
            let mut problem = |wanted: String| {
                problems.push(format!("header {name}: expected {wanted}, got {shown}"))
            };
            let (present, equals, pattern) = match rule {
                HeaderExpectation::Equals(value) => (None, Some(value), None),
                HeaderExpectation::Rule(rule) => {
                    (rule.present, rule.equals.as_ref(), rule.matches.as_ref())
                }
            };
            match present {
                Some(true) if actual.is_none() => problem("present".to_owned()),
                Some(false) if actual.is_some() => problem("absent".to_owned()),
                _ => {}
            }
            if let Some(value) = equals {
                match render(value, &self.vars) {
                    Ok(want) if actual == Some(want.as_str()) => {}
                    Ok(want) => problem(format!("`{want}`")),
                    Err(err) => problem(err),
                }
            }
            if let Some(pattern) = pattern {
                let regex = render(pattern, &self.vars)
                    .and_then(|p| Regex::new(&p).map_err(|e| e.to_string()));
                match regex {
                    Ok(regex) if actual.is_some_and(|v| regex.is_match(v)) => {}
                    Ok(regex) => problem(format!("a match for /{regex}/")),
                    Err(err) => problem(err),
                }
            }
        }
        if let Some(json) = &expect.json {
            match render_value(json, &self.vars) {
                Ok(expected) => {
                    let actual = response.json();
                    if actual.is_none() && !response.body.is_empty() {
                        problems.push("body: expected JSON, got something else".to_owned());
                    } else {
                        problems.extend(
                            matcher::compare(&expected, actual.as_ref())
                                .iter()
                                .map(|m| format!("json {m}")),
                        );
                    }
                }
                Err(err) => problems.push(err),
            }
        }
        if expect.empty_body && !response.body.is_empty() {
            problems.push(format!(
                "body: expected empty, got {} bytes",
                response.body.len()
            ));
        }
        problems
    }

    /// Captures from `body` (an answer's JSON or a checked value) and `response`'s headers,
    /// then appends `body` to the step's `collect` list.
    fn capture(
        &mut self,
        step: &Step,
        body: Option<Value>,
        response: Option<&ApiResponse>,
    ) -> Result<(), String> {
        for (name, capture) in &step.capture {
            let rule = match capture {
                Capture::Pointer(pointer) => CaptureRule {
                    json: Some(pointer.clone()),
                    ..CaptureRule::default()
                },
                Capture::Rule(rule) => rule.clone(),
            };
            let value = match (&rule.json, &rule.header) {
                (Some(pointer), _) => {
                    let scope = match &rule.where_ {
                        None => body.as_ref(),
                        Some(filter) => {
                            let filter = render_value(filter, &self.vars)?;
                            body.as_ref()
                                .and_then(Value::as_array)
                                .and_then(|items| {
                                    items
                                        .iter()
                                        .find(|item| matcher::matches(&filter, Some(item)))
                                })
                                .ok_or_else(|| {
                                    format!("capture {name}: no element matches {}", short(&filter))
                                })?
                                .into()
                        }
                    };
                    scope
                        .and_then(|b| b.pointer(pointer))
                        .cloned()
                        .ok_or_else(|| {
                            format!("capture {name}: nothing at {pointer} in the body")
                        })?
                }
                (None, Some(header)) => {
                    let text = response
                        .and_then(|r| r.header(header))
                        .ok_or_else(|| format!("capture {name}: no {header} header"))?;
                    // Counts and seconds (`Total`, `Retry-After`) are captured as numbers.
                    text.trim()
                        .parse::<u64>()
                        .map_or_else(|_| json!(text), |n| json!(n))
                }
                (None, None) => return Err(format!("capture {name}: nothing to capture from")),
            };
            let value = match &rule.regex {
                None => value,
                Some(pattern) => {
                    let text = template::text_of(&value);
                    let regex = Regex::new(pattern).map_err(|e| e.to_string())?;
                    let kept = regex
                        .captures(&text)
                        .and_then(|c| c.get(1))
                        .ok_or_else(|| {
                            format!("capture {name}: /{pattern}/ does not match `{text}`")
                        })?;
                    json!(kept.as_str())
                }
            };
            self.vars.insert(name.clone(), value);
        }
        if let Some(list) = &step.collect {
            let items = match body {
                Some(Value::Array(items)) => items,
                Some(other) => vec![other],
                None => Vec::new(),
            };
            if let Some(Value::Array(collected)) = self.vars.get_mut(list) {
                collected.extend(items);
            }
        }
        Ok(())
    }

    fn transcript_entry(&self, step: &Step, sent: &Sent, response: &ApiResponse) -> Value {
        let redactor = Redactor {
            run_id: &self.runner.run_id,
            base: &self.runner.target.credentials.api_base,
        };
        let mut request = format!("{} {}", sent.request.method, redactor.text(&sent.url));
        if !sent.request.query.is_empty() {
            let query: Vec<String> = sent
                .request
                .query
                .iter()
                .map(|(k, v)| format!("{k}={}", redactor.text(v)))
                .collect();
            request = format!("{request}?{}", query.join("&"));
        }
        let mut headers = Map::new();
        let mut names: Vec<String> = ["Total", "Per-Page", "Link"].map(str::to_owned).to_vec();
        names.extend(step.expect.headers.keys().cloned());
        for name in names {
            if let Some(value) = response.header(&name) {
                headers.insert(name.to_ascii_lowercase(), json!(redactor.text(value)));
            }
        }
        let mut entry =
            json!({"step": step.name, "request": request, "status": response.status.as_u16()});
        if !headers.is_empty() {
            entry["headers"] = Value::Object(headers);
        }
        if let Some(body) = response.json() {
            entry["body"] = redactor.value(None, &body);
        } else if !response.body.is_empty() {
            entry["body"] = json!(format!("({} bytes, not JSON)", response.body.len()));
        }
        entry
    }
}

/// Query values: an array repeats the parameter.
fn scalars(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(template::text_of).collect(),
        other => vec![template::text_of(other)],
    }
}

fn pairs(map: &Map<String, Value>, vars: &Vars) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, value) in map {
        for item in scalars(&render_value(value, vars)?) {
            out.push((render(name, vars)?, item));
        }
    }
    Ok(out)
}

fn describe_request(sent: &Sent) -> String {
    let request = &sent.request;
    let mut text = format!("{} {}", request.method, sent.url);
    if !request.query.is_empty() {
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        text = format!("{text}?{}", query.join("&"));
    }
    for (name, value) in &request.headers {
        let shown = if name.eq_ignore_ascii_case("authorization") {
            "Bearer [token]"
        } else {
            value
        };
        text.push_str(&format!("\n  {name}: {shown}"));
    }
    match &request.body {
        Body::Empty => {}
        Body::Json(value) => text.push_str(&format!("\n  json: {}", short(value))),
        Body::Form(pairs) => text.push_str(&format!("\n  form: {pairs:?}")),
        Body::Raw(bytes) => text.push_str(&format!("\n  raw: {}", String::from_utf8_lossy(bytes))),
        Body::Multipart { fields, files } => text.push_str(&format!(
            "\n  multipart: {fields:?} and {} file(s)",
            files.len()
        )),
    }
    text
}

fn cut(text: &str) -> String {
    if text.chars().count() > REPORT_BODY_CHARS {
        let kept: String = text.chars().take(REPORT_BODY_CHARS).collect();
        format!("{kept}... (cut)")
    } else {
        text.to_owned()
    }
}

/// Long numbers (ids, epochs) in paths and header values.
static NUMBERS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d{4,}").expect("valid regex"));
/// ISO-8601 instants.
static TIMESTAMPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
        .expect("valid regex")
});
/// Email addresses (including ones still holding a `{run}` marker).
static EMAILS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+{}-]+@[A-Za-z0-9.-]+\.[A-Za-z]+").expect("valid regex")
});

/// Credentials in URLs (`?code=...`, `#access_token=...`).
static SECRET_PARAMS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(code|token|secret)=[^&#\s]+").expect("valid regex"));

/// Redacts what changes from run to run, so transcripts compare across runs and targets.
struct Redactor<'a> {
    run_id: &'a str,
    base: &'a str,
}

impl Redactor<'_> {
    /// Paths, URLs and header values: base URL, run id, timestamps, emails, long numbers.
    fn text(&self, text: &str) -> String {
        let text = text
            .replace(self.base, "{base}")
            .replace(self.run_id, "{run}");
        let text = SECRET_PARAMS.replace_all(&text, "$1=[token]");
        let text = TIMESTAMPS.replace_all(&text, "[timestamp]");
        let text = EMAILS.replace_all(&text, "[email]");
        NUMBERS.replace_all(&text, "{n}").into_owned()
    }

    fn value(&self, key: Option<&str>, value: &Value) -> Value {
        let key = key.unwrap_or_default();
        let secret = key == "code" || key == "token" || key.ends_with("_token");
        match value {
            Value::String(_) if secret => json!("[token]"),
            Value::String(s) if TIMESTAMPS.is_match(s) => json!("[timestamp]"),
            Value::String(s) if EMAILS.is_match(s) => json!("[email]"),
            Value::String(s) => json!(self.text(s)),
            Value::Number(_) if key == "id" || key.ends_with("_id") || key.ends_with("_ids") => {
                json!("[id]")
            }
            Value::Number(_)
                if key == "created_at" || key == "epoch" || key == "expires_in_seconds" =>
            {
                json!("[time]")
            }
            Value::Array(items) => {
                let mut kept: Vec<Value> = items
                    .iter()
                    .take(TRANSCRIPT_ARRAY_ITEMS)
                    .map(|item| self.value(Some(key), item))
                    .collect();
                if items.len() > TRANSCRIPT_ARRAY_ITEMS {
                    kept.push(json!(format!(
                        "[{} more]",
                        items.len() - TRANSCRIPT_ARRAY_ITEMS
                    )));
                }
                Value::Array(kept)
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(Some(k), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}
