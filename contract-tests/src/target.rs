//! The one target layer: what the harness runs against (the embedded mock, a running mock at a
//! URL, or a real Procore sandbox), with the credentials to use, its admin API, discovery of
//! the ids scenarios and lifecycles need, the reset policy, and the harness's patience with
//! 429s. Every command opens a [`Target`] and goes through it.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use procore_mock::{Fixture, MockServer, Profile};
use reqwest::Method;
use serde_json::Value;

use crate::admin::AdminApi;
use crate::client::{
    ApiResponse, ClientConfig, ClientError, ProcoreClient, RateHeaders, RequestBody,
};
use crate::error::{HarnessError, Result};

/// The default data's Directory Admin app, which mock targets log in as unless told otherwise.
pub const MOCK_CLIENT: (&str, &str) = ("procore-mock-client", "procore-mock-secret");

/// The mock's default Crux Connect API user, with `view_org_users` and `edit_org_users`.
pub const CRUX_ADMIN: (&str, &str) = ("crux-admin@summit-builders.example", "crux-admin-password");

/// Procore's production hosts, refused unless `--allow-production`.
const PRODUCTION_HOSTS: [&str; 2] = ["api.procore.com", "login.procore.com"];

/// How many times the harness's own calls (discovery, authentication) wait out a 429.
pub const SETUP_ATTEMPTS: u32 = 30;

/// How many times a scenario step or lifecycle call waits out a 429 before it is a result.
pub const STEP_ATTEMPTS: u32 = 10;

/// A target as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// `embedded`: a mock started in-process.
    Embedded,
    /// A running mock at this base URL.
    Url(String),
    /// `sandbox`: a real Procore from `PROCORE_*` environment variables.
    Sandbox,
}

impl std::str::FromStr for TargetSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "embedded" => Ok(TargetSpec::Embedded),
            "sandbox" => Ok(TargetSpec::Sandbox),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(TargetSpec::Url(url.trim_end_matches('/').to_owned()))
            }
            other => Err(format!(
                "`{other}` is not a target: use embedded, sandbox or a base URL"
            )),
        }
    }
}

/// When a mock target is put back to its loaded fixture (`POST /__admin/reset`, which also
/// drops fault rules, the journal and rate-limit counts, and restores the configured limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ResetPolicy {
    /// Before every scenario or lifecycle case (the default on mocks).
    Each,
    /// Once, before the first.
    Once,
    /// Never: run on the target as it is (the only choice on a sandbox).
    Never,
    /// `--reset` without a value: the deprecated flag, read as `each`.
    #[value(hide = true)]
    Bare,
}

/// How to reach a target and as whom: the flags every command shares.
#[derive(Clone, Debug, clap::Args)]
pub struct TargetArgs {
    /// `embedded` (default), `sandbox`, or the base URL of a running mock.
    #[arg(long, default_value = "embedded")]
    pub target: TargetSpec,
    /// OAuth client id (default on mocks: the default data's `procore-mock-client`).
    #[arg(long, env = "PROCORE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[arg(long, env = "PROCORE_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// The token of a mock started with `--admin-token` (sent on `/__admin` calls only).
    #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seed data for the embedded target (a fixture file, as `procore-mock --fixtures` takes).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// The profile the embedded target serves.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Allow a sandbox target on Procore's production hosts.
    #[arg(long)]
    pub allow_production: bool,
}

impl Default for TargetArgs {
    fn default() -> Self {
        Self {
            target: TargetSpec::Embedded,
            client_id: None,
            client_secret: None,
            admin_token: None,
            fixtures: None,
            profile: None,
            allow_production: false,
        }
    }
}

impl TargetArgs {
    /// Arguments for `spec` with everything else at its default.
    pub fn new(spec: TargetSpec) -> Self {
        Self {
            target: spec,
            ..Self::default()
        }
    }
}

/// What a running target can do, read from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Powers {
    /// The `/__admin` API answers (clock, faults, reset, journal).
    pub admin: bool,
    /// The profile a mock serves (`documented` or `official`); `None` on a sandbox.
    pub profile: Option<String>,
    /// A mock serves Crux Connect's permission API and [`CRUX_ADMIN`] logs in there (not with
    /// `--no-crux`, nor with a fixture without Crux data).
    pub crux: bool,
}

