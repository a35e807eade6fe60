//! Directory depth: list filters, sorts and views; v1.3 updates; sync; inactive users; vendors.

use procore_mock::{Config, MockServer};
use serde_json::{json, Value};

use crate::helpers::*;

fn list(query: &str) -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users?{query}")
}

async fn ids_of(app: &TestApp, path: &str) -> Vec<u64> {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    ids(&json(response).await)
}

const STANDARD_APP: (&str, &str) = ("procore-mock-standard", "procore-mock-standard-secret");

#[tokio::test]
async fn search_is_partial_and_case_insensitive_over_names_email_title_and_vendor() {
    let app = TestApp::spawn().await;
    assert_eq!(
        ids_of(&app, &list("filters[search]=DOE")).await,
        [JANE, 5106]
    );
    assert_eq!(
        ids_of(&app, &list("search=doe")).await,
        [JANE, 5106],
        "the seed's `search` works too"
    );
    assert_eq!(
        ids_of(&app, &list("filters[search]=acme")).await,
        [5102],
        "vendor name"
    );
    assert_eq!(
        ids_of(&app, &list("filters[search]=estimator")).await,
        [5106],
        "job title"
    );
    assert_eq!(
        ids_of(&app, &list("filters[search]=brightline-electric.example")).await,
        [PRIYA_NO_PROJECTS],
        "email"
    );
    assert_eq!(
        ids_of(&app, &list("filters[search]=garcia")).await,
        Vec::<u64>::new(),
        "inactive users are not listed"
    );
}

#[tokio::test]
async fn filters_combine_with_and_and_with_pagination() {
    let app = TestApp::spawn().await;
    let response = app
        .get(&list("filters[search]=summit-builders&per_page=2&page=2"))
        .await;
    assert_eq!(
        header(&response, "total"),
        Some("6"),
        "Total counts the filtered set"
    );
    assert_eq!(ids(&json(response).await), [5003, JANE]);
    assert_eq!(
        ids_of(
            &app,
            &list("filters[vendor_id][]=2001&filters[vendor_id][]=2002")
        )
        .await,
        [5102, PRIYA_NO_PROJECTS]
    );
    assert_eq!(
        ids_of(
            &app,
            &list("filters[vendor_id][]=2001&filters[search]=priya")
        )
        .await,
        Vec::<u64>::new()
    );
    assert_eq!(
        ids_of(&app, &list("filters[origin_id]=hr-1003")).await,
        [WEI_WITH_RECORDS]
    );
}

#[tokio::test]
async fn time_filters_take_date_and_datetime_ranges() {
    let app = TestApp::spawn().await;
    assert_eq!(
        ids_of(&app, &list("filters[created_at]=2024-02-01...2024-02-10")).await,
        [JANE, 5102, WEI_WITH_RECORDS]
    );
    assert_eq!(
        ids_of(
            &app,
            &list("filters[created_at]=2024-02-01T10:00:00Z...2024-02-03T10:59:59Z")
        )
        .await,
        [JANE]
    );
    assert_eq!(
        ids_of(&app, &list("filters[updated_at]=2024-03-01...2024-12-31")).await,
        [JANE, PRIYA_NO_PROJECTS, 5106]
    );
    assert_eq!(
        ids_of(&app, &list("updated_after=2024-04-01T13:20:00Z")).await,
        [5106]
    );
}

#[tokio::test]
async fn invalid_filter_values_are_400_naming_them() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("filters[vendor_id][]=abc", "filters[vendor_id]"),
        ("filters[created_at]=yesterday", "filters[created_at]"),
        ("filters[updated_at]=2024-01-01", "filters[updated_at]"),
        ("updated_after=soon", "updated_after"),
        ("sort=salary", "sort"),
        ("view=fancy", "view"),
    ] {
        let response = app.get(&list(query)).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(json(response).await["errors"][field].is_array(), "{query}");
    }
}

