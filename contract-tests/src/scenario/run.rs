//! Running scenarios: discovery of ids on the target, each step's request, its checks, and
//! the captures that feed later steps.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::matching::{mismatches, render, render_value, TemplateError, Vars};
use super::schema::{
    Auth, Capture, DeliveriesSpec, ReceiverSpec, RequestSpec, Scenario, Step, DISCOVERED_VARS,
};
use crate::client::{ApiResponse, ClientConfig, ProcoreClient, RequestBody};
use crate::conformance::SchemaCheck;
use crate::error::{HarnessError, Result};
use crate::receiver::{Delivered, Receiver};
use crate::target::{Discovery, Target, STEP_ATTEMPTS};

/// How a scenario ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed(Box<Failure>),
    /// Not run on this target, and why.
    Skipped(String),
}

/// Everything a person needs to see about a failed step.
#[derive(Clone, Debug)]
pub struct Failure {
    /// 1-based step number.
    pub step: usize,
    /// The step's name.
    pub step_name: String,
    /// `METHOD url` and the body sent.
    pub request: String,
    /// What was expected, one line per check.
    pub expected: Vec<String>,
    /// What differed, one line per problem.
    pub problems: Vec<String>,
    /// Status answered (0 when no answer came).
    pub status: u16,
    /// Body answered.
    pub body: Value,
}

/// One exchange of a scenario, normalized for snapshots.
#[derive(Clone, Debug, Serialize)]
pub struct TranscriptEntry {
    /// The step's name.
    pub step: String,
    /// `METHOD /path` with ids replaced by `{id}`.
    pub request: String,
    /// Status answered.
    pub status: u16,
    /// Body answered, with ids, timestamps, emails and tokens redacted.
    pub body: Value,
}

/// A scenario's result.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What was exchanged, normalized.
    pub transcript: Vec<TranscriptEntry>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Shared state of a run: the target, its client, and the discovered variables.
pub struct Runner {
    target: Target,
    /// The harness client, scoped to the discovered company.
    client: ProcoreClient,
    base_vars: Vars,
    profile: Option<String>,
    admin: bool,
    /// The target serves Crux Connect with the default Crux admin API user.
    crux: bool,
    /// Scenarios started so far (the reset policy's `once` resets before the first).
    started: AtomicUsize,
    /// Whether steps wait out 429s (`--no-retry-429` turns it off for every step).
    retry_429: bool,
    /// `--check-schema`: every answer is also checked against Procore's schema.
    schema_check: Option<std::sync::Arc<SchemaCheck>>,
}

impl Runner {
    /// Connects to `target`, authenticates, and discovers the ids scenarios use. Every setup
    /// call waits out 429s.
    pub async fn connect(target: Target) -> Result<Self> {
        let unscoped = target.client(None);
        target.authenticate(&unscoped).await?;
        let discovery = target.discover(&unscoped).await?;
        let client = target.client(Some(discovery.company_id));
        target.authenticate(&client).await?;
        let powers = target.powers().await;
        let base_vars = variables(&discovery, client.config())?;
        Ok(Self {
            target,
            client,
            base_vars,
            profile: powers.profile,
            admin: powers.admin,
            crux: powers.crux,
            started: AtomicUsize::new(0),
            retry_429: true,
            schema_check: None,
        })
    }

    /// With `false`, no step waits out a 429: every 429 is the step's answer.
    pub fn retry_429(mut self, retry: bool) -> Self {
        self.retry_429 = retry;
        self
    }