/// What discovery found on the target: the company to work in, its first projects with their
/// usable permission templates, and a company-tools template.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// The company (the first visible, or `PROCORE_COMPANY_ID`).
    pub company_id: u64,
    /// Its first two projects (`PROCORE_PROJECT_ID` first), each with its usable templates.
    pub projects: Vec<(u64, Vec<u64>)>,
    /// A company-tools template: not usable on any project.
    pub company_template: Option<u64>,
}

/// An opened target.
#[derive(Debug)]
pub struct Target {
    /// How to reach it and as whom (no company: discovery finds it).
    client: ClientConfig,
    /// The admin API of mock targets.
    admin: Option<AdminApi>,
    /// A project to work in first, when the sandbox names one.
    project_id: Option<u64>,
    /// The reset policy in force.
    reset: ResetPolicy,
    /// The embedded server, kept alive as long as the target.
    server: Option<MockServer>,
}

impl Target {
    /// Opens the target `args` name. A sandbox needs `PROCORE_API_BASE`,
    /// `PROCORE_LOGIN_BASE`, `PROCORE_COMPANY_ID` and credentials (optionally
    /// `PROCORE_PROJECT_ID`); production hosts are refused unless `allow_production`.
    pub fn open(args: &TargetArgs) -> Result<Self> {
        let target = match &args.target {
            TargetSpec::Embedded => {
                let mut builder = MockServer::builder();
                if let Some(path) = &args.fixtures {
                    if !path.exists() {
                        return Err(HarnessError::missing_path(
                            "--fixtures".to_owned(),
                            path,
                            "give a fixture file (as `procore-mock --fixtures` takes); without \
                             one the embedded mock serves its built-in default data"
                                .to_owned(),
                        ));
                    }
                    let fixture = Fixture::from_path(path).map_err(|e| {
                        HarnessError::Config(format!("--fixtures {}: {e}", path.display()))
                    })?;
                    builder = builder.fixture(fixture);
                }
                if let Some(profile) = args.profile {
                    builder = builder.profile(profile);
                }
                let server = builder.try_start().map_err(HarnessError::Embedded)?;
                let mut target = Self::mock(server.url(), args)?;
                target.server = Some(server);
                target
            }
            TargetSpec::Url(base) => {
                if args.fixtures.is_some() || args.profile.is_some() {
                    return Err(HarnessError::Config(
                        "--fixtures and --profile configure the embedded target; a running mock was started with its own".to_owned(),
                    ));
                }
                Self::mock(base, args)?
            }
            TargetSpec::Sandbox => {
                let var = |name: &str| match name {
                    "PROCORE_CLIENT_ID" => args.client_id.clone(),
                    "PROCORE_CLIENT_SECRET" => args.client_secret.clone(),
                    _ => std::env::var(name).ok(),
                };
                Self::sandbox(var, args.allow_production)?
            }
        };
        Ok(target)
    }

    fn mock(base: &str, args: &TargetArgs) -> Result<Self> {
        let (client_id, client_secret) = match (&args.client_id, &args.client_secret) {
            (None, None) => (MOCK_CLIENT.0.to_owned(), MOCK_CLIENT.1.to_owned()),
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => {
                return Err(HarnessError::Config(
                    "give both --client-id and --client-secret (or PROCORE_CLIENT_ID and PROCORE_CLIENT_SECRET), or neither for the default data's app".to_owned(),
                ))
            }
        };
        Ok(Self {
            client: ClientConfig {
                api_base: base.to_owned(),
                login_base: base.to_owned(),
                client_id,
                client_secret,
                company_id: None,
                max_retries: 0,
            },
            admin: Some(AdminApi::new(base, args.admin_token.clone())),
            project_id: None,
            reset: ResetPolicy::Each,
            server: None,
        })
    }

