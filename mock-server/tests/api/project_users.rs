//! Project membership: add, remove, create in project, the template-change dance, and its traps.

use serde_json::json;

use crate::helpers::*;

fn add_path(project: u64, user: u64) -> String {
    format!("/rest/v1.0/projects/{project}/users/{user}/actions/add")
}

fn remove_path(project: u64, user: u64) -> String {
    format!("/rest/v1.0/projects/{project}/users/{user}/actions/remove")
}

fn member_path(project: u64, user: u64) -> String {
    format!("/rest/v1.0/projects/{project}/users/{user}")
}

fn with_template(template: u64) -> serde_json::Value {
    json!({"user": {"permission_template_id": template}})
}

#[tokio::test]
async fn add_puts_a_company_user_on_the_project_with_the_template() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &add_path(PROJECT, PRIYA_NO_PROJECTS),
            &with_template(SUB_TEMPLATE),
        )
        .await;
    assert_eq!(response.status(), 201);
    let member = json(response).await;
    assert_eq!(member["id"], PRIYA_NO_PROJECTS);
    assert_eq!(
        member["permission_template"],
        json!({"id": SUB_TEMPLATE, "name": "Subcontractor", "project_specific": false, "type": "global"})
    );
    assert_eq!(member["vendor"]["name"], "Brightline Electrical");
    assert!(app.member_ids(PROJECT).await.contains(&PRIYA_NO_PROJECTS));
    let shown = json(app.get(&member_path(PROJECT, PRIYA_NO_PROJECTS)).await).await;
    assert_eq!(shown, member);
}

#[tokio::test]
async fn project_user_records_omit_null_values() {
    let app = TestApp::spawn().await;
    let member = json(app.get(&member_path(PROJECT, 5102)).await).await;
    let object = member.as_object().unwrap();
    assert!(object.values().all(|value| !value.is_null()), "{member}");
    assert!(!object.contains_key("mobile_phone"));
}

#[tokio::test]
async fn add_without_a_template_applies_the_users_default_template() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
            &json!({"user": {"last_name": "Default", "email_address": "default@x.example", "default_permission_template_id": SUPER_TEMPLATE}}),
        )
        .await;
    let id = json(response).await["id"].as_u64().unwrap();
    let response = app
        .request(reqwest::Method::POST, &add_path(PROJECT, id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        json(response).await["permission_template"]["id"],
        SUPER_TEMPLATE
    );

    let no_default = app
        .request(reqwest::Method::POST, &add_path(PROJECT, PRIYA_NO_PROJECTS))
        .send()
        .await
        .unwrap();
    assert_eq!(no_default.status(), 201);
    assert!(json(no_default).await.get("permission_template").is_none());
}

#[tokio::test]
async fn add_needs_an_existing_company_user() {
    let app = TestApp::spawn().await;
    for user in [999_999, 5201] {
        let response = app
            .post_json(&add_path(PROJECT, user), &with_template(SUB_TEMPLATE))
            .await;
        assert_eq!(response.status(), 404, "user {user}");
        assert!(json(response).await["message"]
            .as_str()
            .unwrap()
            .contains("directory"));
    }
}

#[tokio::test]
async fn add_needs_a_project_template_of_the_company_usable_on_the_project() {
    let app = TestApp::spawn().await;
    for template in [COMPANY_TEMPLATE, 3101, OTHER_PROJECT_ONLY_TEMPLATE, 999_999] {
        let response = app
            .post_json(
                &add_path(PROJECT, PRIYA_NO_PROJECTS),
                &with_template(template),
            )
            .await;
        assert_eq!(response.status(), 422, "template {template}");
        assert!(json(response).await["errors"]["permission_template_id"].is_array());
    }
    assert!(!app.member_ids(PROJECT).await.contains(&PRIYA_NO_PROJECTS));
    let specific = app
        .post_json(
            &add_path(OTHER_PROJECT, PRIYA_NO_PROJECTS),
            &with_template(OTHER_PROJECT_ONLY_TEMPLATE),
        )
        .await;
    assert_eq!(
        specific.status(),
        201,
        "a project-specific template works on its own project"
    );
}

#[tokio::test]
async fn adding_a_member_twice_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(&add_path(PROJECT, JANE), &with_template(SUB_TEMPLATE))
        .await;
    assert_eq!(response.status(), 422);
    let member = json(app.get(&member_path(PROJECT, JANE)).await).await;
    assert_eq!(
        member["permission_template"]["id"], PM_TEMPLATE,
        "the first membership is untouched"
    );
}

#[tokio::test]
async fn unknown_projects_are_404() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post_json(&add_path(424_242, JANE), &with_template(PM_TEMPLATE))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get("/rest/v1.0/projects/424242/users").await.status(),
        404
    );
}

