//! The verification API over HTTP: every journal filter and matcher, their 400s, what entries
//! record of the answer, the typed Rust API, and the read-only directory and apps views.

use procore_mock::{Expect, MockServer, RequestMatcher};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// What a sync run sent, on a clock frozen at 2030-01-01T00:00:00Z: one request per second so
/// `since` has times to compare.
struct Recorded {
    app: TestApp,
    created: u64,
}

/// Requests, in order (the token request of `TestApp::frozen` comes first):
/// `GET /me`; `POST companies/8001/users` (201, ada@example.com); `POST .../actions/add` to
/// project 4001 (201); `GET companies/8001/users?page=1&per_page=2`; `GET users/999999` (404);
/// `DELETE` a project member (204); `GET /me` as the read-only app.
async fn recorded() -> Recorded {
    let app = TestApp::frozen().await;
    let tick = || app.server.clock().advance_secs(1);
    tick();
    assert_eq!(app.get("/rest/v1.0/me").await.status(), 200);
    tick();
    let created = app.create_user("Lovelace", "ada@example.com").await;
    tick();
    let added = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users/{created}/actions/add"),
            &json!({"user": {"permission_template_id": SUB_TEMPLATE}}),
        )
        .await;
    assert_eq!(added.status(), 201);
    tick();
    app.get(&format!(
        "/rest/v1.0/companies/{COMPANY}/users?page=1&per_page=2"
    ))
    .await;
    tick();
    let missing = app
        .get(&format!("/rest/v1.0/companies/{COMPANY}/users/999999"))
        .await;
    assert_eq!(missing.status(), 404);
    tick();
    let removed = app
        .delete(&format!(
            "/rest/v1.0/projects/{OTHER_PROJECT}/users/{JANE}/actions/remove"
        ))
        .await;
    assert_eq!(removed.status(), 204);
    tick();
    let readonly = app.client_credentials_token(READONLY_APP).await;
    let me = app
        .client
        .get(app.url("/rest/v1.0/me"))
        .bearer_auth(readonly)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    Recorded { app, created }
}

