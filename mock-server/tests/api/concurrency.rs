//! Concurrent requests never lose updates or break uniqueness.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_over_duplicate_emails_make_exactly_one_user_per_email() {
    let app = TestApp::spawn().await;
    let before = app.active_user_ids().await.len();
    let path = format!("/rest/v1.0/companies/{COMPANY}/users");
    let creates = (0..200).map(|i| {
        let body = json!({"user": {"last_name": format!("Racer {i}"), "email_address": format!("racer{}@race.example", i % 50)}});
        let request = app.request(reqwest::Method::POST, &path).json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(creates).await;
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 50);
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 150);
    assert_eq!(app.active_user_ids().await.len(), before + 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_patches_of_different_fields_all_land() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}");
    let fields = [
        "job_title",
        "address",
        "city",
        "zip",
        "mobile_phone",
        "fax_number",
        "notes",
        "email_signature",
    ];
    let patches = fields.iter().map(|field| {
        let request = app
            .request(reqwest::Method::PATCH, &path)
            .json(&json!({"user": {*field: format!("set {field}")}}));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    assert!(join_all(patches).await.iter().all(|&s| s == 200));
    let jane = json(app.get(&path).await).await;
    for field in fields {
        assert_eq!(jane[field], format!("set {field}"), "{field} was lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_adds_of_one_user_to_one_project_admit_exactly_one() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/projects/{PROJECT}/users/{PRIYA_NO_PROJECTS}/actions/add");
    let adds = (0..20).map(|_| {
        let request = app
            .request(reqwest::Method::POST, &path)
            .json(&json!({"user": {"permission_template_id": SUB_TEMPLATE}}));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(adds).await;
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1);
    assert_eq!(statuses.iter().filter(|&&s| s == 422).count(), 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_syncs_of_one_new_origin_id_create_exactly_one_user() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/companies/{COMPANY}/users/sync");
    let syncs = (0..8).map(|i| {
        let body = json!({"updates": [{"origin_id": "hr-race", "last_name": format!("Racer {i}"), "email_address": "racer@race.example"}]});
        let request = app.request(reqwest::Method::PATCH, &path).json(&body);
        async move { json(request.send().await.unwrap()).await }
    });
    let answers = join_all(syncs).await;
    assert!(
        answers
            .iter()
            .all(|a| a["errors"].as_array().unwrap().is_empty()),
        "later syncs update the user the first created"
    );
    let listed = json(
        app.get(&format!(
            "/rest/v1.0/companies/{COMPANY}/users?filters[origin_id]=hr-race"
        ))
        .await,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adding_an_existing_user_by_id_never_answers_404_while_removes_race_it() {
    // The add released the company's write lock before reading the member back for its
    // answer, so a remove landing in between turned a successful add into a 404. A large sync
    // holds the lock meanwhile, so the add and the remove queue up behind it and the remove
    // is handed the lock the moment the add lets go.
    let app = TestApp::spawn().await;
    let add_path = format!("/rest/v1.0/projects/{PROJECT}/users");
    let remove_path =
        format!("/rest/v1.0/projects/{PROJECT}/users/{PRIYA_NO_PROJECTS}/actions/remove");
    let sync_path = format!("/rest/v1.0/companies/{COMPANY}/users/sync");
    let updates: Vec<Value> = (0..1000)
        .map(|i| json!({"id": JANE, "job_title": format!("Title {i}")}))
        .collect();
    let sync_body = json!({ "updates": updates });
    for _ in 0..5 {
        let sync = app
            .request(reqwest::Method::PATCH, &sync_path)
            .json(&sync_body)
            .send();
        let adds = (0..4).map(|_| {
            let request = app
                .request(reqwest::Method::POST, &add_path)
                .json(&json!({"user": {"id": PRIYA_NO_PROJECTS}}));
            async move { request.send().await.unwrap().status().as_u16() }
        });
        let removes = (0..4).map(|_| {
            let request = app.request(reqwest::Method::DELETE, &remove_path);
            async move { request.send().await.unwrap().status().as_u16() }
        });
        let (synced, added, removed) = futures::join!(sync, join_all(adds), join_all(removes));
        assert_eq!(synced.unwrap().status().as_u16(), 200);
        assert!(
            added.iter().all(|&s| s == 201 || s == 422),
            "an add answers 201 or, when the user is already a member, 422: {added:?}"
        );
        assert!(removed.iter().all(|&s| s == 204 || s == 404), "{removed:?}");
    }
}