#[tokio::test]
async fn sorts_order_by_the_keys_with_ties_by_id() {
    let app = TestApp::spawn().await;
    let by_name = ids_of(&app, &list("sort=name")).await;
    assert_eq!(
        by_name,
        [5001, WEI_WITH_RECORDS, JANE, 5106, PRIYA_NO_PROJECTS, 5003, 5002, 5102],
        "by last name, then first name: Admin…, Chen, Doe Jane, Doe Jordan, Patel, Service Account (Read-Only, Standard), Smith"
    );
    let by_name_desc = ids_of(&app, &list("sort=-name")).await;
    assert_eq!(by_name_desc[0], 5102, "Smith first descending");
    let by_vendor = ids_of(&app, &list("sort=vendor_name")).await;
    assert_eq!(
        by_vendor[..2],
        [5102, PRIYA_NO_PROJECTS],
        "Acme, Brightline, then the rest by id"
    );
    let by_title_then_name = ids_of(&app, &list("sort=job_title,-name")).await;
    assert_eq!(
        by_title_then_name[..3],
        [PRIYA_NO_PROJECTS, 5106, 5102],
        "Electrician, Estimator, Foreman"
    );
    let by_template = ids_of(&app, &list("sort=permission_template")).await;
    assert_eq!(by_template[0], JANE);
}

#[tokio::test]
async fn views_ids_only_and_extended() {
    let app = TestApp::spawn().await;
    let response = app
        .get(&format!(
            "/rest/v1.3/companies/{COMPANY}/users?view=ids_only&per_page=3"
        ))
        .await;
    assert_eq!(header(&response, "total"), Some("8"));
    assert_eq!(json(response).await, json!([5001, 5002, 5003]));
    let extended = json(
        app.get(&format!(
            "/rest/v1.3/companies/{COMPANY}/users?view=extended&filters[origin_id]=hr-1001"
        ))
        .await,
    )
    .await;
    assert_eq!(extended[0]["permission_template"]["id"], PM_TEMPLATE);
    assert_eq!(extended[0]["default_permission_template_id"], PM_TEMPLATE);
    assert_eq!(extended[0]["add_to_new_projects"], false);
}

#[tokio::test]
async fn project_user_filters() {
    let app = TestApp::spawn().await;
    let path = |q: &str| format!("/rest/v1.0/projects/{PROJECT}/users?{q}");
    assert_eq!(ids_of(&app, &path("filters[search]=smith")).await, [5102]);
    assert_eq!(
        ids_of(
            &app,
            &path(&format!("filters[permission_template]={SUPER_TEMPLATE}"))
        )
        .await,
        [WEI_WITH_RECORDS]
    );
    assert_eq!(
        ids_of(&app, &path("filters[vendor_id][]=2001")).await,
        [5102]
    );
    assert_eq!(
        ids_of(
            &app,
            &path(&format!(
                "filters[id][]={JANE}&filters[id][]={WEI_WITH_RECORDS}"
            ))
        )
        .await,
        [JANE, WEI_WITH_RECORDS]
    );
    assert_eq!(app.get(&path("filters[id][]=x")).await.status(), 400);
}

fn v13(id: u64) -> String {
    format!("/rest/v1.3/companies/{COMPANY}/users/{id}")
}

