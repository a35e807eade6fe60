//! Divergences from Procore's published reference found by the conformance check, fixed: each
//! test pins the behaviour Procore documents.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

fn types(list: &Value) -> Vec<(u64, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_u64().unwrap(),
                t["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn template_types_use_procores_response_enum() {
    let app = TestApp::spawn().await;
    let project = json(
        app.get(&format!(
            "/rest/v1.0/projects/{OTHER_PROJECT}/permission_templates"
        ))
        .await,
    )
    .await;
    assert_eq!(
        types(&project),
        [
            (PM_TEMPLATE, "global".to_owned()),
            (SUPER_TEMPLATE, "global".to_owned()),
            (SUB_TEMPLATE, "global".to_owned()),
            (OTHER_PROJECT_ONLY_TEMPLATE, "project_specific".to_owned()),
        ]
    );
    let user = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users"))
            .await,
    )
    .await;
    let jane = user
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == JANE)
        .unwrap();
    assert_eq!(jane["permission_template"]["type"], "global");
    assert_eq!(jane["company_permission_template"]["type"], "company_tools");
}

#[tokio::test]
async fn company_templates_filter_by_type_and_default_to_project_tools() {
    let app = TestApp::spawn().await;
    let list = |query: &'static str| {
        let app = &app;
        async move {
            let path = format!("/rest/v1.0/companies/{COMPANY}/permission_templates{query}");
            app.get(&path).await
        }
    };
    let project_tools = [
        PM_TEMPLATE,
        SUPER_TEMPLATE,
        SUB_TEMPLATE,
        OTHER_PROJECT_ONLY_TEMPLATE,
    ];
    assert_eq!(ids(&json(list("").await).await), project_tools);
    assert_eq!(
        ids(&json(list("?filters%5Btype%5D=project_tools").await).await),
        project_tools
    );
    assert_eq!(
        ids(&json(list("?filters%5Btype%5D=company_tools").await).await),
        [COMPANY_TEMPLATE]
    );
    assert_eq!(
        ids(&json(list("?filters%5Btype%5D=global").await).await),
        [PM_TEMPLATE, SUPER_TEMPLATE, SUB_TEMPLATE]
    );
    let bad = list("?filters%5Btype%5D=project_specific").await;
    assert_eq!(bad.status(), 400);
    assert!(json(bad).await["errors"]["filters[type]"].is_array());
}

#[tokio::test]
async fn vendors_answer_on_procores_paths() {
    let app = TestApp::spawn().await;
    let list = app
        .get(&format!("/rest/v1.0/vendors?company_id={COMPANY}"))
        .await;
    assert_eq!(list.status(), 200);
    assert_eq!(header(&list, "Total"), Some("2"));
    assert_eq!(ids(&json(list).await), [2001, 2002]);
    let one = app
        .get(&format!("/rest/v1.0/vendors/2001?company_id={COMPANY}"))
        .await;
    assert_eq!(one.status(), 200);
    assert_eq!(json(one).await["name"], "Acme Steel Fabricators");
    let missing = app
        .get(&format!("/rest/v1.0/vendors/9999?company_id={COMPANY}"))
        .await;
    assert_eq!(missing.status(), 404);
    let no_company = app.get("/rest/v1.0/vendors").await;
    assert_eq!(no_company.status(), 400);
    assert!(json(no_company).await["errors"]["company_id"].is_array());
    let foreign = app
        .get(&format!("/rest/v1.0/vendors?company_id={OTHER_COMPANY}"))
        .await;
    assert_eq!(foreign.status(), 403);
}

#[tokio::test]
async fn v1_1_projects_list_the_companys_projects_at_most_300_a_page() {
    let app = TestApp::spawn().await;
    let response = app
        .get(&format!(
            "/rest/v1.1/projects?company_id={COMPANY}&per_page=5000"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "Per-Page"), Some("300"));
    assert_eq!(ids(&json(response).await), [PROJECT, OTHER_PROJECT]);
    assert_eq!(app.get("/rest/v1.1/projects").await.status(), 400);
}

#[tokio::test]
async fn multipart_bodies_may_carry_the_whole_user_as_one_json_part() {
    let app = TestApp::spawn().await;
    let form = reqwest::multipart::Form::new().text(
        "user",
        json!({"last_name": "Parts", "email_address": "parts@x.example", "job_title": "Welder"})
            .to_string(),
    );
    let created = app
        .request(
            Method::POST,
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created = json(created).await;
    assert_eq!(created["job_title"], "Welder");
    let id = created["id"].as_u64().unwrap();

    let form = reqwest::multipart::Form::new().text(
        "user",
        json!({"last_name": "Parts", "email_address": "parts@x.example", "city": "Boulder"})
            .to_string(),
    );
    let updated = app
        .request(
            Method::PATCH,
            &format!("/rest/v1.3/companies/{COMPANY}/users/{id}"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    assert_eq!(json(updated).await["city"], "Boulder");

    let form = reqwest::multipart::Form::new().text(
        "updates",
        json!([{"id": id, "job_title": "Foreman"}]).to_string(),
    );
    let synced = app
        .request(
            Method::PATCH,
            &format!("/rest/v1.0/companies/{COMPANY}/users/sync"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200);
    assert_eq!(json(synced).await["entities"][0]["job_title"], "Foreman");

    let form = reqwest::multipart::Form::new().text("user", "{not json");
    let malformed = app
        .request(
            Method::PATCH,
            &format!("/rest/v1.0/companies/{COMPANY}/users/{id}"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn a_flat_body_on_actions_add_is_400() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/projects/{PROJECT}/users/{PRIYA_NO_PROJECTS}/actions/add");
    let flat = app
        .post_json(&path, &json!({"permission_template_id": SUB_TEMPLATE}))
        .await;
    assert_eq!(flat.status(), 400);
    assert_eq!(
        json(flat).await["message"],
        "param is missing or the value is empty: user"
    );
    assert!(!app.member_ids(PROJECT).await.contains(&PRIYA_NO_PROJECTS));
}

#[tokio::test]
async fn detail_answers_leave_out_vendor_and_origin_keys_a_user_lacks() {
    let app = TestApp::spawn().await;
    let id = app.create_user("Plain", "plain@x.example").await;
    let shown = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{id}"))
            .await,
    )
    .await;
    for key in ["vendor", "origin_id", "origin_data"] {
        assert!(shown.get(key).is_none(), "{key} in {shown}");
    }
    let listed = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users"))
            .await,
    )
    .await;
    let item = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id)
        .unwrap();
    assert!(item["vendor"].is_null() && item.get("vendor").is_some());
}

#[tokio::test]
async fn phone_extensions_are_integers_on_the_wire() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/companies/{COMPANY}/users");
    let created = app
        .post_json(&path, &json!({"user": {"last_name": "Ext", "email_address": "ext@x.example", "business_phone_extension": "42"}}))
        .await;
    assert_eq!(json(created).await["business_phone_extension"], 42);
    let refused = app
        .post_json(&path, &json!({"user": {"last_name": "Ext", "email_address": "ext2@x.example", "business_phone_extension": "ext. 4"}}))
        .await;
    assert_eq!(refused.status(), 400);
}
