//! Webhooks over real HTTP, with a real receiver on a loopback port: registration, delivery,
//! retries on the mock clock, the retry horizon, namespaces, delivery faults, a hanging receiver,
//! the bounded queue and the state round trip. Time moves only by the mock clock; `flush` stands
//! in for waiting.

use std::sync::Arc;

use axum::http::HeaderMap;
use parking_lot::Mutex;
use procore_mock::{Clock, Config, MockServer};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// How a test receiver answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Behaviour {
    Status(u16),
    /// Never answers.
    Hang,
}

/// What a receiver got: headers and JSON body of each POST, in arrival order.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Value,
}

/// A webhook receiver on a loopback port.
pub(crate) struct Receiver {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    pub(crate) async fn start(behaviour: Behaviour) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (log, answer) = (received.clone(), behaviour.clone());
        let app =
            axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (log, answer) = (log.clone(), answer.clone());
                async move {
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    log.lock().push(Received { headers, body });
                    let behaviour = *answer.lock();
                    match behaviour {
                        Behaviour::Status(status) => (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            "receiver says hello",
                        ),
                        Behaviour::Hang => std::future::pending().await,
                    }
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/procore-events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            received,
            behaviour,
        }
    }

    pub(crate) fn answer(&self, behaviour: Behaviour) {
        *self.behaviour.lock() = behaviour;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().clone()
    }

    /// `(resource_name, event_type, resource_id)` of each delivery received.
    pub(crate) fn events(&self) -> Vec<(String, String, u64)> {
        self.received()
            .iter()
            .map(|r| {
                (
                    r.body["resource_name"].as_str().unwrap().to_owned(),
                    r.body["event_type"].as_str().unwrap().to_owned(),
                    r.body["resource_id"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

/// A server on a frozen clock, with `config`.
async fn frozen_with(config: Config) -> TestApp {
    let clock = Clock::new();
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .into(),
        true,
    );
    TestApp::start_server(MockServer::builder().config(config).clock(clock).start()).await
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A REST call with owned arguments (so closures can return it).
async fn call(app: &TestApp, method: Method, path: String, body: Value) -> reqwest::Response {
    let mut request = app.request(method, &path);
    if !body.is_null() {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn flush(app: &TestApp) -> Value {
    let (status, report) = admin(app, Method::POST, "/__admin/webhooks/flush", None).await;
    assert_eq!(status, 200);
    report
}

async fn advance(app: &TestApp, seconds: f64) {
    let body = json!({ "seconds": seconds });
    let (status, _) = admin(app, Method::POST, "/__admin/clock/advance", Some(body)).await;
    assert_eq!(status, 200);
}

/// Creates a company hook on `url` in `namespace` watching `triggers`; returns its id.
pub(crate) async fn company_hook(
    app: &TestApp,
    url: &str,
    namespace: &str,
    triggers: &[(&str, &str)],
) -> u64 {
    let response = app
        .post_json(
            "/rest/v1.0/webhooks/hooks",
            &json!({
                "company_id": COMPANY,
                "hook": {
                    "api_version": "v2",
                    "namespace": namespace,
                    "destination_url": url,
                    "destination_headers": {"Authorization": "Bearer receiver-secret"},
                },
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let hook = json(response).await["id"].as_u64().unwrap();
    for (resource, event) in triggers {
        let response = app
            .post_json(
                &format!("/rest/v1.0/webhooks/hooks/{hook}/triggers?namespace={namespace}"),
                &json!({
                    "company_id": COMPANY,
                    "api_version": "v2",
                    "trigger": {"resource_name": resource, "event_type": event},
                }),
            )
            .await;
        assert_eq!(response.status(), 201, "trigger {resource} {event}");
    }
    hook
}

pub(crate) const USER_EVENTS: [(&str, &str); 3] = [
    ("Company Users", "create"),
    ("Company Users", "update"),
    ("Company Users", "delete"),
];
const MEMBER_EVENTS: [(&str, &str); 3] = [
    ("Project Users", "create"),
    ("Project Users", "update"),
    ("Project Users", "delete"),
];

async fn deliveries(app: &TestApp, hook: u64, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}/deliveries?company_id={COMPANY}&{query}"
        ))
        .await;
    assert_eq!(response.status(), 200);
    json(response).await.as_array().unwrap().clone()
}

fn outcomes(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn hooks_are_created_shown_listed_updated_and_deleted_with_the_authorization_masked() {
    let app = TestApp::spawn().await;
    let hook = company_hook(&app, "http://127.0.0.1:9/in", "procore", &[]).await;
    let path = format!("/rest/v1.0/webhooks/hooks/{hook}?company_id={COMPANY}");
    let shown = json(app.get(&path).await).await;
    assert_eq!(shown["destination_url"], "http://127.0.0.1:9/in");
    assert_eq!(shown["namespace"], "procore");
    assert_eq!(shown["owned_by_company_id"], COMPANY);
    assert_eq!(shown["owned_by_project_id"], Value::Null);
    assert_eq!(
        shown["destination_headers"]["Authorization"],
        "*****************ecret"
    );
    let updated = app
        .patch_json(
            &format!("/rest/v1.0/webhooks/hooks/{hook}"),
            &json!({"company_id": COMPANY, "hook": {"destination_url": "https://example.com/x"}}),
        )
        .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(
        json(updated).await["destination_url"],
        "https://example.com/x"
    );
    let listed = json(
        app.get(&format!("/rest/v1.0/webhooks/hooks?company_id={COMPANY}"))
            .await,
    )
    .await;
    assert_eq!(ids(&listed), vec![hook]);
    assert_eq!(app.delete(&path).await.status(), 200);
    assert_eq!(app.get(&path).await.status(), 404);
}

#[tokio::test]
async fn bad_hooks_and_triggers_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let create = |hook: Value| {
        let body = json!({"company_id": COMPANY, "hook": hook});
        call(
            &app,
            Method::POST,
            "/rest/v1.0/webhooks/hooks".to_owned(),
            body,
        )
    };
    let cases = [
        (
            json!({"destination_url": "ftp://x"}),
            422,
            "destination_url",
        ),
        (json!({}), 400, "hook"),
        (json!({"api_version": "v2"}), 400, "destination_url"),
        (
            json!({"destination_url": "http://a", "namespace": "Acme"}),
            422,
            "namespace",
        ),
        (
            json!({"destination_url": "http://a", "api_version": "v4.0"}),
            422,
            "api_version",
        ),
        (
            json!({"destination_url": "http://a", "destination_headers": ["x"]}),
            400,
            "destination_headers",
        ),
    ];
    for (hook, status, field) in cases {
        let response = create(hook.clone()).await;
        assert_eq!(response.status(), status, "{hook}");
        assert!(
            json(response).await["errors"].get(field).is_some(),
            "{hook} names {field}"
        );
    }
    let no_scope = app
        .post_json(
            "/rest/v1.0/webhooks/hooks",
            &json!({"hook": {"destination_url": "http://a"}}),
        )
        .await;
    assert_eq!(no_scope.status(), 400);
    let hook = company_hook(
        &app,
        "http://127.0.0.1:9/in",
        "procore",
        &[("Company Users", "create")],
    )
    .await;
    let trigger = |resource: &str, event: &str| {
        let path = format!("/rest/v1.0/webhooks/hooks/{hook}/triggers");
        let trigger = json!({"resource_name": resource, "event_type": event});
        call(
            &app,
            Method::POST,
            path,
            json!({"company_id": COMPANY, "trigger": trigger}),
        )
    };
    let unknown = json(trigger("RFIs", "create").await).await;
    assert!(
        unknown["message"].as_str().unwrap().contains("RFIs"),
        "{unknown}"
    );
    assert_eq!(trigger("Company Users", "archive").await.status(), 422);
    assert_eq!(
        trigger("Company Users", "create").await.status(),
        422,
        "a duplicate"
    );
}

#[tokio::test]
async fn webhook_calls_need_the_company_header_and_an_installed_app() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url(&format!("/rest/v1.0/webhooks/hooks?company_id={COMPANY}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "no Procore-Company-Id header");
    let elsewhere = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks?company_id={OTHER_COMPANY}"
        ))
        .await;
    assert_eq!(elsewhere.status(), 403);
    let anonymous = app
        .client
        .get(app.url(&format!("/rest/v1.0/webhooks/hooks?company_id={COMPANY}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let read_only = app.client_credentials_token(READONLY_APP).await;
    let refused = app
        .client
        .post(app.url("/rest/v1.0/webhooks/hooks"))
        .bearer_auth(read_only)
        .header("Procore-Company-Id", COMPANY.to_string())
        .json(&json!({"company_id": COMPANY, "hook": {"destination_url": "http://a"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "creating a hook needs the write scope"
    );
}

#[tokio::test]
async fn a_created_user_is_delivered_as_a_v2_event_with_the_destination_headers() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    let user = app.create_user("Okafor", "ada.okafor@example.com").await;
    flush(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let Received { headers, body } = &received[0];
    assert_eq!(headers["authorization"], "Bearer receiver-secret");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["resource_name"], "Company Users");
    assert_eq!(body["event_type"], "create");
    assert_eq!(body["resource_id"], user);
    assert_eq!(body["company_id"], COMPANY);
    assert_eq!(body["project_id"], Value::Null);
    assert_eq!(
        body["user_id"], 5001,
        "the app's service account made the change"
    );
    assert_eq!(body["api_version"], "v2");
    assert_eq!(body["timestamp"], "2030-01-01T00:00:00.000000Z");
    assert_eq!(body["metadata"]["source_user_id"], 5001);
    assert_eq!(body["metadata"]["source_application_id"], ADMIN_APP.0);
    assert_eq!(body["ulid"].as_str().unwrap().len(), 26);
    // Event ids once started at 0: a derived `Default` ignored the serde default of 1.
    assert_eq!(body["id"], 1, "the company's first event");
    let log = deliveries(&app, hook, "").await;
    assert_eq!(outcomes(&log), ["ok"]);
    assert_eq!(log[0]["response_status"], 200);
    assert_eq!(log[0]["response_body"], "receiver says hello");
    assert_eq!(log[0]["event"], *body);
    assert_eq!(log[0]["event_id"], body["id"]);
}

#[tokio::test]
async fn every_change_a_trigger_covers_is_delivered_in_commit_order() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(204)).await;
    let triggers: Vec<(&str, &str)> = USER_EVENTS.into_iter().chain(MEMBER_EVENTS).collect();
    company_hook(&app, &receiver.url, "procore", &triggers).await;
    let users = format!("/rest/v1.0/companies/{COMPANY}/users");
    let id = app.create_user("Okafor", "ada.okafor@example.com").await;
    let patch = |body: Value| call(&app, Method::PATCH, format!("{users}/{id}"), body);
    assert_eq!(
        patch(json!({"user": {"job_title": "Estimator"}}))
            .await
            .status(),
        200
    );
    assert_eq!(
        patch(json!({"user": {"is_active": false}})).await.status(),
        200
    );
    let reactivated = app
        .patch_json(&format!("{users}/inactive/{id}"), &json!({}))
        .await;
    assert_eq!(reactivated.status(), 200);
    let sync = app
        .patch_json(
            &format!("{users}/sync"),
            &json!({"updates": [
                {"id": id, "job_title": "Lead estimator"},
                {"last_name": "Sato", "email_address": "k.sato@example.com"},
            ]}),
        )
        .await;
    let synced = json(sync).await;
    let created_by_sync = synced["entities"][1]["id"].as_u64().unwrap();
    let members = format!("/rest/v1.0/projects/{PROJECT}/users");
    let added = app
        .post_json(&format!("{members}/{id}/actions/add"), &json!({}))
        .await;
    assert_eq!(added.status(), 201);
    let deactivated = app
        .patch_json(
            &format!("{members}/{id}"),
            &json!({"user": {"is_active": false}}),
        )
        .await;
    assert_eq!(deactivated.status(), 200);
    assert_eq!(
        app.delete(&format!("{members}/{id}/actions/remove"))
            .await
            .status(),
        204
    );
    let created_on_project = app
        .post_json(
            &members,
            &json!({"user": {"last_name": "Ito", "email_address": "m.ito@example.com"}}),
        )
        .await;
    let on_project = json(created_on_project).await["id"].as_u64().unwrap();
    assert_eq!(
        app.delete(&format!("{users}/{on_project}")).await.status(),
        204
    );
    flush(&app).await;
    let expected: Vec<(String, String, u64)> = [
        ("Company Users", "create", id),
        ("Company Users", "update", id),
        ("Company Users", "update", id),
        ("Company Users", "update", id),
        ("Company Users", "update", id),
        ("Company Users", "create", created_by_sync),
        ("Project Users", "create", id),
        ("Project Users", "update", id),
        ("Project Users", "delete", id),
        ("Company Users", "create", on_project),
        ("Project Users", "create", on_project),
        ("Project Users", "delete", on_project),
        ("Company Users", "delete", on_project),
    ]
    .into_iter()
    .map(|(r, e, i)| (r.to_owned(), e.to_owned(), i))
    .collect();
    assert_eq!(receiver.events(), expected);
    let project_events: Vec<Value> = receiver
        .received()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["resource_name"] == "Project Users")
        .collect();
    assert!(project_events.iter().all(|b| b["project_id"] == PROJECT));
}

#[tokio::test]
async fn refused_requests_and_untriggered_changes_deliver_nothing() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    company_hook(
        &app,
        &receiver.url,
        "procore",
        &[("Company Users", "delete")],
    )
    .await;
    app.create_user("Okafor", "ada.okafor@example.com").await;
    let duplicate = app
        .post_json(
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
            &json!({"user": {"last_name": "Okafor", "email_address": "ada.okafor@example.com"}}),
        )
        .await;
    assert_eq!(duplicate.status(), 409);
    let refused = app
        .delete(&format!(
            "/rest/v1.0/companies/{COMPANY}/users/{WEI_WITH_RECORDS}"
        ))
        .await;
    assert_eq!(refused.status(), 422);
    flush(&app).await;
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_on_the_mock_clock() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(503)).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    app.create_user("Okafor", "ada.okafor@example.com").await;
    let report = flush(&app).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(report["pending"], 1);
    assert_eq!(report["next_due_at"], "2030-01-01T00:00:01.000Z");
    flush(&app).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "a frozen clock holds the retry"
    );
    advance(&app, 1.0).await;
    flush(&app).await;
    assert_eq!(receiver.received().len(), 2, "first retry after 1 s");
    advance(&app, 1.0).await;
    flush(&app).await;
    assert_eq!(receiver.received().len(), 2, "the second waits 2 s");
    advance(&app, 1.0).await;
    flush(&app).await;
    assert_eq!(receiver.received().len(), 3);
    receiver.answer(Behaviour::Status(200));
    advance(&app, 4.0).await;
    let report = flush(&app).await;
    assert_eq!(receiver.received().len(), 4);
    assert_eq!(report["pending"], 0);
    let all = deliveries(&app, hook, "").await;
    assert_eq!(outcomes(&all), ["retried", "retried", "retried", "ok"]);
    assert_eq!(all[0]["response_status"], 503);
    let received = receiver.received();
    assert!(
        received
            .windows(2)
            .all(|w| w[0].body["ulid"] == w[1].body["ulid"]),
        "retries resend the same event"
    );
    assert_eq!(
        deliveries(&app, hook, "filters[status]=failing")
            .await
            .len(),
        3
    );
    assert_eq!(
        deliveries(&app, hook, "filters[status]=successful")
            .await
            .len(),
        1
    );
    let page = deliveries(&app, hook, "page_size=2").await;
    let next = deliveries(
        &app,
        hook,
        &format!("page_size=2&page_start={}", page[1]["id"]),
    )
    .await;
    assert_eq!(outcomes(&next), ["retried", "ok"]);
    let bad = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}/deliveries?company_id={COMPANY}&filters[status]=late"
        ))
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn deliveries_to_a_hook_wait_behind_a_failing_one_and_keep_their_order() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(500)).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    let first = app.create_user("First", "first@example.com").await;
    flush(&app).await;
    let second = app.create_user("Second", "second@example.com").await;
    flush(&app).await;
    assert_eq!(
        receiver.events().len(),
        1,
        "the second waits behind the failing first"
    );
    receiver.answer(Behaviour::Status(200));
    advance(&app, 1.0).await;
    flush(&app).await;
    let ids: Vec<u64> = receiver.events().into_iter().map(|e| e.2).collect();
    assert_eq!(ids, [first, first, second]);
    assert_eq!(
        outcomes(&deliveries(&app, hook, "").await),
        ["retried", "ok", "ok"]
    );
}

#[tokio::test]
async fn a_hook_failing_for_24_hours_gives_up_its_queue_and_starts_afresh() {
    let mut app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(500)).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    app.create_user("First", "first@example.com").await;
    app.create_user("Second", "second@example.com").await;
    flush(&app).await;
    advance(&app, 23.0 * 3600.0).await;
    flush(&app).await;
    assert_eq!(receiver.received().len(), 2, "one retry within the horizon");
    advance(&app, 3600.0).await;
    let report = flush(&app).await;
    assert_eq!(report["pending"], 0, "the queue is given up");
    // A day later the first token has long expired.
    app.token = app.client_credentials_token(ADMIN_APP).await;
    assert_eq!(receiver.received().len(), 2);
    let failed = deliveries(&app, hook, "filters[status]=failing").await;
    assert_eq!(
        outcomes(&failed),
        ["retried", "retried", "failed", "failed"]
    );
    assert!(failed[3]["response_error"]
        .as_str()
        .unwrap()
        .contains("24 hours"));
    receiver.answer(Behaviour::Status(200));
    let third = app.create_user("Third", "third@example.com").await;
    flush(&app).await;
    assert_eq!(
        receiver.events().last().unwrap().2,
        third,
        "a new event starts afresh"
    );
}

