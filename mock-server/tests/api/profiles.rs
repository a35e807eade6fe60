//! The `official` profile serves only what Procore's reference documents.

use procore_mock::Profile;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn official_has_no_company_user_delete() {
    let app = TestApp::with_profile(Profile::Official).await;
    let response = app
        .delete(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn official_has_no_plain_project_user_delete_but_keeps_actions_remove() {
    let app = TestApp::with_profile(Profile::Official).await;
    assert_eq!(
        app.delete(&format!("/rest/v1.0/projects/{PROJECT}/users/{JANE}"))
            .await
            .status(),
        405
    );
    assert_eq!(
        app.delete(&format!(
            "/rest/v1.0/projects/{PROJECT}/users/{JANE}/actions/remove"
        ))
        .await
        .status(),
        204
    );
}

#[tokio::test]
async fn official_has_no_login_field_and_no_login_alias() {
    let app = TestApp::with_profile(Profile::Official).await;
    let jane = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await,
    )
    .await;
    assert!(jane.get("login").is_none());
    let member = json(
        app.get(&format!("/rest/v1.0/projects/{PROJECT}/users/{JANE}"))
            .await,
    )
    .await;
    assert!(member.get("login").is_none());
    assert!(member.get("permission_template_id").is_none());
    let response = app
        .post_json(
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
            &json!({"user": {"login": "a@b.example", "last_name": "L"}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(json(response).await["errors"]["email_address"].is_array());
}

#[tokio::test]
async fn official_treats_post_project_users_as_creating_a_person() {
    let app = TestApp::with_profile(Profile::Official).await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users"),
            &json!({"user": {"id": PRIYA_NO_PROJECTS, "permission_template_id": SUB_TEMPLATE}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(json(response).await["errors"]["last_name"].is_array());
}
