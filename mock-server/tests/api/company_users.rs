//! The company directory: create, show, update, deactivate, delete, and the rules around them.

use serde_json::{json, Value};

use crate::helpers::*;

fn users_path() -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users")
}

fn user_path(id: u64) -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users/{id}")
}

#[tokio::test]
async fn create_returns_201_with_the_new_user_and_grants_no_project_access() {
    let app = TestApp::spawn().await;
    let projects_before = [
        app.member_ids(PROJECT).await,
        app.member_ids(OTHER_PROJECT).await,
    ];
    let response = app
        .post_json(
            &users_path(),
            &json!({"user": {"first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@summit.example", "job_title": "Engineer"}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let user = json(response).await;
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["initials"], "AL");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_employee"], false);
    assert_eq!(user["login"], "ada@summit.example");
    let id = user["id"].as_u64().unwrap();
    assert!(app.active_user_ids().await.contains(&id));
    assert_eq!(
        [
            app.member_ids(PROJECT).await,
            app.member_ids(OTHER_PROJECT).await
        ],
        projects_before
    );
    assert_eq!(
        app.get(&format!("/rest/v1.0/projects/{PROJECT}/users/{id}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_flat_body_is_refused_naming_the_user_key() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"last_name": "Flat", "email_address": "flat@x.example"}),
        json!({"user": {}}),
        json!({"user": "x"}),
    ] {
        let response = app.post_json(&users_path(), &body).await;
        assert_eq!(response.status(), 400);
        let body = json(response).await;
        assert_eq!(
            body["message"],
            "param is missing or the value is empty: user"
        );
        assert!(body["errors"]["user"].is_array());
    }
}

#[tokio::test]
async fn missing_required_fields_are_400_and_blank_or_invalid_ones_422() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"email_address": "a@b.example"}), 400, "last_name"),
        (json!({"last_name": "Doe"}), 400, "email_address"),
        (
            json!({"last_name": " ", "email_address": "a@b.example"}),
            422,
            "last_name",
        ),
        (
            json!({"last_name": null, "email_address": "a@b.example"}),
            422,
            "last_name",
        ),
        (
            json!({"last_name": "Doe", "email_address": "not-an-email"}),
            422,
            "email_address",
        ),
    ];
    for (user, status, field) in cases {
        let response = app.post_json(&users_path(), &json!({ "user": user })).await;
        assert_eq!(response.status(), status, "{user}");
        let body = json(response).await;
        assert!(body["errors"][field].is_array(), "{body}");
        assert!(body["message"].as_str().unwrap().contains(field));
    }
}

#[tokio::test]
async fn wrongly_typed_fields_are_400_naming_each() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": "Doe", "email_address": "t@x.example", "is_employee": "perhaps", "vendor_id": {"id": 1}}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert!(body["errors"]["is_employee"].is_array());
    assert!(body["errors"]["vendor_id"].is_array());
}

#[tokio::test]
async fn the_seed_login_field_stands_in_for_email_address() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &users_path(),
            &json!({"user": {"login": "john.smith@example.com", "first_name": "John", "last_name": "Smith", "is_employee": true}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let user = json(response).await;
    assert_eq!(user["email_address"], "john.smith@example.com");
    assert_eq!(user["is_employee"], true);
}

#[tokio::test]
async fn email_is_unique_per_company_ignoring_case_and_inactive_users_keep_theirs() {
    let app = TestApp::spawn().await;
    for email in [
        "JANE.DOE@summit-builders.example",
        "maria.garcia@summit-builders.example",
    ] {
        let response = app
            .post_json(
                &users_path(),
                &json!({"user": {"last_name": "Dup", "email_address": email}}),
            )
            .await;
        assert_eq!(response.status(), 409, "{email}");
        assert!(json(response).await["errors"]["email_address"].is_array());
    }
}

#[tokio::test]
async fn origin_id_is_unique_per_company() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": "Dup", "email_address": "dup@x.example", "origin_id": "hr-1001"}}),
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(json(response).await["errors"]["origin_id"].is_array());
}