#[tokio::test]
async fn namespaces_keep_each_integrations_hooks_apart() {
    let app = TestApp::frozen().await;
    let ours = Receiver::start(Behaviour::Status(200)).await;
    let theirs = Receiver::start(Behaviour::Status(200)).await;
    let hook = company_hook(&app, &ours.url, "acme-sync", &USER_EVENTS).await;
    company_hook(&app, &theirs.url, "procore", &[("Company Users", "create")]).await;
    let list = |namespace: &str| {
        let path = format!("/rest/v1.0/webhooks/hooks?company_id={COMPANY}&namespace={namespace}");
        call(&app, Method::GET, path, Value::Null)
    };
    assert_eq!(ids(&json(list("acme-sync").await).await), vec![hook]);
    assert!(!ids(&json(list("procore").await).await).contains(&hook));
    let default_show = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}?company_id={COMPANY}"
        ))
        .await;
    assert_eq!(
        default_show.status(),
        404,
        "invisible from the default namespace"
    );
    let foreign_delete = app
        .delete(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}?company_id={COMPANY}&namespace=other"
        ))
        .await;
    assert_eq!(foreign_delete.status(), 404);
    assert_eq!(list("Not_Valid").await.status(), 422);
    app.create_user("Okafor", "ada.okafor@example.com").await;
    flush(&app).await;
    assert_eq!(ours.received().len(), 1);
    assert_eq!(
        theirs.received().len(),
        1,
        "both namespaces hear of the change"
    );
}

