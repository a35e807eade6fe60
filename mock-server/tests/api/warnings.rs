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

/// The "not applied" warning every route family gives a parameter Procore documents for the
/// operation and the mock does not emulate.
fn not_applied(names: &str) -> String {
    format!("not applied (documented by Procore, not emulated by the mock): {names}")
}

#[tokio::test]
async fn the_company_list_and_me_name_what_they_ignore_and_what_they_do_not_apply() {
    let app = official().await;
    let companies = app
        .get("/rest/v1.0/companies?include_free_companies=true&colour=red&per_page=5")
        .await;
    assert_eq!(companies.status(), 200);
    assert_eq!(
        warning(&companies),
        Some(format!("ignored: colour; {}", not_applied("include_free_companies")).as_str())
    );
    let me = app
        .get(&format!("/rest/v1.0/me?company_id={COMPANY}"))
        .await;
    assert_eq!(me.status(), 200);
    assert_eq!(warning(&me), Some(not_applied("company_id").as_str()));
    let clean = app.get("/rest/v1.0/companies?page=1&per_page=5").await;
    assert_eq!(warning(&clean), None);
}

#[tokio::test]
async fn both_project_lists_name_a_typo_apart_from_a_documented_filter_they_do_not_apply() {
    let app = official().await;
    for version in ["v1.0", "v1.1"] {
        let response = app
            .get(&format!(
                "/rest/{version}/projects?company_id={COMPANY}&filters[by_status]=Active\
                 &filtres[name]=Tower&filters[id][]=1&per_page=10"
            ))
            .await;
        assert_eq!(response.status(), 200, "{version}");
        assert_eq!(
            warning(&response),
            Some(
                format!(
                    "ignored: filtres[name]; {}",
                    not_applied("filters[by_status], filters[id][]")
                )
                .as_str()
            ),
            "{version}"
        );
        let clean = app
            .get(&format!(
                "/rest/{version}/projects?company_id={COMPANY}&page=1"
            ))
            .await;
        assert_eq!(warning(&clean), None, "{version}");
    }
}