#[tokio::test]
async fn vendor_and_templates_must_exist_in_the_company() {
    let app = TestApp::spawn().await;
    let cases = [
        ("vendor_id", json!(2101)),
        ("vendor_id", json!(999_999)),
        ("default_permission_template_id", json!(COMPANY_TEMPLATE)),
        ("default_permission_template_id", json!(3101)),
        ("company_permission_template_id", json!(PM_TEMPLATE)),
    ];
    for (field, value) in cases {
        let mut user = json!({"last_name": "Ref", "email_address": "ref@x.example"});
        user[field] = value.clone();
        let response = app.post_json(&users_path(), &json!({ "user": user })).await;
        assert_eq!(response.status(), 422, "{field}={value}");
        assert!(json(response).await["errors"][field].is_array());
    }
    assert!(
        !json(app.get(&format!("{}?per_page=10000", users_path())).await)
            .await
            .to_string()
            .contains("ref@x.example")
    );
}

#[tokio::test]
async fn show_returns_the_detail_shape_for_active_and_inactive_users() {
    let app = TestApp::spawn().await;
    let jane = json(app.get(&user_path(JANE)).await).await;
    assert_eq!(jane["default_permission_template_id"], PM_TEMPLATE);
    assert_eq!(jane["company_permission_template_id"], COMPANY_TEMPLATE);
    assert!(jane.get("permission_template").is_none());
    assert_eq!(jane["add_to_new_projects"], false);
    let maria = app.get(&user_path(MARIA_INACTIVE)).await;
    assert_eq!(maria.status(), 200);
    assert_eq!(json(maria).await["is_active"], false);
    let missing = app.get(&user_path(999_999)).await;
    assert_eq!(missing.status(), 404);
    assert!(json(missing).await["message"].is_string());
}

#[tokio::test]
async fn list_items_embed_templates_and_vendor_and_only_active_users_are_listed() {
    let app = TestApp::spawn().await;
    let list = json(app.get(&users_path()).await).await;
    let ids = ids(&list);
    assert!(!ids.contains(&MARIA_INACTIVE));
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "listed in id order");
    let jane = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == JANE)
        .unwrap();
    assert_eq!(jane["permission_template"]["name"], "Project Manager");
    assert_eq!(jane["company_permission_template"]["type"], "company_tools");
    let john = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == 5102)
        .unwrap();
    assert_eq!(
        john["vendor"],
        json!({"id": 2001, "name": "Acme Steel Fabricators"})
    );
}

#[tokio::test]
async fn the_list_is_served_under_v1_0_v1_1_and_v1_3() {
    let app = TestApp::spawn().await;
    let v10 = json(app.get(&users_path()).await).await;
    for version in ["v1.1", "v1.3"] {
        let other = json(
            app.get(&format!("/rest/{version}/companies/{COMPANY}/users"))
                .await,
        )
        .await;
        assert_eq!(other, v10, "{version}");
    }
}