#[tokio::test]
async fn a_project_hook_hears_only_its_own_project() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let created = app
        .post_json(
            "/rest/v1.0/webhooks/hooks",
            &json!({"project_id": PROJECT, "hook": {"destination_url": receiver.url}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let hook = json(created).await;
    assert_eq!(hook["owned_by_project_id"], PROJECT);
    let triggers = format!("/rest/v1.0/webhooks/hooks/{}/triggers", hook["id"]);
    let trigger = |resource: &str| {
        let trigger = json!({"resource_name": resource, "event_type": "create"});
        let body = json!({"project_id": PROJECT, "trigger": trigger});
        call(&app, Method::POST, triggers.clone(), body)
    };
    assert_eq!(
        trigger("Company Users").await.status(),
        422,
        "a company-level resource"
    );
    assert_eq!(trigger("Project Users").await.status(), 201);
    let add = |project: u64| {
        let path = format!("/rest/v1.0/projects/{project}/users/{PRIYA_NO_PROJECTS}/actions/add");
        call(&app, Method::POST, path, json!({}))
    };
    assert_eq!(add(OTHER_PROJECT).await.status(), 201);
    assert_eq!(add(PROJECT).await.status(), 201);
    flush(&app).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].body["project_id"], PROJECT);
    let company_scoped = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks/{}?company_id={COMPANY}",
            hook["id"]
        ))
        .await;
    assert_eq!(
        company_scoped.status(),
        404,
        "a project hook is named by its project"
    );
}

