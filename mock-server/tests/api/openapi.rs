//! The mock's own OpenAPI document: valid OpenAPI 3, held against the router in both
//! directions, and the copy in the repository kept equal to what is served.

use std::collections::BTreeSet;

use procore_mock::{MockServer, Profile};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// The committed copy (the `documented` profile, the default).
const COMMITTED: &str = "../docs/openapi.json";

/// A concrete path for a template, with ids of the default data.
fn concrete(path: &str) -> String {
    path.replace("{company_id}", &COMPANY.to_string())
        .replace("{project_id}", &PROJECT.to_string())
        .replace("{user_id}", &JANE.to_string())
        .replace("{version}", "1")
        .replace("{id}", "5101")
}

/// Whether an answer came from the router's fallbacks (no route, or no such method).
async fn fell_through(response: reqwest::Response) -> Option<String> {
    let status = response.status().as_u16();
    if status != 404 && status != 405 {
        return None;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    (message.starts_with("No route matches") || message.contains("is not allowed on"))
        .then_some(message)
}

async fn document_of(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await
}

#[tokio::test]
async fn the_served_document_is_the_committed_copy() {
    let app = TestApp::spawn().await;
    let served = document_of(&app).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p procore-mock --test api openapi`"
    );
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_for_both_profiles() {
    for profile in [Profile::Documented, Profile::Official] {
        let app = TestApp::start_server(MockServer::builder().profile(profile).start()).await;
        let document = document_of(&app).await;
        let parsed: openapiv3::OpenAPI =
            serde_json::from_value(document.clone()).expect("an OpenAPI 3.0 document");
        assert!(parsed.openapi.starts_with("3.0"));
        // Every path parameter is declared, every operation id is unique, and every
        // response schema compiles as JSON Schema.
        let mut ids = BTreeSet::new();
        for (path, item) in parsed.paths.iter() {
            let item = item.as_item().expect("inline path items");
            for (method, operation) in item.iter() {
                let id = operation.operation_id.clone().expect("an operationId");
                assert!(ids.insert(id.clone()), "duplicate operationId {id}");
                let declared: BTreeSet<String> = operation
                    .parameters
                    .iter()
                    .filter_map(|p| p.as_item())
                    .filter(|p| matches!(p, openapiv3::Parameter::Path { .. }))
                    .map(|p| p.parameter_data_ref().name.clone())
                    .collect();
                let in_path: BTreeSet<String> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                    .map(str::to_owned)
                    .collect();
                assert_eq!(declared, in_path, "{method} {path}");
            }
        }
        procore_schema::ProcoreSchema::from_document(&document).expect("schemas compile");
    }
}

#[tokio::test]
async fn every_operation_in_the_document_is_routed_for_its_profile() {
    for profile in [Profile::Documented, Profile::Official] {
        let app = TestApp::start_server(MockServer::builder().profile(profile).start()).await;
        let document = document_of(&app).await;
        let mut listed = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                listed.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
        if profile == Profile::Official {
            let extras = listed.iter().filter(|(m, _)| m == "DELETE");
            assert!(
                extras.clone().all(|(_, p)| {
                    // Procore's own DELETEs (removal from a project, hooks and triggers)
                    // and the admin API's.
                    p.ends_with("/actions/remove")
                        || p.starts_with("/rest/v1.0/webhooks/")
                        || p.starts_with("/__admin")
                }),
                "the official profile documents no seed-only DELETE: {:?}",
                extras.collect::<Vec<_>>()
            );
        }
        for (method, path) in &listed {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let response = app
                .request(method.clone(), &concrete(path))
                .send()
                .await
                .unwrap();
            if let Some(message) = fell_through(response).await {
                panic!("{method} {path} is documented but not routed: {message}");
            }
        }
        // A method the document does not list on a documented path is not served.
        let paths: BTreeSet<&String> = listed.iter().map(|(_, p)| p).collect();
        for path in paths {
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                if listed.contains(&(method.to_owned(), path.clone())) {
                    continue;
                }
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let response = app
                    .request(method.clone(), &concrete(path))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    405,
                    "{method} {path} is served but not documented ({profile:?})"
                );
            }
        }
    }
}

/// Every path literal the route modules register appears in the document, so a new route
/// cannot be added without describing it.
#[tokio::test]
async fn every_route_in_the_source_is_in_the_document() {
    let app = TestApp::spawn().await;
    let documented: BTreeSet<String> = document_of(&app).await["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let routes_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(routes_dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for literal in source.split('"').skip(1).step_by(2) {
            let literal = literal.replace("{{", "{").replace("}}", "}");
            // A route literal: under one of the served roots, past the root itself.
            let is_route = ["/rest/", "/oauth/", "/__admin/", "/avatars/", "/openapi"]
                .iter()
                .any(|root| literal.starts_with(root) && literal.len() > root.len())
                && !literal.contains(' ');
            if !is_route {
                continue;
            }
            if literal.starts_with("/rest/") && literal.contains("{version}") {
                for version in ["v1.0", "v1.1", "v1.3"] {
                    found.insert(literal.replace("{version}", version));
                }
            } else {
                found.insert(literal);
            }
        }
    }
    let missing: Vec<_> = found.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
}
