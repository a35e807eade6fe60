//! Bad input of every kind gets a Procore-shaped JSON error with the right status, never a 500.

use serde_json::json;

use crate::helpers::*;

fn users_path() -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users")
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let response = app
        .request(reqwest::Method::POST, &users_path())
        .header("Content-Type", "application/json")
        .body("{\"user\": {\"last_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(json(response).await["message"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_400() {
    let app = TestApp::spawn().await;
    let response = app.post_json(&users_path(), &json!([{"user": {}}])).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn unsupported_content_types_are_415() {
    let app = TestApp::spawn().await;
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut request = app
            .request(reqwest::Method::POST, &users_path())
            .body("user=1");
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        assert!(json(response).await["message"].is_string());
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(procore_mock::Config::default().max_body_bytes + 1);
    let response = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": huge, "email_address": "big@x.example"}}),
        )
        .await;
    assert_eq!(response.status(), 413);
    assert!(json(response).await["message"]
        .as_str()
        .unwrap()
        .contains("bytes"));
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = TestApp::spawn().await;
    let response = app.get("/rest/v1.0/nothing/here").await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert!(json(response).await["message"]
        .as_str()
        .unwrap()
        .contains("/rest/v1.0/nothing/here"));
}

#[tokio::test]
async fn malformed_ids_in_paths_are_json_404s() {
    let app = TestApp::spawn().await;
    for path in [
        format!("{}/abc", users_path()),
        "/rest/v1.0/companies/-1/users".to_owned(),
        "/rest/v1.0/projects/99999999999999999999999/users".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(json(response).await["message"].is_string());
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405s() {
    let app = TestApp::spawn().await;
    let response = app
        .request(reqwest::Method::PUT, &users_path())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(json(response).await["message"].is_string());
}

#[tokio::test]
async fn a_company_header_that_is_not_an_id_is_400() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url(&users_path()))
        .bearer_auth(&app.token)
        .header("Procore-Company-Id", "summit")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(json(response).await["message"]
        .as_str()
        .unwrap()
        .contains("Procore-Company-Id"));
}

#[tokio::test]
async fn unknown_companies_are_404_and_uninstalled_ones_403() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/rest/v1.0/companies/424242/users").await.status(),
        404
    );
    assert_eq!(
        app.get(&format!("/rest/v1.0/companies/{OTHER_COMPANY}/users"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get("/rest/v1.0/projects/4101/users").await.status(),
        403
    );
}

/// Every error body is JSON with a `message`: walk a catalogue of bad requests.
#[tokio::test]
async fn every_error_is_json_with_a_message() {
    let app = TestApp::spawn().await;
    let requests = vec![
        app.client.get(app.url(&users_path())),
        app.request(reqwest::Method::POST, &users_path())
            .json(&json!({"nope": 1})),
        app.request(reqwest::Method::POST, &users_path())
            .header("Content-Type", "application/json")
            .body("{"),
        app.request(reqwest::Method::GET, &format!("{}/0", users_path())),
        app.request(reqwest::Method::PATCH, &format!("{}/5101", users_path()))
            .json(&json!({"user": {"vendor_id": "x"}})),
        app.request(reqwest::Method::DELETE, &format!("{}/5104", users_path())),
        app.request(
            reqwest::Method::POST,
            "/rest/v1.0/projects/4001/users/5101/actions/add",
        )
        .json(&json!({})),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{status}");
        let body = json(response).await;
        assert!(body["message"].is_string(), "{status}: {body}");
    }
}
