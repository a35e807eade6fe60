//! A `TestApp` per test: a running mock, a client, and one method per kind of call.

use procore_mock::{Clock, Fixture, MockServer, Profile};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

/// The default data's first company, where all three apps are installed.
pub const COMPANY: u64 = 8001;
/// The default data's second company, where no app is installed.
pub const OTHER_COMPANY: u64 = 8002;
/// Projects of the first company.
pub const PROJECT: u64 = 4001;
pub const OTHER_PROJECT: u64 = 4002;
/// Project templates of the first company.
pub const PM_TEMPLATE: u64 = 3001;
pub const SUPER_TEMPLATE: u64 = 3002;
pub const SUB_TEMPLATE: u64 = 3003;
/// The company-tools template.
pub const COMPANY_TEMPLATE: u64 = 3004;
/// A project-specific template that belongs to `OTHER_PROJECT`.
pub const OTHER_PROJECT_ONLY_TEMPLATE: u64 = 3005;
/// Users of the default data.
pub const JANE: u64 = 5101;
pub const MARIA_INACTIVE: u64 = 5103;
pub const WEI_WITH_RECORDS: u64 = 5104;
pub const PRIYA_NO_PROJECTS: u64 = 5105;

pub const ADMIN_APP: (&str, &str) = ("procore-mock-client", "procore-mock-secret");
pub const READONLY_APP: (&str, &str) = ("procore-mock-readonly", "procore-mock-readonly-secret");

pub struct TestApp {
    pub server: MockServer,
    pub client: reqwest::Client,
    pub token: String,
}

impl TestApp {
    /// The default data, `documented` profile, authenticated as the Directory Admin app.
    pub async fn spawn() -> Self {
        Self::start(MockServer::start()).await
    }

    /// Like `spawn`, on a clock frozen at 2030-01-01T00:00:00Z, for tests that move time.
    pub async fn frozen() -> Self {
        let clock = Clock::new();
        clock.set(
            chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
                .unwrap()
                .into(),
            true,
        );
        Self::start(MockServer::builder().clock(clock).start()).await
    }

    pub async fn with_profile(profile: Profile) -> Self {
        Self::start(MockServer::builder().profile(profile).start()).await
    }

    pub async fn with_fixture(fixture: Fixture) -> Self {
        Self::start(MockServer::builder().fixture(fixture).start()).await
    }

    /// A test app around an already started server.
    pub async fn start_server(server: MockServer) -> Self {
        Self::start(server).await
    }

    async fn start(server: MockServer) -> Self {
        let client = reqwest::Client::new();
        let mut app = Self {
            server,
            client,
            token: String::new(),
        };
        app.token = app.client_credentials_token(ADMIN_APP).await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// A client-credentials token for `(client_id, secret)`.
    pub async fn client_credentials_token(&self, app: (&str, &str)) -> String {
        token_at(&self.client, self.server.url(), app).await
    }

    /// A request with the app's token and the first company's header.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("Procore-Company-Id", COMPANY.to_string())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("DELETE")
    }

    /// Creates a company user in the first company and returns its id.
    pub async fn create_user(&self, last_name: &str, email: &str) -> u64 {
        let response = self
            .post_json(
                &format!("/rest/v1.0/companies/{COMPANY}/users"),
                &serde_json::json!({"user": {"last_name": last_name, "email_address": email}}),
            )
            .await;
        assert_eq!(response.status(), 201);
        json(response).await["id"].as_u64().expect("id")
    }

    /// Ids of the active company users, in the order listed.
    pub async fn active_user_ids(&self) -> Vec<u64> {
        ids(&json(
            self.get(&format!(
                "/rest/v1.0/companies/{COMPANY}/users?per_page=10000"
            ))
            .await,
        )
        .await)
    }

    /// Ids of a project's members, in the order listed.
    pub async fn member_ids(&self, project: u64) -> Vec<u64> {
        ids(&json(
            self.get(&format!(
                "/rest/v1.0/projects/{project}/users?per_page=10000"
            ))
            .await,
        )
        .await)
    }
}

/// An admin call (no token needed: the default server has no admin token): status and JSON
/// body (`Null` when there is none).
pub async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The body of `response` as JSON.
pub async fn json(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// The `id`s of a JSON array of records.
pub fn ids(list: &Value) -> Vec<u64> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|item| item["id"].as_u64().expect("an id"))
        .collect()
}

/// A response header as text.
pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A client-credentials token for `(client_id, secret)` from the mock at `base`.
pub async fn token_at(client: &reqwest::Client, base: &str, (id, secret): (&str, &str)) -> String {
    let response = client
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), 200, "token request failed");
    let body: Value = response.json().await.expect("token body");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
