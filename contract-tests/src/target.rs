//! What the harness runs against: the embedded mock, a running mock at a URL, or a real
//! Procore sandbox configured from the environment.

use procore_mock::MockServer;

use crate::client::ClientConfig;

/// The default data's Directory Admin app, which every mock target starts with.
pub const MOCK_CLIENT: (&str, &str) = ("procore-mock-client", "procore-mock-secret");

/// Procore's production hosts, refused unless `--allow-production`.
const PRODUCTION_HOSTS: [&str; 2] = ["api.procore.com", "login.procore.com"];

/// A target as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// `embedded`: a mock started in-process with the default data.
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

/// An opened target.
#[derive(Debug)]
pub struct Target {
    /// How to reach it and as whom.
    pub client: ClientConfig,
    /// Whether it is a procore-mock (admin API, clock and faults available).
    pub is_mock: bool,
    /// A project to work in, when the sandbox names one.
    pub project_id: Option<u64>,
    /// The bearer token `/__admin` needs on a mock started with `--admin-token`.
    pub admin_token: Option<String>,
    /// The embedded server, kept alive as long as the target.
    server: Option<MockServer>,
}

impl Target {
    /// Opens a target. A sandbox needs `PROCORE_API_BASE`, `PROCORE_LOGIN_BASE`,
    /// `PROCORE_CLIENT_ID`, `PROCORE_CLIENT_SECRET` and `PROCORE_COMPANY_ID` (optionally
    /// `PROCORE_PROJECT_ID`); production hosts are refused unless `allow_production`.
    pub fn open(spec: &TargetSpec, allow_production: bool) -> Result<Self, String> {
        match spec {
            TargetSpec::Embedded => {
                let server = MockServer::builder()
                    .try_start()
                    .map_err(|e| format!("cannot start the embedded mock: {e}"))?;
                let mut target = Self::mock(server.url());
                target.server = Some(server);
                Ok(target)
            }
            TargetSpec::Url(base) => Ok(Self::mock(base)),
            TargetSpec::Sandbox => Self::sandbox(|name| std::env::var(name).ok(), allow_production),
        }
    }

    fn mock(base: &str) -> Self {
        Self {
            client: ClientConfig {
                api_base: base.to_owned(),
                login_base: base.to_owned(),
                client_id: MOCK_CLIENT.0.to_owned(),
                client_secret: MOCK_CLIENT.1.to_owned(),
                company_id: None,
                max_retries: 0,
            },
            is_mock: true,
            project_id: None,
            admin_token: None,
            server: None,
        }
    }

    /// A sandbox from variables read by `var`.
    pub fn sandbox(
        var: impl Fn(&str) -> Option<String>,
        allow_production: bool,
    ) -> Result<Self, String> {
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
            return Err(format!(
                "the sandbox target needs these environment variables: {} (missing: {})",
                required.join(", "),
                missing.join(", ")
            ));
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
                return Err(format!(
                    "{base} is Procore production: refusing to run contract tests there without --allow-production"
                ));
            }
        }
        let number = |name: &str| {
            get(name)
                .parse::<u64>()
                .map_err(|_| format!("{name} must be a numeric id"))
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
            is_mock: false,
            project_id: var("PROCORE_PROJECT_ID")
                .map(|_| number("PROCORE_PROJECT_ID"))
                .transpose()?,
            admin_token: None,
            server: None,
        })
    }

    /// Sends `/__admin` calls with `token` (a mock started with `--admin-token`).
    pub fn with_admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token;
        self
    }

    /// The `Authorization` header an `/__admin` call needs, if the mock is guarded.
    pub fn admin_header(&self) -> Option<(String, String)> {
        self.admin_token
            .as_ref()
            .map(|token| ("Authorization".to_owned(), format!("Bearer {token}")))
    }

    /// An `/__admin` request to a mock, carrying the admin token when there is one.
    fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.client.api_base);
        let request = reqwest::Client::new().request(method, url);
        match self.admin_header() {
            Some((name, value)) => request.header(name, value),
            None => request,
        }
    }

    /// `POST /__admin/reset` on a mock; a no-op elsewhere.
    pub async fn reset(&self) -> Result<(), String> {
        if !self.is_mock {
            return Ok(());
        }
        let url = format!("{}/__admin/reset", self.client.api_base);
        let response = self
            .admin(reqwest::Method::POST, "/__admin/reset")
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("POST {url} answered {}", response.status()))
        }
    }

    /// The profile a mock serves (`documented` or `official`), from its health endpoint.
    pub async fn mock_profile(&self) -> Option<String> {
        if !self.is_mock {
            return None;
        }
        let health: serde_json::Value = self
            .admin(reqwest::Method::GET, "/__admin/health")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        health["profile"].as_str().map(str::to_owned)
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
        let err = Target::sandbox(env(&SANDBOX[..3]), false).unwrap_err();
        assert!(
            err.contains("missing: PROCORE_CLIENT_SECRET, PROCORE_COMPANY_ID"),
            "{err}"
        );
        let target = Target::sandbox(env(&SANDBOX), false).unwrap();
        assert_eq!(target.client.company_id, Some(42));
        assert!(!target.is_mock);
    }

    #[test]
    fn production_is_refused_unless_allowed() {
        let mut production = SANDBOX;
        production[0] = ("PROCORE_API_BASE", "https://api.procore.com");
        let err = Target::sandbox(env(&production), false).unwrap_err();
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
}
