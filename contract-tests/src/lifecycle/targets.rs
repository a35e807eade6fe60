//! Targets for lifecycle runs: a fresh embedded mock per case, a running mock reset per case,
//! or a sandbox whose created users are deactivated after each case.

use procore_mock::{MockServer, Profile};

use super::session::Endpoint;
use super::{CaseTarget, Session};
use crate::model::Capabilities;
use crate::target::{Target, MOCK_CLIENT};

/// A new in-process mock for every case: nothing leaks between cases.
pub struct EmbeddedTarget {
    profile: Profile,
    server: Option<MockServer>,
}

impl EmbeddedTarget {
    /// An embedded target serving `profile`.
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            server: None,
        }
    }
}

impl CaseTarget for EmbeddedTarget {
    fn capabilities(&self) -> Capabilities {
        let server = MockServer::builder().profile(self.profile).start();
        mock_capabilities(server.url(), self.profile == Profile::Documented)
    }

    fn begin_case(&mut self) -> Result<Endpoint, String> {
        self.server = None;
        let server = MockServer::builder()
            .profile(self.profile)
            .try_start()
            .map_err(|e| format!("cannot start the embedded mock: {e}"))?;
        let endpoint = mock_endpoint(server.url());
        self.server = Some(server);
        Ok(endpoint)
    }
}

/// A running mock at a URL, reset through `/__admin/reset` before every case.
pub struct RunningMockTarget {
    base: String,
}

impl RunningMockTarget {
    /// A running mock at `base`.
    pub fn new(base: String) -> Self {
        Self { base }
    }
}

impl CaseTarget for RunningMockTarget {
    fn capabilities(&self) -> Capabilities {
        let documented = blocking_json(&format!("{}/__admin/health", self.base))
            .is_none_or(|health| health["profile"] != "official");
        mock_capabilities(&self.base, documented)
    }

    fn begin_case(&mut self) -> Result<Endpoint, String> {
        let response = blocking_post(&format!("{}/__admin/reset", self.base))?;
        if response != 200 {
            return Err(format!(
                "POST /__admin/reset answered {response}: is this a procore-mock?"
            ));
        }
        Ok(mock_endpoint(&self.base))
    }
}

/// A real Procore sandbox: nothing can be reset, so each case deactivates the users it made
/// (their emails carry the case's tag), and only official, clock-free operations are drawn.
pub struct SandboxTarget {
    endpoint: Endpoint,
}

impl SandboxTarget {
    /// The sandbox named by the `PROCORE_*` environment variables.
    pub fn from_env(allow_production: bool) -> Result<Self, String> {
        let target = Target::sandbox(|name| std::env::var(name).ok(), allow_production)?;
        Ok(Self {
            endpoint: Endpoint {
                api_base: target.client.api_base,
                login_base: target.client.login_base,
                client_id: target.client.client_id,
                client_secret: target.client.client_secret,
                company_id: target.client.company_id,
                admin: false,
            },
        })
    }
}

impl CaseTarget for SandboxTarget {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            documented: false,
            user_with_records: false,
            controllable_clock: false,
            authorization_code: false,
        }
    }

    fn begin_case(&mut self) -> Result<Endpoint, String> {
        Ok(self.endpoint.clone())
    }

    fn end_case(&mut self, session: &Session) {
        session.deactivate_created();
    }
}

fn mock_endpoint(base: &str) -> Endpoint {
    Endpoint {
        api_base: base.to_owned(),
        login_base: base.to_owned(),
        client_id: MOCK_CLIENT.0.to_owned(),
        client_secret: MOCK_CLIENT.1.to_owned(),
        company_id: None,
        admin: has_admin(base),
    }
}

/// Mocks with the admin API can move their clock and name users with associated records.
fn mock_capabilities(base: &str, documented: bool) -> Capabilities {
    let admin = has_admin(base);
    let with_records = admin
        && Session::begin(mock_endpoint(base), "probe".to_owned())
            .map(|s| s.has_user_with_records())
            .unwrap_or(false);
    Capabilities {
        documented,
        user_with_records: with_records,
        controllable_clock: admin,
        authorization_code: true,
    }
}

fn has_admin(base: &str) -> bool {
    blocking_get(&format!("{base}/__admin/health")).is_ok_and(|status| status == 200)
}

fn blocking_get(url: &str) -> Result<u16, String> {
    blocking(|client| client.get(url))
}

fn blocking_json(url: &str) -> Option<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async { reqwest::get(url).await.ok()?.json().await.ok() })
}

fn blocking_post(url: &str) -> Result<u16, String> {
    blocking(|client| client.post(url))
}

fn blocking(
    request: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<u16, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::new();
    let request = request(&client);
    runtime
        .block_on(async { request.send().await })
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}
