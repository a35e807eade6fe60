//! The control plane over HTTP: clock, rate limits, faults, reset, state, journal, admin guard.

use futures::future::join_all;
use procore_mock::{Config, MockServer};
use serde_json::{json, Value};

use crate::helpers::*;

/// `PUT /__admin/rate-limits` with `limits`.
async fn set_limits(app: &TestApp, limits: Value) {
    let (status, _) = admin(
        app,
        reqwest::Method::PUT,
        "/__admin/rate-limits",
        Some(limits),
    )
    .await;
    assert_eq!(status, 200);
}

async fn with_config(config: Config) -> TestApp {
    TestApp::start_server(MockServer::builder().config(config).start()).await
}

#[tokio::test]
async fn the_clock_can_be_read_frozen_set_and_advanced() {
    let app = TestApp::spawn().await;
    let (status, clock) = admin(
        &app,
        reqwest::Method::PUT,
        "/__admin/clock",
        Some(json!({"now": "2031-05-06T07:08:09Z", "frozen": true})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        clock,
        json!({"now": "2031-05-06T07:08:09.000Z", "epoch": 1935817689, "frozen": true})
    );
    let (_, advanced) = admin(
        &app,
        reqwest::Method::POST,
        "/__admin/clock/advance",
        Some(json!({"seconds": 90.5})),
    )
    .await;
    assert_eq!(advanced["now"], "2031-05-06T07:09:39.500Z");
    let (_, read) = admin(&app, reqwest::Method::GET, "/__admin/clock", None).await;
    assert_eq!(read, advanced, "a frozen clock stands still");
    let response = app.get("/rest/v1.0/me").await;
    assert_eq!(
        header(&response, "date"),
        Some("Tue, 06 May 2031 07:09:39 GMT")
    );
    let (status, error) = admin(
        &app,
        reqwest::Method::POST,
        "/__admin/clock/advance",
        Some(json!({"secs": 1})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(error["message"].is_string());
}

#[tokio::test]
async fn advancing_the_clock_expires_tokens() {
    let app = TestApp::frozen().await;
    admin(
        &app,
        reqwest::Method::POST,
        "/__admin/clock/advance",
        Some(json!({"seconds": 5400})),
    )
    .await;
    assert_eq!(app.get("/rest/v1.0/me").await.status(), 401);
}

#[tokio::test]
async fn every_authenticated_rest_response_reports_the_window_closest_to_exhaustion() {
    let app = TestApp::frozen().await;
    let response = app.get("/rest/v1.0/me").await;
    assert_eq!(header(&response, "x-rate-limit-limit"), Some("3600"));
    assert_eq!(header(&response, "x-rate-limit-remaining"), Some("3599"));
    let reset: i64 = header(&response, "x-rate-limit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > app.server.clock().epoch_seconds());
    set_limits(&app, json!({"spike": 5})).await;
    let response = app.get("/rest/v1.0/me").await;
    assert_eq!(header(&response, "x-rate-limit-limit"), Some("5"));
    let token = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_APP.0),
            ("client_secret", ADMIN_APP.1),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        header(&token, "x-rate-limit-limit").is_none(),
        "OAuth responses carry no rate headers"
    );
    let (_, limits) = admin(&app, reqwest::Method::GET, "/__admin/rate-limits", None).await;
    assert_eq!(limits, json!({"hourly": 3600, "spike": 5}));
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_consistent_with_reset() {
    let app = TestApp::frozen().await;
    set_limits(&app, json!({"hourly": 0, "spike": 3})).await;
    for _ in 0..3 {
        assert_eq!(app.get("/rest/v1.0/me").await.status(), 200);
    }
    let throttled = app.get("/rest/v1.0/me").await;
    assert_eq!(throttled.status(), 429);
    let retry_after: i64 = header(&throttled, "retry-after").unwrap().parse().unwrap();
    let reset: i64 = header(&throttled, "x-rate-limit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(header(&throttled, "x-rate-limit-remaining"), Some("0"));
    assert_eq!(header(&throttled, "x-rate-limit-limit"), Some("3"));
    let now = app.server.clock().epoch_seconds();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert_eq!(reset, now + retry_after, "Reset is now + Retry-After");
    // Once said "for an hour" whichever window refused.
    assert_eq!(
        json(throttled).await["message"],
        "You have surpassed the max number of requests for 10 seconds. Please wait until your limit resets."
    );
    app.server.clock().advance_secs(retry_after - 1);
    assert_eq!(
        app.get("/rest/v1.0/me").await.status(),
        429,
        "not before Retry-After"
    );
    app.server.clock().advance_secs(1);
    assert_eq!(
        app.get("/rest/v1.0/me").await.status(),
        200,
        "admitted once Retry-After has passed"
    );
}

#[tokio::test]
async fn apps_are_limited_separately() {
    let app = TestApp::frozen().await;
    set_limits(&app, json!({"hourly": 2})).await;
    app.get("/rest/v1.0/me").await;
    app.get("/rest/v1.0/me").await;
    assert_eq!(app.get("/rest/v1.0/me").await.status(), 429);
    let other = app.client_credentials_token(READONLY_APP).await;
    let response = app
        .client
        .get(app.url("/rest/v1.0/me"))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_never_exceed_the_limit() {
    let app = TestApp::frozen().await;
    set_limits(&app, json!({"hourly": 37, "spike": 0})).await;
    let calls = (0..300).map(|_| {
        let request = app.request(reqwest::Method::GET, "/rest/v1.0/me");
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(calls).await;
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 37);
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 263);
}

#[tokio::test]
async fn a_fault_rule_answers_matching_requests_then_runs_out() {
    let app = TestApp::spawn().await;
    let rule = json!({"method": "DELETE", "path": "/rest/v1.0/projects/{project_id}/users/{id}/actions/remove",
                      "status": 503, "retry_after": 30, "times": 1, "after": 1});
    let (status, created) = admin(&app, reqwest::Method::POST, "/__admin/faults", Some(rule)).await;
    assert_eq!(status, 201);
    let id = created["id"].as_u64().unwrap();
    let remove = |user: u64| {
        app.request(
            reqwest::Method::DELETE,
            &format!("/rest/v1.0/projects/{PROJECT}/users/{user}/actions/remove"),
        )
        .send()
    };
    assert_eq!(
        remove(JANE).await.unwrap().status(),
        204,
        "`after` lets the first through"
    );
    let faulted = remove(5102).await.unwrap();
    assert_eq!(faulted.status(), 503);
    assert_eq!(header(&faulted, "retry-after"), Some("30"));
    assert!(json(faulted).await["message"].is_string());
    assert!(
        app.member_ids(PROJECT).await.contains(&5102),
        "a faulted request changes nothing"
    );
    let (_, journaled) = admin(
        &app,
        reqwest::Method::GET,
        "/__admin/requests?method=DELETE",
        None,
    )
    .await;
    let entry = &journaled.as_array().unwrap()[1];
    assert_eq!(entry["status"], 503);
    assert_eq!(
        entry["fault_rule_id"], id,
        "the journal names the rule that fired"
    );
    assert_eq!(entry["response_headers"]["retry-after"], "30");
    assert!(
        entry["response_headers"]["x-rate-limit-remaining"].is_null(),
        "the journal shows what the fault answered, and no limiter ran"
    );
    assert!(entry["response_body"]
        .as_str()
        .unwrap()
        .contains("Injected fault"));
    let (_, rules) = admin(&app, reqwest::Method::GET, "/__admin/faults", None).await;
    assert_eq!(rules[0]["hits"], 1);
    assert_eq!(rules[0]["hits_left"], 0);
    assert_eq!(remove(5102).await.unwrap().status(), 204, "`times` ran out");
    assert_eq!(
        admin(
            &app,
            reqwest::Method::DELETE,
            &format!("/__admin/faults/{id}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        admin(
            &app,
            reqwest::Method::DELETE,
            &format!("/__admin/faults/{id}"),
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn a_fault_rule_can_add_latency_and_a_custom_body() {
    let app = TestApp::spawn().await;
    admin(
        &app,
        reqwest::Method::POST,
        "/__admin/faults",
        Some(json!({"path": "/rest/v1.0/me", "latency_ms": 20})),
    )
    .await;
    admin(
        &app,
        reqwest::Method::POST,
        "/__admin/faults",
        Some(json!({"path": "/rest/v1.0/companies", "status": 500, "body": {"message": "boom"}})),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(app.get("/rest/v1.0/me").await.status(), 200);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(20),
        "latency is at least what the rule says"
    );
    let faulted = app.get("/rest/v1.0/companies").await;
    assert_eq!(faulted.status(), 500);
    assert_eq!(json(faulted).await, json!({"message": "boom"}));
    let (status, error) = admin(
        &app,
        reqwest::Method::POST,
        "/__admin/faults",
        Some(json!({"path": "/x", "status": 42})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(error["errors"]["status"].is_array());
}

#[tokio::test]
async fn reset_returns_to_the_fixture_and_forgets_tokens_faults_and_counts() {
    let app = TestApp::spawn().await;
    let id = app.create_user("Temp", "temp@x.example").await;
    admin(
        &app,
        reqwest::Method::POST,
        "/__admin/faults",
        Some(json!({"path": "/rest/v1.0/companies", "status": 500})),
    )
    .await;
    let (status, _) = admin(&app, reqwest::Method::POST, "/__admin/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get("/rest/v1.0/me").await.status(),
        401,
        "tokens are gone"
    );
    let app = TestApp {
        token: app.client_credentials_token(ADMIN_APP).await,
        ..app
    };
    assert_eq!(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get("/rest/v1.0/companies").await.status(),
        200,
        "faults are gone"
    );
    let (_, journal) = admin(&app, reqwest::Method::GET, "/__admin/requests", None).await;
    let paths: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/rest/v1.0/me",
            "/oauth/token",
            format!("/rest/v1.0/companies/{COMPANY}/users/{id}").as_str(),
            "/rest/v1.0/companies"
        ],
        "the journal restarted"
    );
    let token_request = &journal[1]["body"];
    assert!(
        !token_request.as_str().unwrap().contains(ADMIN_APP.1),
        "secrets are redacted: {token_request}"
    );
}

#[tokio::test]
async fn state_round_trips_and_an_invalid_state_is_refused_whole() {
    let app = TestApp::spawn().await;
    let id = app.create_user("Kept", "kept@x.example").await;
    let (_, snapshot) = admin(&app, reqwest::Method::GET, "/__admin/state", None).await;
    assert!(!snapshot["credentials"]["access_tokens"]
        .as_array()
        .unwrap()
        .is_empty());
    admin(&app, reqwest::Method::POST, "/__admin/reset", None).await;
    let (status, _) = admin(
        &app,
        reqwest::Method::PUT,
        "/__admin/state",
        Some(snapshot.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{id}"))
            .await
            .status(),
        200,
        "data and token are back"
    );
    let mut broken = snapshot.clone();
    broken["companies"][0]["users"][0]["vendor_id"] = json!(424242);
    let (status, error) = admin(&app, reqwest::Method::PUT, "/__admin/state", Some(broken)).await;
    assert_eq!(status, 400);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("companies[0].users[0].vendor_id"));
    let (_, after) = admin(&app, reqwest::Method::GET, "/__admin/state", None).await;
    assert_eq!(
        after, snapshot,
        "a refused state leaves the state untouched"
    );
    let new_id = app.create_user("Next", "next@x.example").await;
    assert!(new_id > id, "ids are never reused after a restore");
}

#[tokio::test]
async fn the_journal_records_requests_with_credentials_redacted() {
    let app = TestApp::spawn().await;
    app.post_json(
        &format!("/rest/v1.0/companies/{COMPANY}/users"),
        &json!({"user": {"last_name": "J", "email_address": "j@x.example"}}),
    )
    .await;
    let (_, entries) = admin(
        &app,
        reqwest::Method::GET,
        "/__admin/requests?method=POST&path=/rest/v1.0/companies/8001/users",
        None,
    )
    .await;
    let entry = &entries.as_array().unwrap()[0];
    assert_eq!(entry["status"], 201);
    assert_eq!(entry["client_id"], ADMIN_APP.0);
    assert_eq!(
        entry["request_headers"]["authorization"],
        "Bearer [redacted]"
    );
    assert!(entry["body"].as_str().unwrap().contains("j@x.example"));
    assert!(entry["response_headers"]["x-rate-limit-remaining"].is_string());
    let (_, last) = admin(
        &app,
        reqwest::Method::GET,
        "/__admin/requests?limit=1",
        None,
    )
    .await;
    assert_eq!(last.as_array().unwrap().len(), 1);
    assert_eq!(
        admin(&app, reqwest::Method::DELETE, "/__admin/requests", None)
            .await
            .0,
        204
    );
    assert_eq!(
        admin(&app, reqwest::Method::GET, "/__admin/requests", None)
            .await
            .1,
        json!([])
    );
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let app = with_config(Config {
        journal_size: 5,
        ..Config::default()
    })
    .await;
    for _ in 0..20 {
        app.get("/rest/v1.0/me").await;
    }
    let (_, entries) = admin(&app, reqwest::Method::GET, "/__admin/requests", None).await;
    let ids: Vec<u64> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(
        ids.windows(2).all(|w| w[0] + 1 == w[1]),
        "the most recent, in order: {ids:?}"
    );
}

#[tokio::test]
async fn the_admin_token_guards_the_admin_api() {
    let app = with_config(Config {
        admin_token: Some("s3cret".to_owned()),
        ..Config::default()
    })
    .await;
    let (status, body) = admin(&app, reqwest::Method::GET, "/__admin/health", None).await;
    assert_eq!(status, 401);
    assert!(body["message"].is_string());
    let ok = app
        .client
        .get(app.url("/__admin/health"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(json(ok).await["status"], "ok");
}