/// Adds a delivery fault rule.
async fn fault(app: &TestApp, rule: Value) -> Value {
    let (status, view) = admin(app, Method::POST, "/__admin/webhooks/faults", Some(rule)).await;
    assert_eq!(status, 201, "{view}");
    view
}

#[tokio::test]
async fn a_drop_rule_loses_a_delivery_and_logs_it_discarded() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    fault(&app, json!({"action": "drop", "hook_id": hook, "times": 1})).await;
    app.create_user("Lost", "lost@example.com").await;
    let kept = app.create_user("Kept", "kept@example.com").await;
    flush(&app).await;
    let ids: Vec<u64> = receiver.events().into_iter().map(|e| e.2).collect();
    assert_eq!(ids, [kept]);
    assert_eq!(
        outcomes(&deliveries(&app, hook, "").await),
        ["discarded", "ok"]
    );
    assert_eq!(
        deliveries(&app, hook, "filters[status]=discarded")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_delay_rule_holds_a_delivery_on_the_mock_clock() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    fault(
        &app,
        json!({"action": "delay", "seconds": 30, "event_type": "create"}),
    )
    .await;
    app.create_user("Late", "late@example.com").await;
    let report = flush(&app).await;
    assert!(receiver.received().is_empty());
    assert_eq!(report["next_due_at"], "2030-01-01T00:00:30.000Z");
    advance(&app, 30.0).await;
    flush(&app).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_duplicate_rule_sends_the_same_event_twice() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    fault(
        &app,
        json!({"action": "duplicate", "resource_name": "Company Users"}),
    )
    .await;
    app.create_user("Twice", "twice@example.com").await;
    flush(&app).await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body, "same id, same ulid");
}