/// `GET /__admin/requests?<query>`: the (method, path) of each entry, after checking a 200.
async fn listed(app: &TestApp, query: &str) -> Vec<(String, String)> {
    let (status, entries) = admin(
        app,
        Method::GET,
        &format!("/__admin/requests?{query}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{query}: {entries}");
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `POST /__admin/requests/count` with `matcher`: the count, checked against the entries.
async fn count(app: &TestApp, matcher: Value) -> u64 {
    let (status, answer) = admin(app, Method::POST, "/__admin/requests/count", Some(matcher)).await;
    assert_eq!(status, 200, "{answer}");
    let count = answer["count"].as_u64().unwrap();
    assert_eq!(answer["requests"].as_array().unwrap().len() as u64, count);
    count
}

/// A 400 whose `errors` names `field`.
async fn refused(app: &TestApp, method: Method, path: &str, body: Option<Value>, field: &str) {
    let (status, error) = admin(app, method, path, body).await;
    assert_eq!(status, 400, "{path}: {error}");
    assert!(
        error["errors"].get(field).is_some(),
        "{path}: the error names `{field}`: {error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains(field),
        "{error}"
    );
}

fn pair(method: &str, path: &str) -> (String, String) {
    (method.to_owned(), path.to_owned())
}

#[tokio::test]
async fn method_path_and_template_filters_pick_the_requests() {
    let Recorded { app, created } = recorded().await;
    assert_eq!(
        listed(&app, "method=delete").await,
        [pair(
            "DELETE",
            &format!("/rest/v1.0/projects/{OTHER_PROJECT}/users/{JANE}/actions/remove")
        )],
        "the method is read in any case"
    );
    assert_eq!(
        listed(&app, "path=/rest/v1.0/me").await.len(),
        2,
        "an exact path"
    );
    assert_eq!(
        listed(
            &app,
            "method=POST&path=/rest/v1.0/projects/{project_id}/users/{id}/actions/add"
        )
        .await,
        [pair(
            "POST",
            &format!("/rest/v1.0/projects/{PROJECT}/users/{created}/actions/add")
        )],
        "a route template, as fault rules take"
    );
    assert_eq!(
        listed(&app, "path=/rest/v1.0/companies/{company_id}/users/{id}").await,
        [pair("GET", "/rest/v1.0/companies/8001/users/999999")],
        "a template matches one segment per placeholder"
    );
}

#[tokio::test]
async fn status_filters_take_an_exact_status_or_a_class() {
    let Recorded { app, .. } = recorded().await;
    assert_eq!(listed(&app, "status=201").await.len(), 2);
    assert_eq!(listed(&app, "status=204").await.len(), 1);
    assert_eq!(
        listed(&app, "status=4xx").await,
        [pair("GET", "/rest/v1.0/companies/8001/users/999999")]
    );
    assert_eq!(
        listed(&app, "status=2XX").await.len(),
        8,
        "every other request, the token requests included"
    );
    assert!(listed(&app, "status=5xx").await.is_empty());
}

#[tokio::test]
async fn client_since_and_limit_filters_pick_the_requests() {
    let Recorded { app, .. } = recorded().await;
    assert_eq!(
        listed(&app, "client_id=procore-mock-readonly").await,
        [pair("GET", "/rest/v1.0/me")],
        "only the request that carried the read-only app's token"
    );
    assert_eq!(
        listed(&app, &format!("client_id={}", ADMIN_APP.0))
            .await
            .len(),
        6
    );
    let (_, all) = admin(&app, Method::GET, "/__admin/requests", None).await;
    let all = all.as_array().unwrap();
    let fourth = all[3]["id"].as_u64().unwrap();
    let from_fourth = listed(&app, &format!("since={fourth}")).await;
    assert_eq!(
        from_fourth.len(),
        all.len() - 3,
        "since an id: that entry and the later ones"
    );
    assert_eq!(
        listed(&app, "since=2030-01-01T00:00:05Z").await,
        [
            pair("GET", "/rest/v1.0/companies/8001/users/999999"),
            pair(
                "DELETE",
                &format!("/rest/v1.0/projects/{OTHER_PROJECT}/users/{JANE}/actions/remove")
            ),
            pair("POST", "/oauth/token"),
            pair("GET", "/rest/v1.0/me"),
        ],
        "since a time: the entries that arrived at or after it"
    );
    assert_eq!(
        listed(&app, "since=2030-01-01T01:00:05%2B01:00")
            .await
            .len(),
        4,
        "any RFC 3339 offset"
    );
    assert_eq!(
        listed(&app, "method=GET&limit=2").await,
        [
            pair("GET", "/rest/v1.0/companies/8001/users/999999"),
            pair("GET", "/rest/v1.0/me"),
        ],
        "limit keeps the most recent matches"
    );
}

#[tokio::test]
async fn unknown_repeated_and_malformed_filters_are_400s_naming_them() {
    let app = TestApp::spawn().await;
    let get = |query: &'static str, field: &'static str| {
        let app = &app;
        async move {
            refused(
                app,
                Method::GET,
                &format!("/__admin/requests?{query}"),
                None,
                field,
            )
            .await
        }
    };
    get("client=abc", "client").await;
    get("status=200&stauts=4xx", "stauts").await;
    get("status=abc", "status").await;
    get("status=6xx", "status").await;
    get("status=99", "status").await;
    get("since=yesterday", "since").await;
    get("limit=-1", "limit").await;
    get("path=rest/v1.0/me", "path").await;
    get("method=GET&method=POST", "method").await;
}

#[tokio::test]
async fn a_matcher_counts_the_requests_a_sync_made() {
    let Recorded { app, created } = recorded().await;
    let adds = json!({"method": "POST", "path": "/rest/v1.0/projects/{project_id}/users/{id}/actions/add"});
    assert_eq!(count(&app, adds).await, 1);
    let adds_to_4001 = json!({"method": "POST", "path": "/rest/v1.0/projects/4001/users/{id}/actions/add", "status": "2xx"});
    assert_eq!(count(&app, adds_to_4001).await, 1);
    assert_eq!(count(&app, json!({"method": "DELETE", "path": "/rest/v1.0/projects/4001/users/{id}/actions/remove"})).await, 0);
    assert_eq!(count(&app, json!({"status": 404})).await, 1);
    assert_eq!(count(&app, json!({"client_id": READONLY_APP.0})).await, 1);
    assert_eq!(
        count(&app, json!({"since": "2030-01-01T00:00:06Z"})).await,
        3
    );
    assert_eq!(
        count(&app, json!({})).await,
        9,
        "an empty matcher matches all"
    );
    let (_, answer) = admin(
        &app,
        Method::POST,
        "/__admin/requests/count",
        Some(json!({"path": "/rest/v1.0/projects/{project_id}/users/{id}/actions/add"})),
    )
    .await;
    let entry = &answer["requests"][0];
    assert_eq!(
        entry["path"],
        format!("/rest/v1.0/projects/{PROJECT}/users/{created}/actions/add"),
        "the matching entries come with the count"
    );
    assert_eq!(entry["status"], 201);
}

#[tokio::test]
async fn body_matchers_compare_fields_by_dotted_path() {
    let Recorded { app, .. } = recorded().await;
    let email = |expect: Value| json!({"body": {"user.email_address": expect}});
    assert_eq!(count(&app, email(json!("ada@example.com"))).await, 1);
    assert_eq!(
        count(&app, email(json!({"equals": "ada@example.com"}))).await,
        1
    );
    assert_eq!(
        count(&app, email(json!("ada@example"))).await,
        0,
        "equals is exact"
    );
    assert_eq!(
        count(&app, email(json!({"contains": "@example.com"}))).await,
        1
    );
    assert_eq!(count(&app, email(json!({"contains": "@other"}))).await, 0);
    assert_eq!(
        count(
            &app,
            json!({"body": {"user.permission_template_id": SUB_TEMPLATE}})
        )
        .await,
        1,
        "numbers compare as numbers"
    );
    assert_eq!(
        count(
            &app,
            json!({"body": {"grant_type": "client_credentials", "client_id": READONLY_APP.0}})
        )
        .await,
        1,
        "form bodies are read by parameter name"
    );
    assert_eq!(
        count(&app, json!({"body": {"client_secret": READONLY_APP.1}})).await,
        0,
        "secrets are matched as the journal shows them: redacted"
    );
    assert_eq!(
        count(
            &app,
            json!({"method": "GET", "body": {"user.email_address": {"contains": "@"}}})
        )
        .await,
        0,
        "a request without a body has no fields"
    );
}

#[tokio::test]
async fn query_and_header_matchers_compare_text() {
    let Recorded { app, .. } = recorded().await;
    assert_eq!(count(&app, json!({"query": {"per_page": "2"}})).await, 1);
    assert_eq!(
        count(&app, json!({"query": {"per_page": 2, "page": 1}})).await,
        1,
        "numbers compare with their digits"
    );
    assert_eq!(count(&app, json!({"query": {"per_page": "3"}})).await, 0);
    assert_eq!(
        count(&app, json!({"query": {"missing": {"contains": ""}}})).await,
        0,
        "an absent parameter never matches"
    );
    assert_eq!(
        count(
            &app,
            json!({"path": "/rest/v1.0/me", "headers": {"Procore-Company-Id": "8001"}})
        )
        .await,
        1,
        "header names in any case; the read-only call sent no company header"
    );
    assert_eq!(
        count(
            &app,
            json!({"headers": {"authorization": {"contains": "Bearer"}}})
        )
        .await,
        7
    );
    assert_eq!(
        count(
            &app,
            json!({"headers": {"authorization": {"contains": "s3cret"}}})
        )
        .await,
        0,
        "credentials are redacted before matching"
    );
}

#[tokio::test]
async fn malformed_matchers_are_400s_naming_the_field() {
    let app = TestApp::spawn().await;
    let post = |body: Value, field: &'static str| {
        let app = &app;
        async move {
            refused(
                app,
                Method::POST,
                "/__admin/requests/count",
                Some(body),
                field,
            )
            .await
        }
    };
    post(json!({"methd": "GET"}), "methd").await;
    post(json!({"status": "9xx"}), "status").await;
    post(json!({"since": true}), "since").await;
    post(json!({"path": "no-slash"}), "path").await;
    post(
        json!({"body": {"user.email_address": {"like": "a"}}}),
        "body.user.email_address",
    )
    .await;
    post(json!({"query": {"page": {"contains": 1}}}), "query.page").await;
    post(json!({"limit": 1}), "limit").await;
    let not_json = app
        .client
        .post(app.url("/__admin/requests/count"))
        .body("method=GET")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert!(json(not_json).await["message"].is_string());
}

#[tokio::test]
async fn entries_record_the_answer_with_its_headers_and_cut_body() {
    let Recorded { app, created } = recorded().await;
    let (_, entries) = admin(
        &app,
        Method::GET,
        "/__admin/requests?method=POST&path=/rest/v1.0/companies/8001/users",
        None,
    )
    .await;
    let entry = &entries[0];
    assert_eq!(
        entry["response_headers"]["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(entry["response_headers"]["x-rate-limit-limit"].is_string());
    let answered: Value = serde_json::from_str(entry["response_body"].as_str().unwrap()).unwrap();
    assert_eq!(answered["id"], created, "the body answered, as sent");
    assert_eq!(entry["response_body_truncated"], false);
    assert!(entry["fault_rule_id"].is_null());
    let (_, tokens) = admin(
        &app,
        Method::GET,
        "/__admin/requests?path=/oauth/token",
        None,
    )
    .await;
    let token_answer = tokens[0]["response_body"].as_str().unwrap();
    assert!(
        token_answer.contains(r#""access_token":"[redacted]""#),
        "issued tokens are not shown: {token_answer}"
    );
    app.get(&format!(
        "/rest/v1.0/companies/{COMPANY}/users?per_page=100"
    ))
    .await;
    let (_, last) = admin(&app, Method::GET, "/__admin/requests?limit=1", None).await;
    assert_eq!(last[0]["response_body_truncated"], true);
    assert_eq!(last[0]["response_body"].as_str().unwrap().len(), 4096);
}

#[test]
fn embedders_match_requests_through_the_typed_api() {
    let server = MockServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::start_server(server));
    runtime.block_on(app.create_user("Lovelace", "ada@example.com"));
    runtime.block_on(app.create_user("Hopper", "grace@example.org"));
    let creates = RequestMatcher::new()
        .method("POST")
        .path("/rest/v1.0/companies/{company_id}/users")
        .status(201)
        .header("procore-company-id", Expect::equals(8001));
    assert_eq!(app.server.requests_matching(&creates).len(), 2);
    let ada = creates
        .clone()
        .body_field("user.email_address", Expect::contains("@example.com"));
    let matched = app.server.requests_matching(&ada);
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0].status, 201);
    let first = matched[0].id;
    assert_eq!(
        app.server
            .requests_matching(&creates.clone().since_id(first))
            .len(),
        2,
        "since an id: from that entry on"
    );
    assert_eq!(
        app.server
            .requests_matching(&creates.clone().since_id(first + 1))
            .len(),
        1
    );
    assert!(app
        .server
        .requests_matching(&RequestMatcher::new().status_class(4))
        .is_empty());
    assert_eq!(
        app.server
            .requests_matching(&RequestMatcher::new().client_id(ADMIN_APP.0))
            .len(),
        2
    );
    assert_eq!(
        app.server
            .requests_matching(
                &RequestMatcher::new()
                    .since_time(app.server.clock().now() + chrono::Duration::hours(1))
            )
            .len(),
        0
    );
    assert_eq!(
        app.server
            .requests_matching(&RequestMatcher::new().query_param("per_page", Expect::equals("1")))
            .len(),
        0
    );
    drop(app);
}

#[tokio::test]
async fn the_directory_view_shows_users_projects_members_and_templates() {
    let Recorded { app, created } = recorded().await;
    let (status, view) = admin(&app, Method::GET, "/__admin/directory", None).await;
    assert_eq!(status, 200);
    let company = &view["companies"][0];
    assert_eq!(company["id"], COMPANY);
    let user = |id: u64| {
        company["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        user(MARIA_INACTIVE)["is_active"],
        false,
        "inactive users are listed"
    );
    assert_eq!(user(created)["name"], "Lovelace");
    assert_eq!(user(created)["project_ids"], json!([PROJECT]));
    assert!(
        !user(JANE)["project_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(OTHER_PROJECT)),
        "removed from the other project"
    );
    let project = company["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == PROJECT)
        .unwrap();
    let member = project["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == created)
        .unwrap();
    assert_eq!(member["permission_template"]["id"], SUB_TEMPLATE);
    assert!(member["permission_template"]["name"].is_string());
    assert!(company["templates"].as_array().unwrap().len() >= 4);
}

#[tokio::test]
async fn the_apps_view_shows_rate_windows_and_token_expiry_on_the_mock_clock() {
    let app = TestApp::frozen().await;
    admin(
        &app,
        Method::PUT,
        "/__admin/rate-limits",
        Some(json!({"hourly": 100, "spike": 10})),
    )
    .await;
    for _ in 0..3 {
        app.get("/rest/v1.0/me").await;
    }
    let (status, view) = admin(&app, Method::GET, "/__admin/apps", None).await;
    assert_eq!(status, 200);
    let now = view["now"].as_i64().unwrap();
    let admin_app = view["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["client_id"] == ADMIN_APP.0)
        .unwrap()
        .clone();
    assert_eq!(
        admin_app["rate_limits"],
        json!([
            {"window": "hourly", "length_seconds": 3600, "limit": 100, "used": 3, "remaining": 97,
             "reset": admin_app["rate_limits"][0]["reset"]},
            {"window": "spike", "length_seconds": 10, "limit": 10, "used": 3, "remaining": 7,
             "reset": admin_app["rate_limits"][1]["reset"]},
        ])
    );
    assert!(admin_app["rate_limits"][1]["reset"].as_i64().unwrap() > now);
    let token = &admin_app["access_tokens"][0];
    assert_eq!(token["live"], true);
    assert!(token.get("token").is_none(), "no secrets in the view");
    app.server.clock().advance_secs(5400);
    let (_, later) = admin(&app, Method::GET, "/__admin/apps", None).await;
    let admin_app = later["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["client_id"] == ADMIN_APP.0)
        .unwrap()
        .clone();
    assert_eq!(
        admin_app["access_tokens"][0]["live"], false,
        "expired at 5400 s"
    );
    assert_eq!(
        admin_app["rate_limits"][1]["used"], 0,
        "the spike window rolled"
    );
    assert_eq!(admin_app["rate_limits"][0]["used"], 0, "and the hourly one");
}

#[tokio::test]
async fn codes_handed_out_in_redirects_and_pages_are_not_journaled() {
    let app = TestApp::spawn().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = |redirect_uri: &'static str| {
        no_redirects
            .get(app.url("/oauth/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", ADMIN_APP.0),
                ("redirect_uri", redirect_uri),
                ("state", "xyz"),
            ])
            .send()
    };
    let redirected = authorize("http://localhost:8080/callback").await.unwrap();
    assert_eq!(redirected.status(), 302);
    let location = header(&redirected, "location").unwrap().to_owned();
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let page = authorize("urn:ietf:wg:oauth:2.0:oob").await.unwrap();
    let page = page.text().await.unwrap();
    let shown = page
        .split("<code id=\"authorization_code\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let (_, entries) = admin(
        &app,
        Method::GET,
        "/__admin/requests?path=/oauth/authorize",
        None,
    )
    .await;
    assert_eq!(
        entries[0]["response_headers"]["location"],
        "http://localhost:8080/callback?code=%5Bredacted%5D&state=xyz"
    );
    assert!(entries[1]["response_body"]
        .as_str()
        .unwrap()
        .starts_with("[text/html"));
    let journaled = entries.to_string();
    assert!(!journaled.contains(code) && !journaled.contains(shown));
}