    /// A sandbox from variables read by `var`.
    pub fn sandbox(var: impl Fn(&str) -> Option<String>, allow_production: bool) -> Result<Self> {
        let required = [
            "PROCORE_API_BASE",
            "PROCORE_LOGIN_BASE",
            "PROCORE_CLIENT_ID",
            "PROCORE_CLIENT_SECRET",
            "PROCORE_COMPANY_ID",
        ];
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|name| var(name).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(HarnessError::Config(format!(
                "the sandbox target needs these environment variables: {} (missing: {}); --client-id and --client-secret stand for the credentials",
                required.join(", "),
                missing.join(", ")
            )));
        }
        let get = |name: &str| var(name).unwrap_or_default();
        let api_base = get("PROCORE_API_BASE").trim_end_matches('/').to_owned();
        let login_base = get("PROCORE_LOGIN_BASE").trim_end_matches('/').to_owned();
        for base in [&api_base, &login_base] {
            let host = base
                .split("://")
                .nth(1)
                .unwrap_or(base)
                .split(['/', ':'])
                .next()
                .unwrap_or("");
            if PRODUCTION_HOSTS.contains(&host) && !allow_production {
                return Err(HarnessError::Config(format!(
                    "{base} is Procore production: refusing to run contract tests there without --allow-production"
                )));
            }
        }
        let number = |name: &str| {
            get(name)
                .parse::<u64>()
                .map_err(|_| HarnessError::Config(format!("{name} must be a numeric id")))
        };
        Ok(Self {
            client: ClientConfig {
                api_base,
                login_base,
                client_id: get("PROCORE_CLIENT_ID"),
                client_secret: get("PROCORE_CLIENT_SECRET"),
                company_id: Some(number("PROCORE_COMPANY_ID")?),
                max_retries: 0,
            },
            admin: None,
            project_id: var("PROCORE_PROJECT_ID")
                .map(|_| number("PROCORE_PROJECT_ID"))
                .transpose()?,
            reset: ResetPolicy::Never,
            server: None,
        })
    }

    /// Sets the reset policy; `None` keeps the default (`each` on mocks, `never` on a
    /// sandbox). A sandbox cannot be reset.
    pub fn with_reset_policy(mut self, policy: Option<ResetPolicy>) -> Result<Self> {
        let policy = match policy {
            None => return Ok(self),
            Some(ResetPolicy::Bare) => ResetPolicy::Each,
            Some(policy) => policy,
        };
        if self.admin.is_none() && policy != ResetPolicy::Never {
            return Err(HarnessError::Config(
                "a sandbox cannot be reset: use --reset never (the default there)".to_owned(),
            ));
        }
        self.reset = policy;
        Ok(self)
    }

    /// The reset policy in force.
    pub fn reset_policy(&self) -> ResetPolicy {
        self.reset
    }

    /// Where and as whom the harness talks (no company yet).
    pub fn client_config(&self) -> &ClientConfig {
        &self.client
    }

    /// A harness client: it never retries a 429 itself ([`Target::patiently`] does, with the
    /// target's way of waiting).
    pub fn client(&self, company_id: Option<u64>) -> ProcoreClient {
        ProcoreClient::new(ClientConfig {
            company_id: company_id.or(self.client.company_id),
            max_retries: 0,
            ..self.client.clone()
        })
    }

    /// The admin API, on mock targets.
    pub fn admin(&self) -> Option<&AdminApi> {
        self.admin.as_ref()
    }

    /// The admin API, or an error saying `what` needs one.
    pub fn require_admin(&self, what: &'static str) -> Result<&AdminApi> {
        self.admin.as_ref().ok_or(HarnessError::NeedsMock(what))
    }

    /// What the target can do: its admin API answers, and which profile it serves.
    pub async fn powers(&self) -> Powers {
        let Some(admin) = &self.admin else {
            return Powers {
                admin: false,
                profile: None,
                crux: false,
            };
        };
        match admin.send(Method::GET, "/health", None).await {
            Ok((200, health)) => Powers {
                admin: true,
                profile: health["profile"].as_str().map(str::to_owned),
                crux: self.crux_login_works().await,
            },
            _ => Powers {
                admin: false,
                profile: None,
                crux: false,
            },
        }
    }

    /// Whether [`CRUX_ADMIN`] logs in to Crux Connect on this target.
    async fn crux_login_works(&self) -> bool {
        let (username, password) = CRUX_ADMIN;
        let body =
            RequestBody::Json(serde_json::json!({"username": username, "password": password}));
        self.client(None)
            .request_without_token(Method::POST, "/organizations/user-login/", &[], &body)
            .await
            .is_ok_and(|answer| answer.status == 200)
    }

    /// Resets a mock before run number `index` (0-based) as the policy says; answers whether
    /// it did.
    pub async fn reset_before(&self, index: usize) -> Result<bool> {
        let due = match self.reset {
            ResetPolicy::Each | ResetPolicy::Bare => true,
            ResetPolicy::Once => index == 0,
            ResetPolicy::Never => false,
        };
        match (&self.admin, due) {
            (Some(admin), true) => admin.reset().await.map(|()| true),
            _ => Ok(false),
        }
    }

    /// One line for reports saying what the reset policy did, `unit` being what runs
    /// (`scenario`, `case`).
    pub fn reset_note(&self, unit: &str) -> String {
        const WHAT: &str =
            "data, fault rules, journal, rate-limit counts and limits back to the mock's start";
        match self.reset {
            _ if self.admin.is_none() => {
                "reset: never (a sandbox cannot be reset; created users are cleaned up where the run can)".to_owned()
            }
            ResetPolicy::Each | ResetPolicy::Bare => {
                format!("reset: before each {unit} (POST /__admin/reset: {WHAT})")
            }
            ResetPolicy::Once => format!("reset: once, before the first {unit} ({WHAT})"),
            ResetPolicy::Never => {
                "reset: never (the mock's data, fault rules, limits and journal were left as they were)".to_owned()
            }
        }
    }

    /// Whether the harness may move the target's clock to wait out a 429: it owns an embedded
    /// mock, and a running mock it resets (it already owns that mock's state). Under
    /// `--reset never` the mock may be shared, so the harness sleeps in real time instead.
    pub fn owns_clock(&self) -> bool {
        self.admin.is_some() && (self.server.is_some() || !matches!(self.reset, ResetPolicy::Never))
    }

    /// Waits as a 429 asked: advances the mock clock when the harness owns it, sleeps
    /// otherwise. Answers the milliseconds waited.
    pub async fn wait_out(&self, throttled: &ApiResponse) -> Result<u64> {
        let headers = RateHeaders::from_response(throttled.status, &throttled.headers);
        let now_ms = throttled
            .header("date")
            .and_then(|date| chrono::DateTime::parse_from_rfc2822(date).ok())
            .map_or_else(
                || chrono::Utc::now().timestamp_millis(),
                |t| t.timestamp_millis(),
            );
        let wait_ms = headers.wait_ms(now_ms).max(1);
        match (&self.admin, self.owns_clock()) {
            (Some(admin), true) => admin.advance_clock(wait_ms as f64 / 1000.0).await?,
            _ => tokio::time::sleep(Duration::from_millis(wait_ms)).await,
        }
        Ok(wait_ms)
    }

    /// Sends with `send` until the answer is not a 429, waiting each 429 out as it asks, at
    /// most `attempts` times; the last 429 is answered as it is when `attempts` run out.
    pub async fn patiently<F, Fut>(&self, attempts: u32, mut send: F) -> Result<ApiResponse>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ApiResponse, ClientError>>,
    {
        let mut tries = 1;
        loop {
            let response = send().await?;
            if response.status != 429 || tries >= attempts {
                return Ok(response);
            }
            self.wait_out(&response).await?;
            tries += 1;
        }
    }

    /// Authenticates `client` (the token endpoint is not rate limited).
    pub async fn authenticate(&self, client: &ProcoreClient) -> Result<()> {
        client
            .authenticate()
            .await
            .map(drop)
            .map_err(HarnessError::from)
    }

    /// Every item of a list, following `Link` rel="next", with the harness's patience; a
    /// refusal is an error naming the call.
    pub async fn get_all(&self, client: &ProcoreClient, path: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut next = Some(path.to_owned());
        let empty = RequestBody::Empty;
        while let Some(url) = next {
            let response = self
                .patiently(SETUP_ATTEMPTS, || {
                    client.request(Method::GET, &url, &[], &empty)
                })
                .await?;
            match response.status {
                200 => {}
                429 => {
                    return Err(HarnessError::RateLimited {
                        request: format!("GET {url}"),
                        attempts: SETUP_ATTEMPTS,
                    });
                }
                status => {
                    return Err(HarnessError::Answered {
                        request: format!("GET {path}"),
                        status,
                        body: response.body,
                    })
                }
            }
            next = response.link("next");
            match response.body {
                Value::Array(page) if !page.is_empty() => items.extend(page),
                _ => break,
            }
        }
        Ok(items)
    }

    /// Finds the company, its first two projects and their usable templates, and a
    /// company-tools template, with `client` (authenticated, any company).
    pub async fn discover(&self, client: &ProcoreClient) -> Result<Discovery> {
        let company_id = match self.client.company_id {
            Some(id) => id,
            None => self
                .get_all(client, "/rest/v1.0/companies")
                .await?
                .first()
                .and_then(|c| c["id"].as_u64())
                .ok_or_else(|| {
                    HarnessError::Discovery(format!(
                        "the app `{}` sees no company (is it installed in one?)",
                        self.client.client_id
                    ))
                })?,
        };
        let scoped = self.client(Some(company_id));
        self.authenticate(&scoped).await?;
        let projects = self
            .get_all(
                &scoped,
                &format!("/rest/v1.0/projects?company_id={company_id}"),
            )
            .await?;
        let mut ids: Vec<u64> = projects.iter().filter_map(|p| p["id"].as_u64()).collect();
        if let Some(preferred) = self.project_id {
            ids.retain(|id| *id != preferred);
            ids.insert(0, preferred);
        }
        if ids.len() < 2 {
            return Err(HarnessError::Discovery(format!(
                "company {company_id} needs at least two projects"
            )));
        }
        let mut with_templates = Vec::new();
        for project in ids.into_iter().take(2) {
            let templates = self
                .get_all(
                    &scoped,
                    &format!("/rest/v1.0/projects/{project}/permission_templates"),
                )
                .await?;
            with_templates.push((
                project,
                templates.iter().filter_map(|t| t["id"].as_u64()).collect(),
            ));
        }
        let company_templates = self
            .get_all(
                &scoped,
                // Procore lists project templates unless asked for another type.
                &format!(
                    "/rest/v1.0/companies/{company_id}/permission_templates?filters[type]=company_tools"
                ),
            )
            .await?;
        Ok(Discovery {
            company_id,
            projects: with_templates,
            company_template: company_templates
                .iter()
                .find(|t| t["type"] == "company_tools")
                .and_then(|t| t["id"].as_u64()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    const SANDBOX: [(&str, &str); 5] = [
        ("PROCORE_API_BASE", "https://sandbox.procore.com"),
        ("PROCORE_LOGIN_BASE", "https://login-sandbox.procore.com"),
        ("PROCORE_CLIENT_ID", "id"),
        ("PROCORE_CLIENT_SECRET", "secret"),
        ("PROCORE_COMPANY_ID", "42"),
    ];

    #[test]
    fn a_sandbox_needs_its_credentials() {
        let err = Target::sandbox(env(&SANDBOX[..3]), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing: PROCORE_CLIENT_SECRET, PROCORE_COMPANY_ID"),
            "{err}"
        );
        let target = Target::sandbox(env(&SANDBOX), false).unwrap();
        assert_eq!(target.client_config().company_id, Some(42));
        assert!(target.admin().is_none());
        assert_eq!(target.reset_policy(), ResetPolicy::Never);
        assert!(target
            .with_reset_policy(Some(ResetPolicy::Each))
            .unwrap_err()
            .to_string()
            .contains("--reset never"));
    }

    #[test]
    fn production_is_refused_unless_allowed() {
        let mut production = SANDBOX;
        production[0] = ("PROCORE_API_BASE", "https://api.procore.com");
        let err = Target::sandbox(env(&production), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--allow-production"), "{err}");
        assert!(Target::sandbox(env(&production), true).is_ok());
    }

    #[test]
    fn targets_parse_from_the_command_line() {
        assert_eq!("embedded".parse(), Ok(TargetSpec::Embedded));
        assert_eq!(
            "http://127.0.0.1:4010/".parse(),
            Ok(TargetSpec::Url("http://127.0.0.1:4010".to_owned()))
        );
        assert!("nowhere".parse::<TargetSpec>().is_err());
    }

    #[test]
    fn a_mock_takes_both_credentials_or_neither() {
        let half = TargetArgs {
            client_id: Some("hr-sync".to_owned()),
            ..TargetArgs::new(TargetSpec::Url("http://127.0.0.1:9".to_owned()))
        };
        assert!(Target::open(&half)
            .unwrap_err()
            .to_string()
            .contains("--client-secret"));
    }
}