#[tokio::test]
async fn remove_is_204_with_an_empty_body_and_keeps_the_directory_record() {
    let app = TestApp::spawn().await;
    let response = app.delete(&remove_path(PROJECT, JANE)).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert!(!app.member_ids(PROJECT).await.contains(&JANE));
    assert!(
        app.member_ids(OTHER_PROJECT).await.contains(&JANE),
        "other projects are untouched"
    );
    assert_eq!(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await
            .status(),
        200
    );
    assert!(app.active_user_ids().await.contains(&JANE));
    assert_eq!(app.delete(&remove_path(PROJECT, JANE)).await.status(), 404);
}

#[tokio::test]
async fn changing_a_template_is_remove_then_re_add() {
    let app = TestApp::spawn().await;
    let ignored = app
        .patch_json(
            &member_path(PROJECT, JANE),
            &json!({"user": {"permission_template_id": SUPER_TEMPLATE}}),
        )
        .await;
    assert_eq!(ignored.status(), 200);
    assert_eq!(
        json(ignored).await["permission_template"]["id"],
        PM_TEMPLATE,
        "PATCH does not change templates"
    );

    assert_eq!(app.delete(&remove_path(PROJECT, JANE)).await.status(), 204);
    let readded = app
        .post_json(&add_path(PROJECT, JANE), &with_template(SUPER_TEMPLATE))
        .await;
    assert_eq!(readded.status(), 201);
    let listed = json(
        app.get(&format!("/rest/v1.0/projects/{PROJECT}/users"))
            .await,
    )
    .await;
    let jane = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == JANE)
        .unwrap();
    assert_eq!(jane["permission_template"]["id"], SUPER_TEMPLATE);
    assert_eq!(jane["permission_template"]["name"], "Superintendent");
}

#[tokio::test]
async fn create_in_project_makes_a_company_user_and_a_member_at_once() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users"),
            &json!({"user": {"first_name": "New", "last_name": "Hire", "email_address": "new.hire@x.example", "permission_template_id": SUPER_TEMPLATE}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let member = json(response).await;
    let id = member["id"].as_u64().unwrap();
    assert_eq!(member["permission_template"]["id"], SUPER_TEMPLATE);
    assert!(app.active_user_ids().await.contains(&id));
    assert!(app.member_ids(PROJECT).await.contains(&id));
}

#[tokio::test]
async fn a_refused_create_in_project_writes_nothing() {
    let app = TestApp::spawn().await;
    let directory_before = app.active_user_ids().await;
    let members_before = app.member_ids(PROJECT).await;
    let bad_template = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users"),
            &json!({"user": {"last_name": "Hire", "email_address": "hire@x.example", "permission_template_id": COMPANY_TEMPLATE}}),
        )
        .await;
    assert_eq!(bad_template.status(), 422);
    let duplicate = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users"),
            &json!({"user": {"last_name": "Doe", "email_address": "jane.doe@summit-builders.example"}}),
        )
        .await;
    assert_eq!(duplicate.status(), 409);
    let flat = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users"),
            &json!({"last_name": "Flat", "email_address": "flat@x.example"}),
        )
        .await;
    assert_eq!(flat.status(), 400);
    assert_eq!(app.active_user_ids().await, directory_before);
    assert_eq!(app.member_ids(PROJECT).await, members_before);
}

#[tokio::test]
async fn the_seed_form_of_post_project_users_adds_an_existing_user() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users"),
            &json!({"user": {"id": PRIYA_NO_PROJECTS, "permission_template_id": SUB_TEMPLATE}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let member = json(response).await;
    assert_eq!(member["id"], PRIYA_NO_PROJECTS);
    assert_eq!(member["permission_template_id"], SUB_TEMPLATE);
}

#[tokio::test]
async fn the_seed_plain_delete_removes_a_member() {
    let app = TestApp::spawn().await;
    let response = app.delete(&member_path(PROJECT, JANE)).await;
    assert_eq!(response.status(), 204);
    assert!(!app.member_ids(PROJECT).await.contains(&JANE));
}

#[tokio::test]
async fn patch_sets_the_project_level_active_flag_only() {
    let app = TestApp::spawn().await;
    let response = app
        .patch_json(
            &member_path(PROJECT, JANE),
            &json!({"user": {"is_active": false}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["is_active"], false);
    assert!(app.member_ids(PROJECT).await.contains(&JANE));
    let company_user = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await,
    )
    .await;
    assert_eq!(company_user["is_active"], true);
    let other = json(app.get(&member_path(OTHER_PROJECT, JANE)).await).await;
    assert_eq!(other["is_active"], true);
    let not_member = app
        .patch_json(
            &member_path(PROJECT, PRIYA_NO_PROJECTS),
            &json!({"user": {"is_active": false}}),
        )
        .await;
    assert_eq!(not_member.status(), 404);
}

#[tokio::test]
async fn deactivated_company_users_stay_on_project_lists() {
    let app = TestApp::spawn().await;
    let members = json(
        app.get(&format!("/rest/v1.0/projects/{OTHER_PROJECT}/users"))
            .await,
    )
    .await;
    let maria = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == MARIA_INACTIVE)
        .expect("still a member");
    assert_eq!(maria["is_active"], false);
}