#[tokio::test]
async fn patch_changes_only_the_supplied_fields() {
    let app = TestApp::frozen().await;
    let before = json(app.get(&user_path(JANE)).await).await;
    app.server.clock().advance_secs(60);
    let response = app
        .patch_json(
            &user_path(JANE),
            &json!({"user": {"job_title": "Senior PM", "mobile_phone": "+1 555 0199"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let after = json(response).await;
    assert_eq!(after["job_title"], "Senior PM");
    assert_eq!(after["mobile_phone"], "+1 555 0199");
    assert_eq!(after["updated_at"], "2030-01-01T00:01:00Z");
    let unchanged = |value: &Value| {
        let mut value = value.clone();
        for key in ["job_title", "mobile_phone", "updated_at"] {
            value.as_object_mut().unwrap().remove(key);
        }
        value
    };
    assert_eq!(unchanged(&after), unchanged(&before));
    assert_eq!(json(app.get(&user_path(JANE)).await).await, after);
}

#[tokio::test]
async fn a_refused_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = json(app.get(&user_path(JANE)).await).await;
    let clash = app
        .patch_json(&user_path(JANE), &json!({"user": {"job_title": "Changed", "email_address": "wei.chen@summit-builders.example"}}))
        .await;
    assert_eq!(clash.status(), 409);
    let invalid = app
        .patch_json(
            &user_path(JANE),
            &json!({"user": {"job_title": "Changed", "vendor_id": 424242}}),
        )
        .await;
    assert_eq!(invalid.status(), 422);
    assert_eq!(json(app.get(&user_path(JANE)).await).await, before);
}

#[tokio::test]
async fn deactivation_hides_the_user_from_the_list_but_keeps_project_memberships() {
    let app = TestApp::spawn().await;
    let response = app
        .patch_json(&user_path(JANE), &json!({"user": {"is_active": false}}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["is_active"], false);
    assert!(!app.active_user_ids().await.contains(&JANE));
    assert!(app.member_ids(PROJECT).await.contains(&JANE));
    assert!(app.member_ids(OTHER_PROJECT).await.contains(&JANE));
    let member = json(
        app.get(&format!("/rest/v1.0/projects/{PROJECT}/users/{JANE}"))
            .await,
    )
    .await;
    assert_eq!(member["is_active"], false);

    let reactivated = app
        .patch_json(&user_path(JANE), &json!({"user": {"is_active": true}}))
        .await;
    assert_eq!(json(reactivated).await["is_active"], true);
    assert!(app.active_user_ids().await.contains(&JANE));
}

#[tokio::test]
async fn delete_removes_a_user_without_associated_records() {
    let app = TestApp::spawn().await;
    let response = app.delete(&user_path(JANE)).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(app.get(&user_path(JANE)).await.status(), 404);
    assert!(!app.member_ids(PROJECT).await.contains(&JANE));
    assert_eq!(app.delete(&user_path(JANE)).await.status(), 404);
}

#[tokio::test]
async fn delete_is_refused_while_the_user_has_associated_records() {
    let app = TestApp::spawn().await;
    let response = app.delete(&user_path(WEI_WITH_RECORDS)).await;
    assert_eq!(response.status(), 422);
    let message = json(response).await["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("3 rfis") && message.contains("deactivate"),
        "{message}"
    );
    assert_eq!(app.get(&user_path(WEI_WITH_RECORDS)).await.status(), 200);
    assert!(app.member_ids(PROJECT).await.contains(&WEI_WITH_RECORDS));
}

#[tokio::test]
async fn form_encoded_bodies_are_read_like_json() {
    let app = TestApp::spawn().await;
    let response = app
        .request(reqwest::Method::POST, &users_path())
        .form(&[
            ("user[last_name]", "Form"),
            ("user[email_address]", "form@x.example"),
            ("user[is_employee]", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let user = json(response).await;
    assert_eq!(user["last_name"], "Form");
    assert_eq!(user["is_employee"], true);
}

#[tokio::test]
async fn me_names_the_service_account() {
    let app = TestApp::spawn().await;
    let me = json(app.get("/rest/v1.0/me").await).await;
    assert_eq!(
        me,
        json!({"id": 5001, "login": "svc-directory-admin@summit-builders.example", "name": "Directory Admin Service Account"})
    );
}

#[tokio::test]
async fn projects_and_templates_are_listed_for_the_company() {
    let app = TestApp::spawn().await;
    let projects = json(
        app.get(&format!("/rest/v1.0/projects?company_id={COMPANY}"))
            .await,
    )
    .await;
    assert_eq!(ids(&projects), [PROJECT, OTHER_PROJECT]);
    assert_eq!(
        projects[0]["company"],
        json!({"id": COMPANY, "name": "Summit Builders"})
    );
    assert_eq!(
        projects[0]["display_name"],
        "RMC-001 - Riverside Medical Center"
    );
    let missing = app.get("/rest/v1.0/projects").await;
    assert_eq!(missing.status(), 400);
    assert!(json(missing).await["errors"]["company_id"].is_array());

    // Procore's `filters[type]` defaults to `project_tools`: company templates are listed on
    // request (`fidelity::company_templates_filter_by_type_and_default_to_project_tools`).
    let company_templates = json(
        app.get(&format!(
            "/rest/v1.0/companies/{COMPANY}/permission_templates"
        ))
        .await,
    )
    .await;
    assert_eq!(
        ids(&company_templates),
        [
            PM_TEMPLATE,
            SUPER_TEMPLATE,
            SUB_TEMPLATE,
            OTHER_PROJECT_ONLY_TEMPLATE
        ]
    );
    let project_templates = json(
        app.get(&format!(
            "/rest/v1.0/projects/{PROJECT}/permission_templates"
        ))
        .await,
    )
    .await;
    assert_eq!(
        ids(&project_templates),
        [PM_TEMPLATE, SUPER_TEMPLATE, SUB_TEMPLATE]
    );
    let other_templates = json(
        app.get(&format!(
            "/rest/v1.0/projects/{OTHER_PROJECT}/permission_templates"
        ))
        .await,
    )
    .await;
    assert_eq!(
        ids(&other_templates),
        [
            PM_TEMPLATE,
            SUPER_TEMPLATE,
            SUB_TEMPLATE,
            OTHER_PROJECT_ONLY_TEMPLATE
        ]
    );
    assert_eq!(other_templates[3]["project_specific"], true);
}