#[tokio::test]
async fn vendors_warn_under_both_path_styles() {
    let app = official().await;
    let lists = [
        format!("/rest/v1.0/vendors?company_id={COMPANY}&filters[search]=acme&colour=red"),
        format!("/rest/v1.0/companies/{COMPANY}/vendors?filters[search]=acme&colour=red"),
    ];
    for path in &lists {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            warning(&response),
            Some(format!("ignored: colour; {}", not_applied("filters[search]")).as_str()),
            "{path}"
        );
    }
    let list = json(app.get(&lists[0]).await).await;
    let vendor = list[0]["id"]
        .as_u64()
        .expect("a vendor in the default data");
    let shows = [
        format!("/rest/v1.0/vendors/{vendor}?company_id={COMPANY}&view=compact"),
        format!("/rest/v1.0/companies/{COMPANY}/vendors/{vendor}?view=compact"),
    ];
    for path in &shows {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            warning(&response),
            Some(not_applied("view").as_str()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn permission_template_lists_warn_for_company_and_project() {
    let app = official().await;
    let company = app
        .get(&format!(
            "/rest/v1.0/companies/{COMPANY}/permission_templates?filters[type]=project_tools&view=full&sort=name"
        ))
        .await;
    assert_eq!(company.status(), 200);
    assert_eq!(
        warning(&company),
        Some(format!("ignored: sort; {}", not_applied("view")).as_str())
    );
    let project = app
        .get(&format!(
            "/rest/v1.0/projects/{PROJECT}/permission_templates?filters[assignables_only]=true"
        ))
        .await;
    assert_eq!(project.status(), 200);
    assert_eq!(
        warning(&project),
        Some(not_applied("filters[assignables_only]").as_str())
    );
}

#[tokio::test]
async fn user_routes_without_parameters_warn_too() {
    let app = TestApp::spawn().await;
    let shown = app
        .get(&format!("{}/{JANE}?view=extended", users_path()))
        .await;
    assert_eq!(shown.status(), 200);
    assert_eq!(warning(&shown), Some("ignored: view"));
    let member = app
        .get(&format!(
            "/rest/v1.0/projects/{PROJECT}/users/{JANE}?verbose=1"
        ))
        .await;
    assert_eq!(member.status(), 200);
    assert_eq!(warning(&member), Some("ignored: verbose"));
    // Adding with no body still reads its query.
    let added = app
        .request(
            reqwest::Method::POST,
            &format!(
                "/rest/v1.0/projects/{PROJECT}/users/{PRIYA_NO_PROJECTS}/actions/add?notify=1"
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    assert_eq!(warning(&added), Some("ignored: notify"));
}

#[tokio::test]
async fn a_documented_user_field_the_project_user_update_does_not_apply_is_named_as_such() {
    let app = TestApp::spawn().await;
    let response = app
        .patch_json(
            &format!("/rest/v1.0/projects/{PROJECT}/users/{JANE}"),
            &json!({"user": {"is_active": true, "job_title": "Boss", "job_titel": "Boss"}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        warning(&response),
        Some(
            format!(
                "ignored: user[job_titel]; {}",
                not_applied("user[job_title]")
            )
            .as_str()
        )
    );
    let created = app
        .post_json(
            &format!("{}?run_configurable_validations=true", users_path()),
            &json!({"user": {"last_name": "Rcv", "email_address": "rcv@x.example"}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        warning(&created),
        Some(not_applied("run_configurable_validations").as_str())
    );
}

#[tokio::test]
async fn webhook_hooks_and_triggers_name_unknown_fields_and_parameters() {
    let app = TestApp::spawn().await;
    let created = app
        .post_json(
            "/rest/v1.0/webhooks/hooks",
            &json!({
                "company_id": COMPANY,
                "colour": "red",
                "hook": {"namespace": "warned", "destination_url": "http://127.0.0.1:9/in",
                         "destination_urls": ["http://127.0.0.1:9/other"]},
            }),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        warning(&created),
        Some("ignored: colour, hook[destination_urls]")
    );
    let hook = json(created).await["id"].as_u64().unwrap();
    let listed = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks?company_id={COMPANY}&namespace=warned&nmespace=x"
        ))
        .await;
    assert_eq!(listed.status(), 200);
    assert_eq!(warning(&listed), Some("ignored: nmespace"));
    let trigger = app
        .post_json(
            &format!("/rest/v1.0/webhooks/hooks/{hook}/triggers"),
            &json!({"company_id": COMPANY, "namespace": "warned",
                    "trigger": {"resource_name": "Company Users", "event_type": "create",
                                "resource_id": 7}}),
        )
        .await;
    assert_eq!(trigger.status(), 201);
    assert_eq!(warning(&trigger), Some("ignored: trigger[resource_id]"));
    // Procore's guide sends `api_version` beside `trigger`: read and checked, not warned about.
    let documented = app
        .post_json(
            &format!("/rest/v1.0/webhooks/hooks/{hook}/triggers"),
            &json!({"company_id": COMPANY, "namespace": "warned", "api_version": "v2",
                    "trigger": {"resource_name": "Company Users", "event_type": "update"}}),
        )
        .await;
    assert_eq!(documented.status(), 201);
    assert_eq!(warning(&documented), None);
    let unknown_version = app
        .post_json(
            &format!("/rest/v1.0/webhooks/hooks/{hook}/triggers"),
            &json!({"company_id": COMPANY, "namespace": "warned", "api_version": "v9",
                    "trigger": {"resource_name": "Company Users", "event_type": "delete"}}),
        )
        .await;
    assert_eq!(unknown_version.status(), 422);
    let shown = app
        .get(&format!(
            "/rest/v1.0/webhooks/hooks/{hook}?company_id={COMPANY}&namespace=warned"
        ))
        .await;
    assert_eq!(shown.status(), 200);
    assert_eq!(warning(&shown), None);
}

#[tokio::test]
async fn strict_mode_refuses_on_every_route_family_and_writes_nothing() {
    let app = strict().await;
    let refused = |response: Response, name: &'static str| async move {
        assert_eq!(response.status(), 400, "{name}");
        let body = json(response).await;
        assert!(body["errors"][name].is_array(), "{name}: {body}");
    };
    refused(app.get("/rest/v1.0/companies?colour=red").await, "colour").await;
    refused(app.get("/rest/v1.0/me?project_id=1").await, "project_id").await;
    // A documented parameter the mock does not apply is refused too, saying why.
    let projects = app
        .get(&format!(
            "/rest/v1.1/projects?company_id={COMPANY}&filters[by_status]=Active"
        ))
        .await;
    assert_eq!(projects.status(), 400);
    let body = json(projects).await;
    let why = body["errors"]["filters[by_status]"][0].as_str().unwrap();
    assert!(why.contains("documented by Procore"), "{body}");
    refused(
        app.get(&format!(
            "/rest/v1.0/vendors?company_id={COMPANY}&colour=red"
        ))
        .await,
        "colour",
    )
    .await;
    refused(
        app.get(&format!(
            "/rest/v1.0/projects/{PROJECT}/permission_templates?colour=red"
        ))
        .await,
        "colour",
    )
    .await;
    let hooks = format!("/rest/v1.0/webhooks/hooks?company_id={COMPANY}");
    let before = json(app.get(&hooks).await).await;
    refused(
        app.post_json(
            "/rest/v1.0/webhooks/hooks",
            &json!({"company_id": COMPANY,
                    "hook": {"destination_url": "http://127.0.0.1:9/in", "colour": "red"}}),
        )
        .await,
        "hook[colour]",
    )
    .await;
    assert_eq!(json(app.get(&hooks).await).await, before, "no hook written");
    let removed = app
        .request(
            reqwest::Method::DELETE,
            &format!("/rest/v1.0/projects/{PROJECT}/users/{JANE}/actions/remove?force=1"),
        )
        .send()
        .await
        .unwrap();
    refused(removed, "force").await;
    assert!(app.member_ids(PROJECT).await.contains(&JANE), "not removed");
}
