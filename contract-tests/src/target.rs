//! What the harness runs against: an embedded mock, a running mock at a URL, or a real Procore
//! sandbox configured from the environment.
//!
//! A sandbox is refused, with a message naming what is missing, unless its credentials are
//! complete; production hosts are refused unless explicitly allowed, because the scenarios
//! create and deactivate users.

use std::collections::BTreeMap;

use procore_mock::MockServer;

use crate::client::{ApiRequest, Credentials, ProcoreClient};

/// The default data's Directory Admin app, which every mock starts with.
pub const MOCK_CLIENT_ID: &str = "procore-mock-client";
/// Its secret.
pub const MOCK_CLIENT_SECRET: &str = "procore-mock-secret";

/// Production hosts: never written to unless the caller says so.
const PRODUCTION_HOSTS: [&str; 2] = ["api.procore.com", "login.procore.com"];

/// The sandbox's environment variables, in the order a refusal lists them.
const SANDBOX_VARS: [&str; 5] = [
    "PROCORE_API_BASE",
    "PROCORE_LOGIN_BASE",
    "PROCORE_CLIENT_ID",
    "PROCORE_CLIENT_SECRET",
    "PROCORE_COMPANY_ID",
];

/// Which target a run asks for, as written on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// Start `procore_mock::MockServer` in-process with the default data.
    Embedded,
    /// A running mock at this base URL.
    Url(String),
    /// A Procore sandbox from `PROCORE_*` environment variables.
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
                "unknown target `{other}`: use `embedded`, `sandbox` or a mock's http(s) URL"
            )),
        }
    }
}

/// Why a target cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Sandbox variables are missing or malformed.
    #[error("cannot use the sandbox: {0}")]
    Sandbox(String),
    /// A production host without `--allow-production`.
    #[error(
        "refusing to run against production host `{0}`: scenarios create and deactivate users; \
         pass --allow-production if you really mean it"
    )]
    Production(String),
    /// The embedded mock could not start.
    #[error("cannot start the embedded mock: {0}")]
    Embedded(std::io::Error),
    /// `--reset` failed.
    #[error("cannot reset the mock at {url}: {message}")]
    Reset {
        /// The mock's base URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// A target ready to run against.
#[derive(Debug)]
pub struct Target {
    /// A short name for reports: `embedded`, the URL, or `sandbox`.
    pub name: String,
    /// Where and as whom to connect.
    pub credentials: Credentials,
    /// The company to act in, when configured (a sandbox); mocks discover theirs.
    pub company_id: Option<u64>,
    /// A project to act in, when configured.
    pub project_id: Option<u64>,
    /// Whether `/__admin` (clock, limits, faults, reset) is there: true for mocks.
    pub mock: bool,
    /// The bearer token `/__admin` needs, for a mock started with `--admin-token`.
    pub admin_token: Option<String>,
    /// Keeps an embedded server alive as long as the target.
    server: Option<MockServer>,
}

impl Target {
    /// Resolves `spec`, reading the sandbox from the process environment.
    pub fn resolve(spec: &TargetSpec, allow_production: bool) -> Result<Self, TargetError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::resolve_with_env(spec, allow_production, &env)
    }

    /// Resolves `spec` with an explicit environment (tests pass their own).
    pub fn resolve_with_env(
        spec: &TargetSpec,
        allow_production: bool,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, TargetError> {
        match spec {
            TargetSpec::Embedded => Self::embedded(MockServer::builder()),
            TargetSpec::Url(url) => Ok(Self::mock_at(url, None)),
            TargetSpec::Sandbox => Self::sandbox(env, allow_production),
        }
    }

    /// An embedded mock started from `builder` (pick its profile, fixture or clock there).
    pub fn embedded(builder: procore_mock::MockServerBuilder) -> Result<Self, TargetError> {
        let server = builder.try_start().map_err(TargetError::Embedded)?;
        let url = server.url().to_owned();
        let admin_token = server.state().config().admin_token.clone();
        let mut target = Self::mock_at(&url, Some(server));
        target.name = "embedded".to_owned();
        target.admin_token = admin_token;
        Ok(target)
    }

    fn mock_at(url: &str, server: Option<MockServer>) -> Self {
        Self {
            name: url.to_owned(),
            credentials: Credentials {
                api_base: url.to_owned(),
                login_base: url.to_owned(),
                client_id: MOCK_CLIENT_ID.to_owned(),
                client_secret: MOCK_CLIENT_SECRET.to_owned(),
            },
            company_id: None,
            project_id: None,
            mock: true,
            admin_token: None,
            server,
        }
    }

    fn sandbox(
        env: &BTreeMap<String, String>,
        allow_production: bool,
    ) -> Result<Self, TargetError> {
        let missing: Vec<&str> = SANDBOX_VARS
            .iter()
            .copied()
            .filter(|name| env.get(*name).is_none_or(|v| v.trim().is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(TargetError::Sandbox(format!(
                "set {} (missing: {})",
                SANDBOX_VARS.join(", "),
                missing.join(", ")
            )));
        }
        let var = |name: &str| env[name].trim().trim_end_matches('/').to_owned();
        let id = |name: &str| -> Result<Option<u64>, TargetError> {
            match env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(raw) => raw.parse().map(Some).map_err(|_| {
                    TargetError::Sandbox(format!("{name} must be an integer id, got `{raw}`"))
                }),
            }
        };
        let credentials = Credentials {
            api_base: var("PROCORE_API_BASE"),
            login_base: var("PROCORE_LOGIN_BASE"),
            client_id: var("PROCORE_CLIENT_ID"),
            client_secret: var("PROCORE_CLIENT_SECRET"),
        };
        for base in [&credentials.api_base, &credentials.login_base] {
            if let Some(host) = production_host(base) {
                if !allow_production {
                    return Err(TargetError::Production(host.to_owned()));
                }
            }
        }
        Ok(Self {
            name: "sandbox".to_owned(),
            company_id: id("PROCORE_COMPANY_ID")?,
            project_id: id("PROCORE_PROJECT_ID")?,
            credentials,
            mock: false,
            admin_token: None,
            server: None,
        })
    }

    /// The embedded server, when this target runs one (tests reach its clock through it).
    pub fn server(&self) -> Option<&MockServer> {
        self.server.as_ref()
    }

    /// Uses `token` for `/__admin` calls (a mock started with `--admin-token`).
    pub fn with_admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token;
        self
    }

    /// An `/__admin` request, carrying the admin token when the target has one.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> ApiRequest {
        let mut request = ApiRequest {
            authenticated: false,
            with_company: false,
            ..ApiRequest::new(method, path)
        };
        if let Some(token) = &self.admin_token {
            request
                .headers
                .push(("Authorization".to_owned(), format!("Bearer {token}")));
        }
        request
    }

    /// A client for this target with no token yet.
    pub fn client(&self) -> ProcoreClient {
        ProcoreClient::new(self.credentials.clone())
    }

    /// `POST /__admin/reset`: the mock goes back to its loaded data.
    pub async fn reset(&self) -> Result<(), TargetError> {
        let url = self.credentials.api_base.clone();
        let request = self.admin_request(reqwest::Method::POST, "/__admin/reset");
        let response = self
            .client()
            .send(&request)
            .await
            .map_err(|err| TargetError::Reset {
                url: url.clone(),
                message: err.to_string(),
            })?;
        if response.is_success() {
            Ok(())
        } else {
            Err(TargetError::Reset {
                url,
                message: format!(
                    "answered {}: {} (is this a procore-mock?)",
                    response.status,
                    response.text()
                ),
            })
        }
    }
}

