//! The mock's own OpenAPI document: valid OpenAPI 3, held against the router in both
//! directions, and the copy in the repository kept equal to what is served.

use std::collections::BTreeSet;

use procore_mock::{Config, MockServer, Profile};
use procore_schema::{ProcoreSchema, Quirk, Verdict};
use reqwest::Method;
use serde_json::{json as body_of, Value};

use crate::helpers::*;

/// The committed copy (the `documented` profile, the default).
const COMMITTED: &str = "../docs/openapi.json";

/// Crux Connect's path prefixes: every Crux route is nested under each.
const CRUX_PREFIXES: [&str; 2] = ["/organizations", "/timp/organizations"];
/// Jane Doe, a user of the default Crux organization.
const CRUX_JANE: &str = "5de38a8e-800e-4cba-84c5-ee6c27f304d8";

fn is_crux(path: &str) -> bool {
    CRUX_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(&format!("{prefix}/")))
}

/// A concrete path for a template, with ids of the default data.
fn concrete(path: &str) -> String {
    path.replace("{company_id}", &COMPANY.to_string())
        .replace("{project_id}", &PROJECT.to_string())
        .replace("{user_id}", &JANE.to_string())
        .replace("{version}", "1")
        .replace("{id}", "5101")
        .replace("{user_uuid}", CRUX_JANE)
}