#[tokio::test]
async fn a_reorder_rule_lets_the_next_event_overtake() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    fault(&app, json!({"action": "reorder", "times": 1})).await;
    let first = app.create_user("First", "first@example.com").await;
    let second = app.create_user("Second", "second@example.com").await;
    flush(&app).await;
    let ids: Vec<u64> = receiver.events().into_iter().map(|e| e.2).collect();
    assert_eq!(ids, [second, first]);
    let (_, rules) = admin(&app, Method::GET, "/__admin/webhooks/faults", None).await;
    assert_eq!(rules[0]["hits"], 1);
    let bad = admin(
        &app,
        Method::POST,
        "/__admin/webhooks/faults",
        Some(json!({"action": "delay"})),
    )
    .await;
    assert_eq!(bad.0, 400, "a delay needs seconds");
}

#[tokio::test]
async fn a_hanging_receiver_costs_one_timeout_and_the_api_answers_meanwhile() {
    let config = Config {
        webhook_timeout_ms: 200,
        ..Config::default()
    };
    let app = frozen_with(config).await;
    let receiver = Receiver::start(Behaviour::Hang).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    app.create_user("Okafor", "ada.okafor@example.com").await;
    // The API answers while the delivery hangs (the worker may have started it already).
    app.create_user("Sato", "k.sato@example.com").await;
    flush(&app).await;
    let log = deliveries(&app, hook, "").await;
    assert_eq!(outcomes(&log), ["retried"]);
    assert!(
        log[0]["response_error"]
            .as_str()
            .unwrap()
            .contains("200 ms"),
        "{}",
        log[0]
    );
    assert_eq!(log[0]["response_status"], Value::Null);
}

