//! Pagination: `page`/`per_page`, the `Total`/`Per-Page`/`Link`/`X-Total` headers, past the end.

use std::collections::HashMap;

use procore_mock::Profile;

use crate::helpers::*;

fn list(query: &str) -> String {
    format!("/rest/v1.0/companies/{COMPANY}/users?{query}")
}

/// `rel` -> URL from a `Link` header.
fn links(response: &reqwest::Response) -> HashMap<String, String> {
    let Some(value) = header(response, "link") else {
        return HashMap::new();
    };
    value
        .split(", ")
        .map(|entry| {
            let (url, rel) = entry.split_once("; ").unwrap();
            let url = url.trim_start_matches('<').trim_end_matches('>');
            let rel = rel.trim_start_matches("rel=\"").trim_end_matches('"');
            (rel.to_owned(), url.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn headers_and_links_on_first_middle_and_last_pages() {
    let app = TestApp::spawn().await;
    let total = app.active_user_ids().await.len();
    assert_eq!(total, 8);

    let first = app.get(&list("per_page=3")).await;
    assert_eq!(header(&first, "total"), Some("8"));
    assert_eq!(header(&first, "per-page"), Some("3"));
    assert_eq!(header(&first, "x-total"), Some("8"));
    let rels = links(&first);
    let mut names: Vec<_> = rels.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["last", "next"]);
    assert_eq!(rels["next"], app.url(&list("per_page=3&page=2")));
    assert_eq!(rels["last"], app.url(&list("per_page=3&page=3")));

    let middle = links(&app.get(&list("per_page=3&page=2")).await);
    let mut names: Vec<_> = middle.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["first", "last", "next", "prev"]);
    assert_eq!(middle["prev"], app.url(&list("per_page=3&page=1")));

    let last = app.get(&list("per_page=3&page=3")).await;
    let last_links = links(&last);
    let mut names: Vec<_> = last_links.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["first", "prev"]);
    assert_eq!(ids(&json(last).await).len(), 2);
}

#[tokio::test]
async fn following_next_links_visits_every_user_once_in_order() {
    let app = TestApp::spawn().await;
    let all = app.active_user_ids().await;
    let mut seen = Vec::new();
    let mut next = Some(app.url(&list("per_page=2")));
    while let Some(url) = next {
        let response = app
            .client
            .get(&url)
            .bearer_auth(&app.token)
            .header("Procore-Company-Id", COMPANY.to_string())
            .send()
            .await
            .unwrap();
        next = links(&response).get("next").cloned();
        seen.extend(ids(&json(response).await));
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn links_are_built_from_the_host_the_client_used() {
    let app = TestApp::spawn().await;
    let response = app
        .request(reqwest::Method::GET, &list("per_page=1"))
        .header("Host", "procore.test:9999")
        .send()
        .await
        .unwrap();
    assert!(links(&response)["next"].starts_with("http://procore.test:9999/rest/v1.0/"));
}

#[tokio::test]
async fn links_behind_a_tls_proxy_keep_the_scheme_it_names() {
    let app = TestApp::spawn().await;
    let response = app
        .request(reqwest::Method::GET, &list("per_page=1"))
        .header("Host", "procore.test")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert!(links(&response)["next"].starts_with("https://procore.test/rest/v1.0/"));
    let unknown = app
        .request(reqwest::Method::GET, &list("per_page=1"))
        .header("Host", "procore.test")
        .header("X-Forwarded-Proto", "gopher")
        .send()
        .await
        .unwrap();
    assert!(
        links(&unknown)["next"].starts_with("http://procore.test/rest/v1.0/"),
        "a scheme links cannot use is not taken"
    );
}

#[tokio::test]
async fn links_of_an_absolute_form_request_use_its_authority() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.server.address())
        .await
        .unwrap();
    let request = format!(
        "GET http://proxy.test:8080{} HTTP/1.1\r\nHost: ignored.test\r\nAuthorization: Bearer {}\r\nProcore-Company-Id: {COMPANY}\r\nConnection: close\r\n\r\n",
        list("per_page=1"),
        app.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("<http://proxy.test:8080/rest/v1.0/companies/"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_page_past_the_end_is_an_empty_200() {
    let app = TestApp::spawn().await;
    let response = app.get(&list("per_page=3&page=99")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "total"), Some("8"));
    assert_eq!(json(response).await, serde_json::json!([]));
}

#[tokio::test]
async fn per_page_defaults_to_100_and_is_clamped_to_10000() {
    let app = TestApp::spawn().await;
    assert_eq!(header(&app.get(&list("")).await, "per-page"), Some("100"));
    assert_eq!(
        header(&app.get(&list("per_page=50000")).await, "per-page"),
        Some("10000")
    );
}

#[tokio::test]
async fn bad_page_parameters_are_400_naming_them() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("page=0", "page"),
        ("page=-2", "page"),
        ("page=two", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1.5", "per_page"),
    ] {
        let response = app.get(&list(query)).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(json(response).await["errors"][field].is_array(), "{query}");
    }
}

#[tokio::test]
async fn project_member_lists_are_paginated_too() {
    let app = TestApp::spawn().await;
    let response = app
        .get(&format!("/rest/v1.0/projects/{PROJECT}/users?per_page=2"))
        .await;
    assert_eq!(header(&response, "total"), Some("3"));
    assert!(links(&response).contains_key("next"));
    assert_eq!(ids(&json(response).await), [JANE, 5102]);
}

#[tokio::test]
async fn the_official_profile_sends_no_x_total() {
    let app = TestApp::with_profile(Profile::Official).await;
    let response = app.get(&list("")).await;
    assert_eq!(header(&response, "total"), Some("8"));
    assert_eq!(header(&response, "x-total"), None);
}
