//! Targets for lifecycle runs: a fresh embedded mock per case, or a running mock reset per case.

use procore_mock::{MockServer, Profile};

use super::session::Endpoint;
use super::{CaseTarget, Session};
use crate::model::Capabilities;
use crate::target::{MOCK_CLIENT_ID, MOCK_CLIENT_SECRET};

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
    documented: bool,
}

impl RunningMockTarget {
    /// A running mock at `base`; `documented` says which profile it serves.
    pub fn new(base: String, documented: bool) -> Self {
        Self { base, documented }
    }
}

impl CaseTarget for RunningMockTarget {
    fn capabilities(&self) -> Capabilities {
        mock_capabilities(&self.base, self.documented)
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

    fn end_case(&mut self, _session: &Session) {}
}

fn mock_endpoint(base: &str) -> Endpoint {
    Endpoint {
        api_base: base.to_owned(),
        login_base: base.to_owned(),
        client_id: MOCK_CLIENT_ID.to_owned(),
        client_secret: MOCK_CLIENT_SECRET.to_owned(),
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
