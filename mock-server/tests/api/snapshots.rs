//! Representative responses, snapshotted so a change in shape shows up in review. Ids of
//! records created at run time, timestamps and tokens are redacted.

use insta::assert_json_snapshot;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn created_company_user() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
            &json!({"user": {"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@summit.example", "vendor_id": 2001, "default_permission_template_id": PM_TEMPLATE, "is_employee": true}}),
        )
        .await;
    assert_json_snapshot!(json(response).await, {
        ".id" => "[id]",
        ".created_at" => "[timestamp]",
        ".updated_at" => "[timestamp]",
    });
}

#[tokio::test]
async fn company_user_list_item() {
    let app = TestApp::spawn().await;
    let list = json(
        app.get(&format!(
            "/rest/v1.0/companies/{COMPANY}/users?per_page=1&page=4"
        ))
        .await,
    )
    .await;
    assert_json_snapshot!(list);
}

#[tokio::test]
async fn project_user() {
    let app = TestApp::spawn().await;
    let member = json(
        app.get(&format!("/rest/v1.0/projects/{PROJECT}/users/{JANE}"))
            .await,
    )
    .await;
    assert_json_snapshot!(member);
}

#[tokio::test]
async fn validation_error() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
            &json!({"user": {"last_name": "", "email_address": "nope", "vendor_id": 999999}}),
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_json_snapshot!(json(response).await);
}

#[tokio::test]
async fn token_response() {
    let app = TestApp::spawn().await;
    let response = app
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
    assert_json_snapshot!(json(response).await, {
        ".access_token" => "[token]",
        ".created_at" => "[epoch]",
    });
}
