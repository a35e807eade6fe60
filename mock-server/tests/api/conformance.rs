//! Every answer the mock gives for an operation Procore documents validates against Procore's
//! published schema for that operation and status (`procore-schema`), over a broad sweep of
//! requests: each list with its filters, sorts, views and pages; each read, write and error.
//!
//! Each answer is also checked against the mock's own document (`GET /openapi.json`), so that
//! document describes every status and body the sweep sees.
//!
//! Known looseness of Procore's document is handled by `procore-schema` and named in each
//! verdict (see `docs/divergences.md`); nothing else is excused here.

use std::collections::BTreeSet;

use procore_mock::{MockServer, Profile};
use procore_schema::{ProcoreSchema, Quirk, Verdict};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// One request of the sweep.
enum Body {
    None,
    Json(Value),
    /// Multipart parts as (name, text).
    Multipart(Vec<(&'static str, String)>),
}

fn sweep(company: u64, project: u64, fresh_user: u64) -> Vec<(Method, String, Body)> {
    use Body::*;
    let users = format!("/rest/v1.0/companies/{company}/users");
    let mut requests = vec![
        (Method::GET, "/rest/v1.0/companies".to_owned(), None),
        (Method::GET, "/rest/v1.0/companies?per_page=1&page=2".to_owned(), None),
        (Method::GET, "/rest/v1.0/me".to_owned(), None),
        (Method::GET, format!("/rest/v1.0/projects?company_id={company}"), None),
        (Method::GET, "/rest/v1.0/projects".to_owned(), None),
        (Method::GET, format!("/rest/v1.1/projects?company_id={company}&per_page=300"), None),
        (Method::GET, format!("/rest/v1.0/vendors?company_id={company}"), None),
        (Method::GET, format!("/rest/v1.0/vendors/2001?company_id={company}"), None),
        (Method::GET, format!("/rest/v1.0/vendors/999999?company_id={company}"), None),
        (Method::GET, format!("/rest/v1.0/companies/{company}/permission_templates"), None),
        (Method::GET, format!("/rest/v1.0/companies/{company}/permission_templates?filters[type]=company_tools"), None),
        (Method::GET, format!("/rest/v1.0/companies/{company}/permission_templates?filters[type]=global"), None),
        (Method::GET, format!("/rest/v1.0/companies/{company}/permission_templates?filters[type]=bogus"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/permission_templates"), None),
        (Method::GET, format!("/rest/v1.0/projects/{OTHER_PROJECT}/permission_templates"), None),
        (Method::GET, format!("{users}/inactive"), None),
        (Method::GET, format!("{users}/inactive?sort=name&per_page=1"), None),
        (Method::GET, format!("{users}/{JANE}"), None),
        (Method::GET, format!("{users}/{MARIA_INACTIVE}"), None),
        (Method::GET, format!("{users}/5001"), None),
        (Method::GET, format!("{users}/999999"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users?filters[search]=doe&per_page=1"), None),
        (Method::GET, format!("/rest/v1.0/projects/{OTHER_PROJECT}/users"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users/{JANE}"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users/5102"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users/{PRIYA_NO_PROJECTS}"), None),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users?per_page=abc"), None),
        (Method::POST, users.clone(), Json(json!({"user": {"last_name": "Sweep", "email_address": "sweep@x.example"}}))),
        (Method::POST, users.clone(), Json(json!({"user": {"first_name": "Full", "last_name": "Sweep", "email_address": "full@x.example", "job_title": "PM", "vendor_id": 2001, "default_permission_template_id": 3001, "company_permission_template_id": 3004, "origin_id": "hr-9", "country_code": "US", "state_code": "CO", "is_employee": true, "employee_id": "E9", "business_phone_extension": 12}}))),
        (Method::POST, users.clone(), Json(json!({"user": {"last_name": "Sweep", "email_address": "sweep@x.example"}}))),
        (Method::POST, users.clone(), Json(json!({"user": {"last_name": "", "email_address": "blank@x.example"}}))),
        (Method::POST, users.clone(), Json(json!({"last_name": "Flat"}))),
        (Method::POST, users.clone(), Multipart(vec![("user", json!({"last_name": "Parts", "email_address": "parts@x.example"}).to_string())])),
        (Method::PATCH, format!("{users}/{fresh_user}"), Json(json!({"user": {"job_title": "Foreman", "is_employee": "true"}}))),
        (Method::PATCH, format!("{users}/{fresh_user}"), Multipart(vec![("user", json!({"job_title": "Lead"}).to_string())])),
        (Method::PATCH, format!("{users}/{fresh_user}"), Json(json!({"user": {"vendor_id": 999999}}))),
        (Method::PATCH, format!("/rest/v1.3/companies/{company}/users/{fresh_user}"), Json(json!({"user": {"last_name": "Sweep", "email_address": "fresh@x.example", "country_code": "US", "state_code": "CO"}}))),
        (Method::PATCH, format!("/rest/v1.3/companies/{company}/users/{fresh_user}"), Json(json!({"user": {"last_name": "Sweep"}}))),
        (Method::PATCH, format!("/rest/v1.3/companies/{company}/users/{fresh_user}"), Json(json!({"user": {"last_name": "Sweep", "email_address": "fresh@x.example", "country_code": "ZZ"}}))),
        (Method::PATCH, format!("{users}/sync"), Json(json!({"updates": [{"last_name": "Synced", "email_address": "synced@x.example", "origin_id": "sync-1"}, {"id": 999999}, {"id": fresh_user, "job_title": "Synced"}]}))),
        (Method::PATCH, format!("{users}/sync"), Multipart(vec![("updates", json!([{"origin_id": "sync-2", "last_name": "Parts", "email_address": "sync2@x.example"}]).to_string())])),
        (Method::PATCH, format!("{users}/sync"), Json(json!({"updates": "nope"}))),
        (Method::PATCH, format!("{users}/{fresh_user}"), Json(json!({"user": {"is_active": false}}))),
        (Method::GET, format!("{users}/inactive"), None),
        (Method::PATCH, format!("{users}/inactive/{fresh_user}"), None),
        (Method::PATCH, format!("{users}/inactive/{fresh_user}"), None),
        (Method::POST, format!("/rest/v1.0/projects/{project}/users/{fresh_user}/actions/add"), Json(json!({"user": {"permission_template_id": SUB_TEMPLATE}}))),
        (Method::POST, format!("/rest/v1.0/projects/{project}/users/{fresh_user}/actions/add"), Json(json!({"user": {"permission_template_id": SUB_TEMPLATE}}))),
        (Method::POST, format!("/rest/v1.0/projects/{project}/users/{PRIYA_NO_PROJECTS}/actions/add"), Json(json!({"permission_template_id": SUB_TEMPLATE}))),
        (Method::PATCH, format!("/rest/v1.0/projects/{project}/users/{fresh_user}"), Json(json!({"user": {"is_active": false}}))),
        (Method::GET, format!("/rest/v1.0/projects/{project}/users/{fresh_user}"), None),
        (Method::DELETE, format!("/rest/v1.0/projects/{project}/users/{fresh_user}/actions/remove"), None),
        (Method::DELETE, format!("/rest/v1.0/projects/{project}/users/{fresh_user}/actions/remove"), None),
        (Method::POST, format!("/rest/v1.0/projects/{project}/users"), Json(json!({"user": {"last_name": "Onsite", "email_address": "onsite@x.example", "permission_template_id": SUB_TEMPLATE}}))),
        (Method::POST, format!("/rest/v1.0/projects/{project}/users"), Json(json!({"user": {"last_name": "Onsite", "email_address": "onsite@x.example"}}))),
    ];
    for version in ["v1.0", "v1.1", "v1.3"] {
        let list = format!("/rest/{version}/companies/{company}/users");
        for query in [
            "",
            "?per_page=2&page=2",
            "?page=99",
            "?filters[search]=doe&sort=-name",
            "?sort=vendor_name,email",
            "?filters[vendor_id][]=2001",
            "?filters[origin_id]=hr-1001",
            "?filters[created_at]=2024-01-01...2024-12-31",
            "?updated_after=2024-04-01T13:20:00Z",
            "?filters[created_at]=yesterday",
            "?sort=shoe_size",
        ] {
            requests.push((Method::GET, format!("{list}{query}"), None));
        }
    }
    // `view` is v1.3's (on v1.0 and v1.1 it is a ledgered extra: docs/divergences.md).
    for view in ["normal", "extended", "ids_only"] {
        let list = format!("/rest/v1.3/companies/{company}/users?view={view}");
        requests.push((Method::GET, list, None));
    }
    requests
}

/// Sends every request of the sweep and checks each answer against Procore's document.
async fn check_sweep(app: &TestApp, schema: &ProcoreSchema) -> BTreeSet<String> {
    let served: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("the document")
        .json()
        .await
        .expect("JSON");
    let own = ProcoreSchema::from_document(&served).expect("the mock's document compiles");
    let fresh_user = app.create_user("Fresh", "fresh@x.example").await;
    let mut differences = Vec::new();
    let mut checked = BTreeSet::new();
    for (method, path_and_query, body) in sweep(COMPANY, PROJECT, fresh_user) {
        let mut request = app.request(method.clone(), &path_and_query);
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, text) in parts {
                    form = form.text(name, text);
                }
                request.multipart(form)
            }
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        let path = path_and_query.split('?').next().unwrap_or_default();
        // The mock's own document describes the answer too (status and body).
        match own.check(method.as_str(), path, status, &body) {
            Verdict::Conforms { quirks, .. } if !quirks.contains(&Quirk::UndeclaredErrorStatus) => {
            }
            other => differences.push(format!(
                "{method} {path_and_query} -> {status} against /openapi.json: {other:?}"
            )),
        }
        match schema.check(method.as_str(), path, status, &body) {
            Verdict::Conforms { operation_id, .. } => {
                if status < 300 {
                    checked.insert(operation_id);
                }
            }
            Verdict::Differs {
                operation_id,
                differences: found,
                ..
            } => differences.push(format!(
                "{method} {path_and_query} -> {status} ({operation_id}): {found:#?}"
            )),
            Verdict::Undocumented => panic!("{method} {path} is not in Procore's document"),
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    checked
}

#[tokio::test]
async fn every_answer_of_the_official_profile_validates_against_procores_schema() {
    let schema = ProcoreSchema::embedded();
    let app = TestApp::with_profile(Profile::Official).await;
    let checked = check_sweep(&app, &schema).await;
    let every: BTreeSet<String> = schema.operation_ids().map(str::to_owned).collect();
    let missed: Vec<_> = every.difference(&checked).collect();
    assert!(
        missed.is_empty(),
        "no successful answer checked for {missed:?}"
    );
}

#[tokio::test]
async fn every_answer_of_the_documented_profile_validates_against_procores_schema() {
    let schema = ProcoreSchema::embedded();
    let app =
        TestApp::start_server(MockServer::builder().profile(Profile::Documented).start()).await;
    check_sweep(&app, &schema).await;
}

/// The differences `docs/divergences.md` records as chosen: each must still be seen by the
/// check, so a ledger row cannot outlive the difference it describes.
#[tokio::test]
async fn ledgered_differences_are_still_seen_by_the_check() {
    let schema = ProcoreSchema::embedded();
    let app = TestApp::spawn().await;
    // Row "`view` on v1.0 and v1.1 lists".
    let path = format!("/rest/v1.0/companies/{COMPANY}/users");
    let body = json(app.get(&format!("{path}?view=ids_only")).await).await;
    assert!(schema.check("GET", &path, 200, &body).differs());
}