/// The production host `base` points at, if it does.
fn production_host(base: &str) -> Option<&'static str> {
    let host = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split(['/', ':', '?'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    PRODUCTION_HOSTS.into_iter().find(|p| *p == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn complete(api: &str, login: &str) -> BTreeMap<String, String> {
        env(&[
            ("PROCORE_API_BASE", api),
            ("PROCORE_LOGIN_BASE", login),
            ("PROCORE_CLIENT_ID", "id"),
            ("PROCORE_CLIENT_SECRET", "secret"),
            ("PROCORE_COMPANY_ID", "42"),
        ])
    }

    #[test]
    fn sandbox_without_credentials_is_refused_naming_what_is_missing() {
        let err = Target::resolve_with_env(
            &TargetSpec::Sandbox,
            false,
            &env(&[("PROCORE_API_BASE", "https://sandbox.procore.com")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("missing: PROCORE_LOGIN_BASE, PROCORE_CLIENT_ID"),
            "{err}"
        );
    }

    #[test]
    fn production_hosts_need_allow_production() {
        let prod = complete("https://api.procore.com/", "https://login.procore.com");
        let err = Target::resolve_with_env(&TargetSpec::Sandbox, false, &prod).unwrap_err();
        assert!(matches!(err, TargetError::Production(host) if host == "api.procore.com"));
        let allowed = Target::resolve_with_env(&TargetSpec::Sandbox, true, &prod).unwrap();
        assert_eq!(allowed.credentials.api_base, "https://api.procore.com");
        assert!(!allowed.mock);
    }

    #[test]
    fn sandbox_reads_company_and_optional_project() {
        let mut vars = complete(
            "https://sandbox.procore.com",
            "https://login-sandbox.procore.com",
        );
        vars.insert("PROCORE_PROJECT_ID".to_owned(), "7".to_owned());
        let target = Target::resolve_with_env(&TargetSpec::Sandbox, false, &vars).unwrap();
        assert_eq!((target.company_id, target.project_id), (Some(42), Some(7)));
    }

    #[test]
    fn target_names_parse() {
        assert_eq!("embedded".parse(), Ok(TargetSpec::Embedded));
        assert_eq!(
            "http://127.0.0.1:4010/".parse(),
            Ok(TargetSpec::Url("http://127.0.0.1:4010".to_owned()))
        );
        assert!("prod".parse::<TargetSpec>().is_err());
    }
}