#[tokio::test]
async fn v13_update_requires_last_name_and_email_address() {
    let app = TestApp::spawn().await;
    let missing = app
        .patch_json(
            &v13(JANE),
            &json!({"user": {"last_name": "Doe", "job_title": "X"}}),
        )
        .await;
    assert_eq!(missing.status(), 400);
    assert!(json(missing).await["errors"]["email_address"].is_array());
    let blank = app.patch_json(&v13(JANE), &json!({"user": {"last_name": "", "email_address": "jane.doe@summit-builders.example"}})).await;
    assert_eq!(blank.status(), 422);
    let ok = app
        .request(reqwest::Method::PATCH, &format!("{}?run_configurable_validations=true", v13(JANE)))
        .json(&json!({"user": {"last_name": "Doe", "email_address": "jane.doe@summit-builders.example", "job_title": "Director"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body = json(ok).await;
    assert_eq!(body["job_title"], "Director");
    assert_eq!(body["city"], "Denver", "only supplied fields change");
}

#[tokio::test]
async fn only_a_directory_admin_may_change_privileged_fields() {
    let admin = TestApp::spawn().await;
    let standard = TestApp {
        token: admin.client_credentials_token(STANDARD_APP).await,
        ..admin
    };
    let base = json!({"last_name": "Doe", "email_address": "jane.doe@summit-builders.example"});
    let with = |field: &str, value: Value| {
        let mut user = base.clone();
        user[field] = value;
        json!({ "user": user })
    };
    let cases = [
        with("email_address", json!("jane@elsewhere.example")),
        with("default_permission_template_id", json!(SUPER_TEMPLATE)),
        with("company_permission_template_id", Value::Null),
        with("add_to_new_projects", json!(true)),
    ];
    for body in &cases {
        let response = standard.patch_json(&v13(JANE), body).await;
        assert_eq!(response.status(), 403, "{body}");
        assert!(json(response).await["message"]
            .as_str()
            .unwrap()
            .contains("Directory"));
    }
    let unchanged = standard
        .patch_json(
            &v13(JANE),
            &with("email_address", json!("JANE.DOE@summit-builders.example")),
        )
        .await;
    assert_eq!(
        unchanged.status(),
        200,
        "sending the unchanged email is fine"
    );
    let same_template = standard
        .patch_json(
            &v13(JANE),
            &with("default_permission_template_id", json!(PM_TEMPLATE)),
        )
        .await;
    assert_eq!(same_template.status(), 200);
    let admin = TestApp {
        token: standard.client_credentials_token(ADMIN_APP).await,
        ..standard
    };
    for body in &cases {
        assert_eq!(
            admin.patch_json(&v13(JANE), body).await.status(),
            200,
            "{body}"
        );
    }
}

#[tokio::test]
async fn country_and_state_codes_must_be_iso_3166() {
    let app = TestApp::spawn().await;
    let update = |country: &str, state: &str| json!({"user": {"last_name": "Doe", "email_address": "jane.doe@summit-builders.example", "country_code": country, "state_code": state}});
    assert_eq!(
        app.patch_json(&v13(JANE), &update("CA", "ON"))
            .await
            .status(),
        200
    );
    for (country, state, field) in [
        ("ZZ", "ON", "country_code"),
        ("USA", "CO", "country_code"),
        ("US", "ON", "state_code"),
        ("US", "XX", "state_code"),
    ] {
        let response = app.patch_json(&v13(JANE), &update(country, state)).await;
        assert_eq!(response.status(), 422, "{country}/{state}");
        assert!(
            json(response).await["errors"][field].is_array(),
            "{country}/{state}"
        );
    }
    let jane = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await,
    )
    .await;
    assert_eq!(
        (jane["country_code"].as_str(), jane["state_code"].as_str()),
        (Some("CA"), Some("ON"))
    );
}

fn avatar_form(bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("user[last_name]", "Doe")
        .text("user[email_address]", "jane.doe@summit-builders.example")
        .text("user[job_title]", "Photographed")
        .part(
            "user[avatar]",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("jane.png")
                .mime_str("image/png")
                .unwrap(),
        )
}

#[tokio::test]
async fn a_multipart_update_uploads_an_avatar_served_back_byte_identical() {
    let app = TestApp::spawn().await;
    let image: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
    let response = app
        .request(reqwest::Method::PATCH, &v13(JANE))
        .multipart(avatar_form(image.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["job_title"], "Photographed");
    let url = body["avatar"].as_str().expect("an avatar URL");
    assert!(url.starts_with(app.server.url()), "{url}");
    let served = app.client.get(url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), Some("image/png"));
    assert_eq!(served.bytes().await.unwrap().to_vec(), image);
}

#[tokio::test]
async fn an_avatar_must_be_an_image() {
    let app = TestApp::spawn().await;
    let form = reqwest::multipart::Form::new()
        .text("user[last_name]", "Doe")
        .text("user[email_address]", "jane.doe@summit-builders.example")
        .part(
            "user[avatar]",
            reqwest::multipart::Part::bytes(b"%PDF".to_vec())
                .file_name("cv.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let response = app
        .request(reqwest::Method::PATCH, &v13(JANE))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(json(response).await["errors"]["avatar"].is_array());
}

#[tokio::test]
async fn an_avatar_over_the_limit_is_413() {
    let config = Config {
        max_avatar_bytes: 1000,
        ..Config::default()
    };
    let app = TestApp::start_server(MockServer::builder().config(config).start()).await;
    let response = app
        .request(reqwest::Method::PATCH, &v13(JANE))
        .multipart(avatar_form(vec![7; 1001]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let jane = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await,
    )
    .await;
    assert!(jane["avatar"].is_null());
    assert_eq!(jane["job_title"], "Project Manager", "nothing was applied");
}

fn sync_path() -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users/sync")
}

#[tokio::test]
async fn sync_matches_by_id_then_origin_id_else_creates_and_reports_errors() {
    let app = TestApp::spawn().await;
    let response = app
        .patch_json(
            &sync_path(),
            &json!({"updates": [
                {"id": JANE, "job_title": "Synced"},
                {"origin_id": "hr-1003", "job_title": "Matched by origin"},
                {"origin_id": "hr-9000", "last_name": "New", "email_address": "new.sync@x.example"},
                {"last_name": "Plain", "email_address": "plain.sync@x.example"},
                {"id": 999999, "job_title": "Ghost"},
                {"last_name": "Dup", "email_address": "jane.doe@summit-builders.example"},
                {"origin_id": "hr-1002", "is_active": true}
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    let entities = body["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 5);
    assert_eq!(entities[0]["job_title"], "Synced");
    assert_eq!(entities[1]["id"], WEI_WITH_RECORDS);
    assert_eq!(entities[2]["origin_id"], "hr-9000");
    assert_eq!(entities[4]["id"], MARIA_INACTIVE);
    assert_eq!(entities[4]["is_active"], true, "sync reactivates");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["id"], 999999, "the submitted item is echoed");
    assert!(errors[0]["errors"]["id"].is_array());
    assert!(errors[1]["errors"]["email_address"].is_array());
    assert!(app.active_user_ids().await.contains(&MARIA_INACTIVE));
}

#[tokio::test]
async fn sync_takes_at_most_1000_updates() {
    let app = TestApp::spawn().await;
    let updates: Vec<Value> = (0..1001)
        .map(|i| json!({"last_name": "Bulk", "email_address": format!("bulk{i}@x.example")}))
        .collect();
    let response = app
        .patch_json(&sync_path(), &json!({ "updates": updates }))
        .await;
    assert_eq!(response.status(), 400);
    assert!(json(response).await["errors"]["updates"].is_array());
    let response = app
        .patch_json(&sync_path(), &json!({ "updates": updates[..1000] }))
        .await;
    assert_eq!(
        json(response).await["entities"].as_array().unwrap().len(),
        1000
    );
}

#[tokio::test]
async fn inactive_users_are_listed_and_reactivated() {
    let app = TestApp::spawn().await;
    let inactive = format!("/rest/v1.0/companies/{COMPANY}/users/inactive");
    assert_eq!(ids_of(&app, &inactive).await, [MARIA_INACTIVE]);
    let response = app
        .request(
            reqwest::Method::PATCH,
            &format!("{inactive}/{MARIA_INACTIVE}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["is_active"], true);
    assert_eq!(ids_of(&app, &inactive).await, Vec::<u64>::new());
    assert!(app.active_user_ids().await.contains(&MARIA_INACTIVE));
    let again = app
        .request(
            reqwest::Method::PATCH,
            &format!("{inactive}/{MARIA_INACTIVE}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn vendors_are_listed_and_shown() {
    let app = TestApp::spawn().await;
    let vendors = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/vendors"))
            .await,
    )
    .await;
    assert_eq!(
        vendors,
        json!([{"id": 2001, "name": "Acme Steel Fabricators", "is_active": true}, {"id": 2002, "name": "Brightline Electrical", "is_active": true}])
    );
    assert_eq!(
        json(
            app.get(&format!("/rest/v1.0/companies/{COMPANY}/vendors/2002"))
                .await
        )
        .await["name"],
        "Brightline Electrical"
    );
    assert_eq!(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/vendors/2101"))
            .await
            .status(),
        404
    );
}
