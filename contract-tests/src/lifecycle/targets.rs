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
        let admin = AdminApi {
            base: server.url().to_owned(),
            token: None,
        };
        mock_capabilities(&admin, self.profile == Profile::Documented)
    }

    fn begin_case(&mut self) -> Result<Endpoint, String> {
        self.server = None;
        let server = MockServer::builder()
            .profile(self.profile)
            .try_start()
            .map_err(|e| format!("cannot start the embedded mock: {e}"))?;
        let endpoint = mock_endpoint(&AdminApi {
            base: server.url().to_owned(),
            token: None,
        });
        self.server = Some(server);
        Ok(endpoint)
    }
}

/// A running mock at a URL, reset through `/__admin/reset` before every case.
pub struct RunningMockTarget {
    admin: AdminApi,
}

impl RunningMockTarget {
    /// A running mock at `base`; `admin_token` for one started with `--admin-token`.
    pub fn new(base: String, admin_token: Option<String>) -> Self {
        Self {
            admin: AdminApi {
                base,
                token: admin_token,
            },
        }
    }
}

impl CaseTarget for RunningMockTarget {
    fn capabilities(&self) -> Capabilities {
        let documented = self
            .admin
            .send(reqwest::Method::GET, "health")
            .map_or(true, |(_, health)| health["profile"] != "official");
        mock_capabilities(&self.admin, documented)
    }

    fn begin_case(&mut self) -> Result<Endpoint, String> {
        let (response, _) = self.admin.send(reqwest::Method::POST, "reset")?;
        if response != 200 {
            return Err(format!(
                "POST /__admin/reset answered {response}: is this a procore-mock?"
            ));
        }
        Ok(mock_endpoint(&self.admin))
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
                admin_token: None,
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
            crux: false,
        }
    }

    fn begin_case(&mut self) -> Result<Endpoint, String> {
        Ok(self.endpoint.clone())
    }

    fn end_case(&mut self, session: &Session) {
        session.deactivate_created();
    }
}

fn mock_endpoint(admin: &AdminApi) -> Endpoint {
    Endpoint {
        api_base: admin.base.clone(),
        login_base: admin.base.clone(),
        client_id: MOCK_CLIENT.0.to_owned(),
        client_secret: MOCK_CLIENT.1.to_owned(),
        company_id: None,
        admin: admin.available(),
        admin_token: admin.token.clone(),
    }
}

/// Mocks with the admin API can move their clock and name users with associated records; those
/// serving Crux Connect with the default admin API user can grant and revoke.
fn mock_capabilities(admin: &AdminApi, documented: bool) -> Capabilities {
    let available = admin.available();
    let probe = available
        .then(|| Session::begin(mock_endpoint(admin), "probe".to_owned()).ok())
        .flatten();
    let (with_records, crux) = probe.map_or((false, false), |mut session| {
        (session.has_user_with_records(), session.serves_crux())
    });
    Capabilities {
        documented,
        user_with_records: with_records,
        controllable_clock: available,
        authorization_code: true,
        crux,
    }
}

/// A mock's `/__admin` API, with the token of a mock started with `--admin-token`.
#[derive(Clone, Debug)]
struct AdminApi {
    base: String,
    token: Option<String>,
}

impl AdminApi {
    fn available(&self) -> bool {
        self.send(reqwest::Method::GET, "health")
            .is_ok_and(|(status, _)| status == 200)
    }

    /// Sends `/__admin/{path}` and answers its status and JSON body.
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<(u16, serde_json::Value), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{}/__admin/{path}", self.base);
        let mut request = reqwest::Client::new().request(method, url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        runtime.block_on(async {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            Ok((
                status,
                response.json().await.unwrap_or(serde_json::Value::Null),
            ))
        })
    }
}