/// Whether an answer came from the router's fallbacks (no route, or no such method), Procore's
/// or Crux's. The probes send no Crux token, so a routed Crux operation answers 401 (or 400 for
/// an empty login) before it could look a user up: Crux's `Not found.` is its fallback.
async fn fell_through(response: reqwest::Response) -> Option<String> {
    let status = response.status().as_u16();
    if status != 404 && status != 405 {
        return None;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    let detail = body["detail"].as_str().unwrap_or_default().to_owned();
    if message.starts_with("No route matches") || message.contains("is not allowed on") {
        Some(message)
    } else if detail == "Not found." || detail.ends_with("not allowed.") {
        Some(detail)
    } else {
        None
    }
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
                    // Procore's own DELETEs (removal from a project, hooks and triggers),
                    // the admin API's and Crux's.
                    p.ends_with("/actions/remove")
                        || p.starts_with("/rest/v1.0/webhooks/")
                        || p.starts_with("/__admin")
                        || is_crux(p)
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
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        if path.file_name().is_some_and(|name| name == "crux.rs") {
            // The Crux module nests each of its routes under every Crux prefix.
            for literal in route_literals(&source) {
                for prefix in CRUX_PREFIXES {
                    found.insert(format!("{prefix}{literal}"));
                }
            }
            continue;
        }
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
    assert!(
        found.iter().filter(|p| is_crux(p)).count() >= 2 * 5,
        "the scan sees Crux's routes: {found:?}"
    );
    let missing: Vec<_> = found.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
}

/// The path of each `.route("...", ...)` call in a module's source.
fn route_literals(source: &str) -> Vec<String> {
    source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"'))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Every Crux operation is documented under both prefixes, with Crux's tag, token and error
/// shape; `--no-crux` leaves all of it out, as it leaves the routes out.
#[tokio::test]
async fn crux_is_in_the_document_exactly_when_it_is_served() {
    let on = document_of(&TestApp::spawn().await).await;
    let config = Config {
        no_crux: true,
        ..Config::default()
    };
    let off =
        document_of(&TestApp::start_server(MockServer::builder().config(config).start()).await)
            .await;
    let operations = |document: &Value, prefix: &str| -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            if let Some(rest) = path.strip_prefix(prefix) {
                for method in item.as_object().unwrap().keys() {
                    found.insert((method.clone(), rest.to_owned()));
                }
            }
        }
        found
    };
    let expected: BTreeSet<(String, String)> = [
        ("post", "/user-login/"),
        ("get", "/users/all/"),
        ("get", "/users/detail/{user_uuid}/"),
        ("get", "/all_permissions/"),
        ("get", "/users/permissions/{user_uuid}/"),
        ("patch", "/users/permissions/{user_uuid}/"),
        ("delete", "/users/permissions/{user_uuid}/"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    for prefix in CRUX_PREFIXES {
        assert_eq!(operations(&on, &format!("{prefix}/")).len(), 7);
        let relative: BTreeSet<_> = operations(&on, prefix);
        assert_eq!(relative, expected, "{prefix}");
        assert!(operations(&off, prefix).is_empty(), "--no-crux: {prefix}");
    }
    let grant = &on["paths"]["/timp/organizations/users/permissions/{user_uuid}/"]["patch"];
    assert_eq!(grant["tags"], body_of!(["crux"]));
    assert_eq!(grant["security"], body_of!([{"cruxToken": []}]));
    assert_eq!(
        grant["requestBody"]["content"]["application/json"]["schema"]["required"],
        body_of!(["permission_uuids"])
    );
    assert!(
        grant["responses"]["403"]["content"]["application/json"]["schema"]["properties"]["detail"]
            .is_object()
    );
    let login = &on["paths"]["/organizations/user-login/"]["post"];
    assert!(login.get("security").is_none(), "the login needs no token");
    assert_eq!(
        on["components"]["securitySchemes"]["cruxToken"]["name"],
        "Authorization"
    );
    let tags = |document: &Value| -> Vec<Value> {
        document["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect()
    };
    assert!(tags(&on).contains(&body_of!("crux")));
    assert!(!tags(&off).contains(&body_of!("crux")));
    assert!(off["components"]["securitySchemes"]
        .get("cruxToken")
        .is_none());
}

/// Every Crux answer, successes and each error, is described by the document: its status is
/// declared and its body validates against the schema declared for it.
#[tokio::test]
async fn crux_answers_validate_against_the_document() {
    let app = TestApp::spawn().await;
    let own = ProcoreSchema::from_document(&document_of(&app).await).expect("compiles");
    let client = reqwest::Client::new();
    let login = |prefix: &str, body: Value| {
        client
            .post(app.url(&format!("{prefix}/user-login/")))
            .json(&body)
    };
    let token_of = |username: &str, password: &str| {
        let request = login(
            "/organizations",
            body_of!({"username": username, "password": password}),
        );
        async move {
            json(request.send().await.unwrap()).await["auth_token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let admin = token_of("crux-admin@summit-builders.example", "crux-admin-password").await;
    let viewer = token_of(
        "crux-viewer@summit-builders.example",
        "crux-viewer-password",
    )
    .await;
    let view_order = "2a0295b6-dd74-4239-9988-24fcdb1adcea";
    let grant = body_of!({"permission_uuids": [view_order]});
    let mut seen = BTreeSet::new();
    let mut differences = Vec::new();
    for prefix in CRUX_PREFIXES {
        let jane = format!("{prefix}/users/permissions/{CRUX_JANE}/");
        let call = |method: Method, path: &str, token: Option<&str>, body: Option<&Value>| {
            let mut request = client.request(method, app.url(path));
            if let Some(token) = token {
                request = request.header("Authorization", format!("Token {token}"));
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            request
        };
        let requests = vec![
            (
                "POST",
                login(
                    prefix,
                    body_of!({"username": "crux-admin@summit-builders.example", "password": "crux-admin-password"}),
                ),
            ),
            (
                "POST",
                login(
                    prefix,
                    body_of!({"username": "crux-admin@summit-builders.example", "password": "wrong"}),
                ),
            ),
            ("POST", login(prefix, body_of!({"username": ""}))),
            (
                "POST",
                client
                    .post(app.url(&format!("{prefix}/user-login/")))
                    .header("Content-Type", "text/plain")
                    .body("username=x"),
            ),
            (
                "GET",
                call(
                    Method::GET,
                    &format!("{prefix}/users/all/"),
                    Some(&admin),
                    None,
                ),
            ),
            (
                "GET",
                call(Method::GET, &format!("{prefix}/users/all/"), None, None),
            ),
            (
                "GET",
                call(
                    Method::GET,
                    &format!("{prefix}/users/detail/{CRUX_JANE}/"),
                    Some(&viewer),
                    None,
                ),
            ),
            (
                "GET",
                call(
                    Method::GET,
                    &format!("{prefix}/users/detail/not-a-uuid/"),
                    Some(&viewer),
                    None,
                ),
            ),
            (
                "GET",
                call(
                    Method::GET,
                    &format!("{prefix}/all_permissions/"),
                    Some(&admin),
                    None,
                ),
            ),
            ("GET", call(Method::GET, &jane, Some(&admin), None)),
            (
                "PATCH",
                call(Method::PATCH, &jane, Some(&admin), Some(&grant)),
            ),
            (
                "PATCH",
                call(Method::PATCH, &jane, Some(&viewer), Some(&grant)),
            ),
            (
                "PATCH",
                call(
                    Method::PATCH,
                    &jane,
                    Some(&admin),
                    Some(&body_of!({"permission_uuids": ["abc"]})),
                ),
            ),
            (
                "PATCH",
                call(Method::PATCH, &jane, Some(&admin), Some(&body_of!({}))),
            ),
            (
                "DELETE",
                call(Method::DELETE, &jane, Some(&admin), Some(&grant)),
            ),
            (
                "DELETE",
                call(Method::DELETE, &jane, Some("no-such-token"), Some(&grant)),
            ),
        ];
        for (method, request) in requests {
            let response = request.send().await.unwrap();
            let path = response.url().path().to_owned();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            seen.insert(status);
            match own.check(method, &path, status, &body) {
                Verdict::Conforms { quirks, .. }
                    if !quirks.contains(&Quirk::UndeclaredErrorStatus) => {}
                other => differences.push(format!("{method} {path} -> {status} {body}: {other:?}")),
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert_eq!(
        seen,
        BTreeSet::from([200, 400, 401, 403, 404, 415]),
        "the sweep sees every status"
    );
}

/// Every API operation (Procore's, the webhooks', Crux's) declares the optional
/// `X-Procore-Mock-Warning` header on each of its answers and, on a `--strict` server, the
/// 400 strict mode answers; the control plane, OAuth and the document itself do not warn and
/// declare neither.
#[tokio::test]
async fn every_api_operation_declares_the_warning_header_and_the_strict_400() {
    let config = Config {
        strict: true,
        ..Config::default()
    };
    let app = TestApp::start_server(MockServer::builder().config(config).start()).await;
    let document = document_of(&app).await;
    let declared = &document["components"]["headers"]["X-Procore-Mock-Warning"];
    assert_eq!(declared["required"], false);
    assert_eq!(declared["schema"]["type"], "string");
    let mut api_operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let api = path.starts_with("/rest/") || is_crux(path);
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                let header = &response["headers"]["X-Procore-Mock-Warning"];
                if api {
                    assert_eq!(
                        header["$ref"], "#/components/headers/X-Procore-Mock-Warning",
                        "{method} {path} {status}"
                    );
                } else {
                    assert!(header.is_null(), "{method} {path} {status} does not warn");
                }
            }
            if api {
                api_operations += 1;
                let strict = responses["400"]["description"].as_str().unwrap_or_default();
                assert!(strict.contains("--strict"), "{method} {path}: {strict}");
            }
        }
    }
    assert!(api_operations > 40, "{api_operations} API operations");
    // A lenient server never answers a Crux read with a 400, so its document does not say it
    // may; Procore's operations declare their 400 either way (a malformed parameter).
    let lenient = document_of(&TestApp::spawn().await).await;
    assert!(lenient["paths"]["/organizations/users/all/"]["get"]["responses"]["400"].is_null());
    let users = &lenient["paths"]["/rest/v1.0/companies/{company_id}/users"]["get"];
    assert!(users["responses"]["400"]["description"]
        .as_str()
        .unwrap()
        .contains("--strict"));
}

/// The query parameters the document marks as documented by Procore and not applied by the
/// mock are exactly what the answers name as such: each, sent alone, comes back in the
/// `not applied` warning (the document and the server read Procore's reference the same way).
#[tokio::test]
async fn each_parameter_the_document_marks_not_applied_is_warned_about_as_such() {
    let app = TestApp::with_profile(Profile::Official).await;
    let document = document_of(&app).await;
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else {
            continue;
        };
        for parameter in operation["parameters"].as_array().unwrap() {
            if parameter["x-procore-mock-not-applied"] != true {
                continue;
            }
            let name = parameter["name"].as_str().unwrap();
            let mut query = form_urlencoded::Serializer::new(String::new());
            let takes_company =
                operation["parameters"].as_array().unwrap().iter().any(|p| {
                    p["in"] == "query" && p["name"] == "company_id" && p["required"] == true
                });
            if takes_company {
                query.append_pair("company_id", &COMPANY.to_string());
            }
            query.append_pair(name, "1");
            let response = app
                .get(&format!("{}?{}", concrete(path), query.finish()))
                .await;
            let warning = header(&response, "x-procore-mock-warning").unwrap_or_default();
            assert!(
                warning.starts_with("not applied") && warning.ends_with(&format!(": {name}")),
                "GET {path}?{name}: {warning:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} parameters checked");
}