    /// Checks every answer against Procore's published schema as well (`--check-schema`).
    pub fn check_schema(mut self, check: std::sync::Arc<SchemaCheck>) -> Self {
        self.schema_check = Some(check);
        self
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Why `scenario` cannot run on this target, if it cannot.
    pub fn skip_reason(&self, scenario: &Scenario) -> Option<String> {
        scenario.requires.iter().find_map(|requirement| match requirement.as_str() {
            "mock-only" if !self.admin => Some("needs mock-only powers (admin, clock, faults); skipped on a sandbox".to_owned()),
            "crux" if !self.crux => Some("needs a mock serving Crux Connect with its default Crux admin API user".to_owned()),
            r if r.starts_with("profile:") => {
                let wanted = &r["profile:".len()..];
                match &self.profile {
                    Some(profile) if profile != wanted => Some(format!("needs the {wanted} profile; the target serves {profile}")),
                    None if wanted == "documented" => Some("needs the documented profile (seed-only behaviour); a sandbox serves the official API".to_owned()),
                    _ => None,
                }
            }
            _ => None,
        })
    }

    /// Runs one scenario, resetting a mock first as the target's reset policy says.
    pub async fn run(&self, scenario: &Scenario) -> ScenarioResult {
        let started = std::time::Instant::now();
        let mut transcript = Vec::new();
        let outcome = match self.skip_reason(scenario) {
            Some(reason) => Outcome::Skipped(reason),
            None => {
                let index = self.started.fetch_add(1, Ordering::SeqCst);
                match self.target.reset_before(index).await {
                    Err(err) => Outcome::Failed(Box::new(Failure {
                        step: 0,
                        step_name: "reset the target".to_owned(),
                        request: "POST /__admin/reset".to_owned(),
                        expected: vec!["status 200".to_owned()],
                        problems: vec![err.to_string()],
                        status: 0,
                        body: Value::Null,
                    })),
                    // A reset forgets tokens; authenticate again.
                    Ok(true) => match self.target.authenticate(&self.client).await {
                        Err(err) => Outcome::Skipped(format!("cannot authenticate: {err}")),
                        Ok(()) => self.run_steps(scenario, &mut transcript).await,
                    },
                    Ok(false) => self.run_steps(scenario, &mut transcript).await,
                }
            }
        };
        ScenarioResult {
            name: scenario.name.clone(),
            outcome,
            transcript,
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    async fn run_steps(
        &self,
        scenario: &Scenario,
        transcript: &mut Vec<TranscriptEntry>,
    ) -> Outcome {
        let mut vars = self.base_vars.clone();
        let mut receivers = BTreeMap::new();
        for (index, step) in scenario.steps.iter().enumerate() {
            let done = match (&step.receiver, &step.deliveries) {
                (Some(spec), _) => start_receiver(spec, &mut vars, &mut receivers).await,
                (_, Some(spec)) => {
                    self.check_deliveries(spec, &vars, &receivers, transcript)
                        .await
                }
                _ => self.run_step(index + 1, step, &mut vars, transcript).await,
            };
            if let Err(failure) = done {
                return Outcome::Failed(Box::new(Failure {
                    step: index + 1,
                    step_name: step.name.clone(),
                    ..failure
                }));
            }
        }
        Outcome::Passed
    }

    /// Flushes the target's webhook deliveries, then checks what `spec.receiver` got since its
    /// last check.
    async fn check_deliveries(
        &self,
        spec: &DeliveriesSpec,
        vars: &Vars,
        receivers: &BTreeMap<String, Receiver>,
        transcript: &mut Vec<TranscriptEntry>,
    ) -> Result<(), Failure> {
        let expected = describe_deliveries(spec, vars);
        let failure = |problems: Vec<String>, body: Value| Failure {
            step: 0,
            step_name: String::new(),
            request: "POST /__admin/webhooks/flush".to_owned(),
            expected: expected.clone(),
            problems,
            status: 0,
            body,
        };
        let flushed = match self.target.require_admin("webhook deliveries") {
            Ok(admin) => admin
                .flush_webhooks()
                .await
                .map_err(|e| failure(vec![e.to_string()], Value::Null))?,
            Err(e) => return Err(failure(vec![e.to_string()], Value::Null)),
        };
        let Some(receiver) = receivers.get(&spec.receiver) else {
            let problem = format!("no receiver named {}", spec.receiver);
            return Err(failure(vec![problem], Value::Null));
        };
        let delivered = receiver.take();
        let bodies: Vec<Value> = delivered.iter().map(|d| d.body.clone()).collect();
        transcript.push(TranscriptEntry {
            step: format!("deliveries to {}", spec.receiver),
            request: "POST /__admin/webhooks/flush".to_owned(),
            status: 200,
            body: normalize(&json!({"flush": flushed, "received": bodies}), vars),
        });
        let problems = delivery_problems(spec, &delivered, vars);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(failure(problems, Value::Array(bodies)))
        }
    }

    async fn run_step(
        &self,
        number: usize,
        step: &Step,
        vars: &mut Vars,
        transcript: &mut Vec<TranscriptEntry>,
    ) -> Result<(), Failure> {
        let failure = |request: String, problems: Vec<String>, vars: &Vars| Failure {
            step: number,
            step_name: step.name.clone(),
            request,
            expected: describe_expectation(step, vars),
            problems,
            status: 0,
            body: Value::Null,
        };
        let Some(request) = &step.request else {
            return Err(failure(
                String::new(),
                vec!["the step has no request".to_owned()],
                vars,
            ));
        };
        let repetitions = step.repeat.as_ref().and_then(|r| r.times).unwrap_or(1);
        for i in 0..repetitions {
            if step.repeat.as_ref().is_some_and(|r| r.times.is_some()) {
                vars.insert("i".to_owned(), json!(i));
            }
            let (method, mut url, headers, body) = prepare(request, vars).map_err(|e| {
                failure(
                    format!("{} {}", request.method, request.path),
                    vec![e.to_string()],
                    vars,
                )
            })?;
            let mut pages = 0;
            loop {
                pages += 1;
                let description = describe_request(&method, &url, &body);
                let attempts = if self.retry_429 && step.retry_429 {
                    STEP_ATTEMPTS
                } else {
                    1
                };
                let response = self
                    .send(request.auth, attempts, &method, &url, &headers, &body)
                    .await
                    .map_err(|e| failure(description.clone(), vec![e.to_string()], vars))?;
                if let Some(check) = &self.schema_check {
                    check.record(method.as_str(), &url, response.status, &response.body);
                }
                transcript.push(TranscriptEntry {
                    step: step.name.clone(),
                    request: normalize_path(&method, &url, vars),
                    status: response.status,
                    body: normalize(&response.body, vars),
                });
                let problems = check(step, &response, vars);
                if !problems.is_empty() {
                    return Err(Failure {
                        status: response.status,
                        body: response.body.clone(),
                        ..failure(description, problems, vars)
                    });
                }
                if let Err(e) = capture(step, &response, vars) {
                    return Err(failure(description.clone(), vec![e.to_string()], vars));
                }
                let follow = step.repeat.as_ref().and_then(|r| r.follow.as_deref());
                let max = step.repeat.as_ref().and_then(|r| r.max).unwrap_or(100);
                match follow.and_then(|rel| response.link(rel)) {
                    Some(next) if pages < max => url = next,
                    _ => break,
                }
            }
        }
        Ok(())
    }

    async fn send(
        &self,
        auth: Auth,
        attempts: u32,
        method: &Method,
        url: &str,
        headers: &[(String, String)],
        body: &RequestBody,
    ) -> Result<ApiResponse> {
        match auth {
            Auth::Bearer => {
                self.target
                    .patiently(attempts, || {
                        self.client.request(method.clone(), url, headers, body)
                    })
                    .await
            }
            Auth::None => {
                let path = url
                    .strip_prefix(self.client.config().api_base.as_str())
                    .unwrap_or(url);
                // The mock's control plane takes its own token when it is guarded by one.
                let admin = self
                    .target
                    .admin()
                    .and_then(|admin| admin.header())
                    .filter(|_| path.starts_with("/__admin"));
                let headers: Vec<(String, String)> = headers.iter().cloned().chain(admin).collect();
                self.target
                    .patiently(attempts, || {
                        self.client
                            .request_without_token(method.clone(), url, &headers, body)
                    })
                    .await
            }
        }
    }
}

/// Starts the receiver a step names and defines `{{<name>_url}}`.
async fn start_receiver(
    spec: &ReceiverSpec,
    vars: &mut Vars,
    receivers: &mut BTreeMap<String, Receiver>,
) -> Result<(), Failure> {
    let receiver = Receiver::start(spec.status).await.map_err(|e| Failure {
        step: 0,
        step_name: String::new(),
        request: format!("start receiver {}", spec.name),
        expected: vec!["a receiver on a loopback port".to_owned()],
        problems: vec![e.to_string()],
        status: 0,
        body: Value::Null,
    })?;
    vars.insert(format!("{}_url", spec.name), json!(receiver.url()));
    receivers.insert(spec.name.clone(), receiver);
    Ok(())
}

/// A deliveries check as written, with variables resolved.
fn describe_deliveries(spec: &DeliveriesSpec, vars: &Vars) -> Vec<String> {
    let mut lines = Vec::new();
    let count = spec.count.unwrap_or(spec.events.len());
    lines.push(format!("{count} deliveries to {}", spec.receiver));
    for event in &spec.events {
        let resolved = render_value(event, vars).unwrap_or_else(|_| event.clone());
        lines.push(format!("event {resolved}"));
    }
    for (name, value) in &spec.headers {
        let resolved = render(value, vars).unwrap_or_else(|_| value.clone());
        lines.push(format!("header {name}: {resolved}"));
    }
    lines
}

/// Every way what a receiver got misses the check: the count, each event in order, and the
/// headers every delivery must carry.
fn delivery_problems(spec: &DeliveriesSpec, delivered: &[Delivered], vars: &Vars) -> Vec<String> {
    let mut problems = Vec::new();
    let count = spec.count.unwrap_or(spec.events.len());
    if delivered.len() != count {
        problems.push(format!(
            "deliveries: expected {count}, got {}",
            delivered.len()
        ));
    }
    for (i, expected) in spec.events.iter().enumerate() {
        let expected = match render_value(expected, vars) {
            Ok(expected) => expected,
            Err(err) => {
                problems.push(err.to_string());
                continue;
            }
        };
        let actual = delivered.get(i).map(|d| &d.body);
        problems.extend(
            mismatches(&expected, actual)
                .into_iter()
                .map(|p| format!("delivery {i} {p}")),
        );
    }
    for (name, value) in &spec.headers {
        let wanted = render(value, vars).unwrap_or_else(|e| e.to_string());
        for (i, delivery) in delivered.iter().enumerate() {
            let got = delivery.headers.get(&name.to_ascii_lowercase());
            if got != Some(&wanted) {
                problems.push(format!(
                    "delivery {i} header {name}: expected {wanted:?}, got {got:?}"
                ));
            }
        }
    }
    problems
}

/// The variables discovered on the target, in the order of [`DISCOVERED_VARS`] (which file
/// validation checks templates against).
fn variables(discovery: &Discovery, config: &ClientConfig) -> Result<Vars> {
    let [(project, templates), (other_project, other_templates)] = &discovery.projects[..] else {
        return Err(HarnessError::Discovery(
            "the company needs at least two projects".to_owned(),
        ));
    };
    for (id, usable) in [(project, templates), (other_project, other_templates)] {
        if usable.len() < 2 {
            return Err(HarnessError::Discovery(format!(
                "project {id} needs at least two usable permission templates"
            )));
        }
    }
    let company_template = discovery.company_template.ok_or_else(|| {
        HarnessError::Discovery("the company needs a company-tools permission template".to_owned())
    })?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let values = [
        json!(discovery.company_id),
        json!(project),
        json!(other_project),
        json!(templates[0]),
        json!(templates[1]),
        json!(company_template),
        json!(run_id),
        json!(config.api_base),
        json!(config.client_id),
        json!(config.client_secret),
    ];
    Ok(DISCOVERED_VARS
        .into_iter()
        .zip(values)
        .map(|(k, v)| (k.to_owned(), v))
        .collect())
}

/// A request ready to send: method, URL, extra headers, body.
type Prepared = (Method, String, Vec<(String, String)>, RequestBody);

/// Why a step's request could not be built.
#[derive(Debug, thiserror::Error)]
enum PrepareError {
    /// Not an HTTP method (loading refuses those, so only a scenario built in code gets here).
    #[error(transparent)]
    Method(#[from] axum::http::method::InvalidMethod),
    /// A `{{variable}}` that cannot be filled in.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// The request of a step with its variables filled in.
fn prepare(spec: &RequestSpec, vars: &Vars) -> Result<Prepared, PrepareError> {
    let method = Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())?;
    let mut url = render(&spec.path, vars)?;
    if !spec.query.is_empty() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &spec.query {
            query.append_pair(&render(key, vars)?, &render(value, vars)?);
        }
        url = format!(
            "{url}{}{}",
            if url.contains('?') { '&' } else { '?' },
            query.finish()
        );
    }
    let headers = spec
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), render(v, vars)?)))
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let body = if let Some(json) = &spec.json {
        RequestBody::Json(render_value(json, vars)?)
    } else if let Some(form) = &spec.form {
        RequestBody::Form(
            form.iter()
                .map(|(k, v)| Ok((render(k, vars)?, render(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        )
    } else if let Some(parts) = &spec.multipart {
        let mut texts = Vec::new();
        let mut files = Vec::new();
        for (name, value) in parts {
            match render_value(value, vars)? {
                Value::Object(file) => files.push((
                    name.clone(),
                    file.get("file_name")
                        .and_then(Value::as_str)
                        .unwrap_or("file")
                        .to_owned(),
                    file.get("content_type")
                        .and_then(Value::as_str)
                        .unwrap_or("application/octet-stream")
                        .to_owned(),
                    file.get("text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .as_bytes()
                        .to_vec(),
                )),
                Value::String(text) => texts.push((name.clone(), text)),
                other => texts.push((name.clone(), other.to_string())),
            }
        }
        RequestBody::Multipart(texts, files)
    } else if let Some(raw) = &spec.raw {
        RequestBody::Raw(render(raw, vars)?.into_bytes())
    } else {
        RequestBody::Empty
    };
    Ok((method, url, headers, body))
}

/// Every way `response` misses the step's expectation.
fn check(step: &Step, response: &ApiResponse, vars: &Vars) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(status) = &step.expect.status {
        if !status.allows(response.status) {
            problems.push(format!(
                "status: expected {}, got {}",
                describe_status(status),
                response.status
            ));
        }
    }
    for (name, expectation) in &step.expect.headers {
        let value = response.header(name);
        if expectation.present && value.is_none() {
            problems.push(format!("header {name}: expected present, got nothing"));
        }
        if expectation.absent && value.is_some() {
            problems.push(format!(
                "header {name}: expected absent, got {:?}",
                value.unwrap_or_default()
            ));
        }
        if let Some(wanted) = &expectation.equals {
            let wanted = render(wanted, vars).unwrap_or_else(|e| e.to_string());
            if value != Some(wanted.as_str()) {
                problems.push(format!("header {name}: expected {wanted:?}, got {value:?}"));
            }
        }
        if let Some(pattern) = &expectation.matches {
            let matched = regex::Regex::new(pattern)
                .ok()
                .zip(value)
                .is_some_and(|(re, v)| re.is_match(v));
            if !matched {
                problems.push(format!(
                    "header {name}: expected to match /{pattern}/, got {value:?}"
                ));
            }
        }
    }
    if let Some(expected) = &step.expect.json {
        match render_value(expected, vars) {
            Ok(expected) => problems.extend(
                mismatches(&expected, Some(&response.body))
                    .into_iter()
                    .map(|p| format!("json {p}")),
            ),
            Err(err) => problems.push(err.to_string()),
        }
    }
    problems
}

/// A capture the answer cannot satisfy; each names the variable.
#[derive(Debug, thiserror::Error)]
enum CaptureError {
    /// No value at the JSON pointer.
    #[error("capture {name}: nothing at {pointer}")]
    NothingAt { name: String, pointer: String },
    /// The header (or `Link` relation) is missing.
    #[error("capture {name}: no header {header}")]
    NoHeader { name: String, header: String },
    /// The header's value does not match the capture's regex.
    #[error("capture {name}: {header} {text:?} does not match /{pattern}/")]
    NoMatch {
        name: String,
        header: String,
        text: String,
        pattern: String,
    },
    /// No element of the array matches the capture's filter.
    #[error("capture {name}: no element of {pointer} matches {filter}")]
    NoElement {
        name: String,
        pointer: String,
        filter: Value,
    },
    /// The filter's `{{variables}}` cannot be filled in.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Reads the step's captures from `response` into `vars`.
fn capture(step: &Step, response: &ApiResponse, vars: &mut Vars) -> Result<(), CaptureError> {
    for (name, spec) in &step.capture {
        let value =
            match spec {
                Capture::Pointer(pointer) => {
                    response.body.pointer(pointer).cloned().ok_or_else(|| {
                        CaptureError::NothingAt {
                            name: name.clone(),
                            pointer: pointer.clone(),
                        }
                    })?
                }
                Capture::Spec(spec) => {
                    if let Some(header) = &spec.header {
                        let text = match &spec.rel {
                            Some(rel) => response.link(rel),
                            None => response.header(header).map(str::to_owned),
                        };
                        let text = text.ok_or_else(|| CaptureError::NoHeader {
                            name: name.clone(),
                            header: header.clone(),
                        })?;
                        let text = match &spec.regex {
                            Some(pattern) => regex::Regex::new(pattern)
                                .ok()
                                .and_then(|re| {
                                    re.captures(&text)?.get(1).map(|m| m.as_str().to_owned())
                                })
                                .ok_or_else(|| CaptureError::NoMatch {
                                    name: name.clone(),
                                    header: header.clone(),
                                    text: text.clone(),
                                    pattern: pattern.clone(),
                                })?,
                            None => text,
                        };
                        text.parse::<u64>()
                            .map(|n| json!(n))
                            .unwrap_or(Value::String(text))
                    } else {
                        let pointer = spec.pointer.as_deref().unwrap_or("");
                        let target = response.body.pointer(pointer).ok_or_else(|| {
                            CaptureError::NothingAt {
                                name: name.clone(),
                                pointer: pointer.to_owned(),
                            }
                        })?;
                        if spec.count {
                            let count = target.as_array().map_or(0, Vec::len) as u64;
                            let before = if spec.accumulate {
                                vars.get(name).and_then(Value::as_u64).unwrap_or(0)
                            } else {
                                0
                            };
                            json!(before + count)
                        } else {
                            let filter = spec
                                .filter
                                .as_ref()
                                .map(|f| render_value(f, vars))
                                .transpose()?;
                            let picked = match (&filter, target.as_array()) {
                                (Some(filter), Some(items)) => items
                                    .iter()
                                    .find(|item| mismatches(filter, Some(item)).is_empty())
                                    .ok_or_else(|| CaptureError::NoElement {
                                        name: name.clone(),
                                        pointer: pointer.to_owned(),
                                        filter: filter.clone(),
                                    })?,
                                _ => target,
                            };
                            let take = spec.take.as_deref().unwrap_or("");
                            picked.pointer(take).cloned().ok_or_else(|| {
                                CaptureError::NothingAt {
                                    name: name.clone(),
                                    pointer: take.to_owned(),
                                }
                            })?
                        }
                    }
                }
            };
        vars.insert(name.clone(), value);
    }
    Ok(())
}

fn describe_status(status: &super::schema::StatusSpec) -> String {
    match status {
        super::schema::StatusSpec::One(s) => s.to_string(),
        super::schema::StatusSpec::Any(all) => format!("one of {all:?}"),
    }
}

/// The step's expectations as written, with variables resolved.
fn describe_expectation(step: &Step, vars: &Vars) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(status) = &step.expect.status {
        lines.push(format!("status {}", describe_status(status)));
    }
    for (name, header) in &step.expect.headers {
        let mut written = serde_json::Map::new();
        if header.present {
            written.insert("present".to_owned(), json!(true));
        }
        if header.absent {
            written.insert("absent".to_owned(), json!(true));
        }
        if let Some(equals) = &header.equals {
            let resolved = render(equals, vars).unwrap_or_else(|_| equals.clone());
            written.insert("equals".to_owned(), json!(resolved));
        }
        if let Some(pattern) = &header.matches {
            written.insert("matches".to_owned(), json!(pattern));
        }
        lines.push(format!("header {name} {}", Value::Object(written)));
    }
    if let Some(expected) = &step.expect.json {
        let resolved = render_value(expected, vars).unwrap_or_else(|_| expected.clone());
        lines.push(format!("json {resolved}"));
    }
    lines
}

fn describe_request(method: &Method, url: &str, body: &RequestBody) -> String {
    match body {
        RequestBody::Empty => format!("{method} {url}"),
        RequestBody::Json(value) => format!("{method} {url} {value}"),
        RequestBody::Form(pairs) => format!("{method} {url} (form) {pairs:?}"),
        RequestBody::Multipart(texts, files) => format!(
            "{method} {url} (multipart) {texts:?} + {} file(s)",
            files.len()
        ),
        RequestBody::Raw(bytes) => format!("{method} {url} {}", String::from_utf8_lossy(bytes)),
    }
}

/// `METHOD /path?query` with numbers in the path and the host removed, for transcripts.
fn normalize_path(method: &Method, url: &str, vars: &Vars) -> String {
    let run_id = vars
        .get("run_id")
        .and_then(Value::as_str)
        .unwrap_or("\u{0}");
    let url = url.replace(run_id, "[run]");
    let url = url.as_str();
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let path: Vec<String> = path
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()) {
                "{id}".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    let query: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| {
            let value = if chrono::DateTime::parse_from_rfc3339(&value).is_ok() {
                "[timestamp]".to_owned()
            } else {
                redact_text(&value)
            };
            format!("{key}={value}")
        })
        .collect();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    format!("{method} {}{query}", path.join("/"))
}

/// A body with ids, timestamps, run-specific emails and secrets redacted, for transcripts.
fn normalize(value: &Value, vars: &Vars) -> Value {
    let run_id = vars
        .get("run_id")
        .and_then(Value::as_str)
        .unwrap_or("\u{0}");
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let redacted = match (key.as_str(), v) {
                        (
                            "access_token" | "refresh_token" | "code" | "auth_token",
                            Value::String(_),
                        ) => {
                            json!("[token]")
                        }
                        ("ulid", Value::String(_)) => json!("[ulid]"),
                        // A receiver's `Date` header, in a webhook delivery log.
                        ("date", Value::String(_)) => json!("[date]"),
                        (k, Value::Number(_))
                            if k == "id"
                                || k.ends_with("_id")
                                || k == "created_at"
                                || k == "epoch"
                                || k == "expires_in_seconds" =>
                        {
                            json!("[id]")
                        }
                        _ => normalize(v, vars),
                    };
                    (key.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalize(v, vars)).collect()),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => json!("[timestamp]"),
        Value::String(s) if s.contains(run_id) => json!(s.replace(run_id, "[run]")),
        // Uuids are fixture data (Crux's users and permissions), the same on every run: kept
        // whole, they stay readable where masking their digits would garble them.
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => json!(s),
        Value::String(s) => json!(redact_text(s)),
        other => other.clone(),
    }
}

/// Runs of three or more digits become `#` (ids and epochs in messages and queries).
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |out: &mut String, digits: &mut String| {
        if digits.len() >= 3 {
            out.push('#');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut out, &mut digits);
            out.push(c);
        }
    }
    flush(&mut out, &mut digits);
    out
}
