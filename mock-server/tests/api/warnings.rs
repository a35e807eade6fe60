//! Mistakes that would pass silently: ignored parameters and fields are named in
//! `X-Procore-Mock-Warning` (and the journal), `--strict` refuses them, and seed-only
//! behaviour of the `documented` profile is flagged.

use procore_mock::{Config, MockServer, Profile};
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;

const WARNING: &str = "x-procore-mock-warning";

fn users_path() -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users")
}

fn warning(response: &Response) -> Option<&str> {
    header(response, WARNING)
}

async fn strict() -> TestApp {
    let config = Config {
        strict: true,
        ..Config::default()
    };
    TestApp::start_server(MockServer::builder().config(config).start()).await
}

/// `Profile::Official`: no seed-only `X-Total` warning on lists, so a list's header is about
/// its parameters only.
async fn official() -> TestApp {
    TestApp::with_profile(Profile::Official).await
}

#[tokio::test]
async fn a_filter_the_company_user_list_does_not_take_is_ignored_and_named() {
    let app = official().await;
    let response = app
        .get(&format!("{}?filters[nonsense]=1&per_page=5", users_path()))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(warning(&response), Some("ignored: filters[nonsense]"));
    let inactive = app
        .get(&format!("{}/inactive?serch=doe&serch=x", users_path()))
        .await;
    assert_eq!(inactive.status(), 200);
    assert_eq!(warning(&inactive), Some("ignored: serch"));
}

#[tokio::test]
async fn updated_after_on_the_project_user_list_is_ignored_and_named() {
    let app = official().await;
    let response = app
        .get(&format!(
            "/rest/v1.0/projects/{PROJECT}/users?updated_after=2030-01-01&filters[search]=a"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(warning(&response), Some("ignored: updated_after"));
}

#[tokio::test]
async fn clean_requests_carry_no_warning() {
    let app = official().await;
    let list = app
        .get(&format!(
            "{}?filters[search]=a&updated_after=2030-01-01&page=1&per_page=10&sort=name",
            users_path()
        ))
        .await;
    assert_eq!(list.status(), 200);
    assert_eq!(warning(&list), None);
    let app = TestApp::spawn().await;
    let created = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": "Clean", "email_address": "clean@x.example",
                             "job_title": "PM", "is_employee": true}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(warning(&created), None);
    let shown = app.get(&format!("{}/{JANE}", users_path())).await;
    assert_eq!(warning(&shown), None);
}

#[tokio::test]
async fn a_misspelt_field_on_company_user_create_and_update_is_ignored_and_named() {
    let app = TestApp::spawn().await;
    let created = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": "Typo", "email_address": "typo@x.example",
                             "permision_template_id": 3004}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        warning(&created),
        Some("ignored: user[permision_template_id]")
    );
    let updated = app
        .patch_json(
            &format!("{}/{JANE}", users_path()),
            &json!({"user": {"job_titel": "Boss"}, "usr": {}}),
        )
        .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(warning(&updated), Some("ignored: usr, user[job_titel]"));
}

#[tokio::test]
async fn a_misspelt_field_on_project_user_add_is_ignored_and_named() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users/{PRIYA_NO_PROJECTS}/actions/add"),
            &json!({"user": {"permision_template_id": SUPER_TEMPLATE}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        warning(&response),
        Some("ignored: user[permision_template_id]")
    );
}

#[tokio::test]
async fn misspelt_fields_in_sync_items_are_named_once() {
    let app = TestApp::spawn().await;
    let response = app
        .patch_json(
            &format!("{}/sync", users_path()),
            &json!({"updates": [
                {"id": JANE, "job_titel": "A"},
                {"email_address": "s@x.example", "last_name": "S", "job_titel": "B", "zipp": "1"},
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        warning(&response),
        Some("ignored: updates[][job_titel], updates[][zipp]")
    );
}

#[tokio::test]
async fn the_journal_records_the_warning() {
    let app = official().await;
    app.get(&format!("{}?filters[nonsense]=1", users_path()))
        .await;
    app.get(&users_path()).await;
    let (_, entries) = admin(
        &app,
        reqwest::Method::GET,
        &format!("/__admin/requests?path={}", users_path()),
        None,
    )
    .await;
    let warnings: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["warning"])
        .collect();
    assert_eq!(warnings.len(), 2, "{entries}");
    assert!(
        warnings.contains(&&json!("ignored: filters[nonsense]")),
        "{entries}"
    );
    assert!(warnings.contains(&&Value::Null), "{entries}");
}

#[tokio::test]
async fn strict_mode_refuses_what_it_would_ignore_naming_it_and_writes_nothing() {
    let app = strict().await;
    let before = app.active_user_ids().await;
    let response = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": "Typo", "email_address": "typo@x.example",
                             "permision_template_id": 3004}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert!(
        body["errors"]["user[permision_template_id]"].is_array(),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("user[permision_template_id]"),
        "{body}"
    );
    assert_eq!(app.active_user_ids().await, before);
    let list = app
        .get(&format!("{}?filters[nonsense]=1", users_path()))
        .await;
    assert_eq!(list.status(), 400);
    assert!(json(list).await["errors"]["filters[nonsense]"].is_array());
    let clean = app
        .post_json(
            &users_path(),
            &json!({"user": {"last_name": "Ok", "email_address": "ok@x.example"}}),
        )
        .await;
    assert_eq!(clean.status(), 201);
}

#[tokio::test]
async fn seed_only_behaviour_is_flagged_and_strict_mode_still_serves_it() {
    for app in [TestApp::spawn().await, strict().await] {
        let id = app.create_user("Gone", "gone@x.example").await;
        let deleted = app.delete(&format!("{}/{id}", users_path())).await;
        assert_eq!(deleted.status(), 204);
        assert_eq!(
            warning(&deleted),
            Some("seed-only, not in Procore's reference (documented profile): DELETE of a company user")
        );
        let list = app.get(&users_path()).await;
        assert_eq!(
            warning(&list),
            Some("seed-only, not in Procore's reference (documented profile): the X-Total header")
        );
        let by_login = app
            .post_json(
                &users_path(),
                &json!({"user": {"last_name": "L", "login": "l@x.example"}}),
            )
            .await;
        assert_eq!(by_login.status(), 201);
        assert_eq!(
            warning(&by_login),
            Some("seed-only, not in Procore's reference (documented profile): `login` in place of `email_address`")
        );
        let added = app
            .post_json(
                &format!("/rest/v1.0/projects/{PROJECT}/users"),
                &json!({"user": {"id": PRIYA_NO_PROJECTS}}),
            )
            .await;
        assert_eq!(added.status(), 201);
        assert_eq!(
            warning(&added),
            Some("seed-only, not in Procore's reference (documented profile): adding an existing company user by `id`")
        );
        let removed = app
            .delete(&format!(
                "/rest/v1.0/projects/{PROJECT}/users/{PRIYA_NO_PROJECTS}"
            ))
            .await;
        assert_eq!(removed.status(), 204);
        assert_eq!(
            warning(&removed),
            Some("seed-only, not in Procore's reference (documented profile): plain DELETE of a project user (Procore's is actions/remove)")
        );
    }
}