#[tokio::test]
async fn a_refused_connection_is_a_failed_attempt_with_the_reason() {
    let app = TestApp::frozen().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let hook = company_hook(&app, &url, "procore", &USER_EVENTS).await;
    app.create_user("Okafor", "ada.okafor@example.com").await;
    flush(&app).await;
    let log = deliveries(&app, hook, "").await;
    assert_eq!(outcomes(&log), ["retried"]);
    assert!(log[0]["response_error"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn a_full_queue_drops_events_and_says_which() {
    let config = Config {
        webhook_queue_size: 1,
        ..Config::default()
    };
    let app = frozen_with(config).await;
    let receiver = Receiver::start(Behaviour::Status(500)).await;
    company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    app.create_user("Waiting", "waiting@example.com").await;
    flush(&app).await;
    let dropped = app.create_user("Dropped", "dropped@example.com").await;
    let (_, overview) = admin(&app, Method::GET, "/__admin/webhooks", None).await;
    let company = &overview["companies"][0];
    assert_eq!(company["dropped_total"], 1);
    assert_eq!(company["dropped"][0]["event"]["resource_id"], dropped);
    assert_eq!(company["pending"], 1);
}

#[tokio::test]
async fn the_admin_api_lists_pending_and_past_deliveries_across_hooks() {
    let app = TestApp::frozen().await;
    let good = Receiver::start(Behaviour::Status(200)).await;
    let bad = Receiver::start(Behaviour::Status(500)).await;
    let good_hook = company_hook(&app, &good.url, "procore", &USER_EVENTS).await;
    let bad_hook = company_hook(&app, &bad.url, "acme-sync", &USER_EVENTS).await;
    app.create_user("Okafor", "ada.okafor@example.com").await;
    flush(&app).await;
    let (status, all) = admin(&app, Method::GET, "/__admin/webhooks/deliveries", None).await;
    assert_eq!(status, 200);
    let pending = all["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["hook_id"], bad_hook);
    assert_eq!(pending[0]["due_at"], "2030-01-01T00:00:01.000Z");
    let past: Vec<(u64, &str)> = all["past"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["hook_id"].as_u64().unwrap(),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(past, [(good_hook, "ok"), (bad_hook, "retried")]);
    let (_, one) = admin(
        &app,
        Method::GET,
        &format!("/__admin/webhooks/deliveries?hook_id={good_hook}"),
        None,
    )
    .await;
    assert_eq!(one["pending"], json!([]));
    assert_eq!(one["past"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn hooks_triggers_and_deliveries_survive_a_state_round_trip_and_go_with_a_reset() {
    let mut app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(500)).await;
    let hook = company_hook(&app, &receiver.url, "acme-sync", &USER_EVENTS).await;
    app.create_user("Okafor", "ada.okafor@example.com").await;
    flush(&app).await;
    let (_, saved) = admin(&app, Method::GET, "/__admin/state", None).await;
    let (status, _) = admin(&app, Method::POST, "/__admin/reset", None).await;
    assert_eq!(status, 200);
    let saved_token = std::mem::take(&mut app.token);
    app.token = app.client_credentials_token(ADMIN_APP).await;
    let gone = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}?company_id={COMPANY}&namespace=acme-sync"
        ))
        .await;
    assert_eq!(
        gone.status(),
        404,
        "a reset returns to the fixture, without the hook"
    );
    let (status, body) = admin(&app, Method::PUT, "/__admin/state", Some(saved)).await;
    assert_eq!(status, 200, "{body}");
    app.token = saved_token;
    let triggers = json(
        app.get(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}/triggers?company_id={COMPANY}&namespace=acme-sync"
        ))
        .await,
    )
    .await;
    assert_eq!(triggers.as_array().unwrap().len(), 3);
    let log = deliveries(&app, hook, "namespace=acme-sync").await;
    assert_eq!(outcomes(&log), ["retried"]);
    receiver.answer(Behaviour::Status(200));
    advance(&app, 1.0).await;
    flush(&app).await;
    assert_eq!(
        receiver.received().len(),
        2,
        "the restored queue is delivered"
    );
    assert_eq!(receiver.received()[0].body, receiver.received()[1].body);
}

#[tokio::test]
async fn a_state_with_an_invalid_hook_is_refused_naming_where() {
    let app = TestApp::spawn().await;
    let (_, mut state) = admin(&app, Method::GET, "/__admin/state", None).await;
    state["companies"][0]["webhooks"] = json!({
        "hooks": [{
            "id": 90001, "namespace": "procore", "api_version": "v2",
            "destination_url": "http://127.0.0.1:9/in", "owned_by_user_id": 5001,
            "triggers": [{"id": 90002, "resource_name": "Company Users", "event_type": "create", "user_id": 5001}],
            "owned_by_project_id": 4999,
        }],
    });
    let (status, error) = admin(&app, Method::PUT, "/__admin/state", Some(state)).await;
    assert_eq!(status, 400);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("companies[0].webhooks.hooks[0].owned_by_project_id"),
        "{message}"
    );
}

#[tokio::test]
async fn an_embedding_test_flushes_deliveries_through_the_mock_server_itself() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(200)).await;
    company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    let user = app.create_user("Okafor", "ada.okafor@example.com").await;
    let left = app.server.flush_webhooks().await;
    assert_eq!(
        receiver.events(),
        [("Company Users".to_owned(), "create".to_owned(), user)]
    );
    assert_eq!((left.pending, left.next_due_at), (0, None));

    receiver.answer(Behaviour::Status(500));
    app.create_user("Lovelace", "ada.lovelace@example.com")
        .await;
    let left = app.server.flush_webhooks().await;
    assert_eq!(receiver.events().len(), 2, "tried once, and failed");
    assert_eq!(left.pending, 1, "waiting for its retry");
    assert_eq!(
        left.next_due_at.as_deref(),
        Some("2030-01-01T00:00:01.000Z"),
        "the first retry is due a second later on the mock clock"
    );
}
