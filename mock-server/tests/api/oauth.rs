//! OAuth: the three grants, the four encodings, expiry on the mock clock, revocation, and how
//! the REST API answers bad or missing tokens.

use base64::Engine;
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::helpers::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn token_body(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    json(response).await
}

#[tokio::test]
async fn client_credentials_work_in_all_four_encodings() {
    let app = TestApp::spawn().await;
    let url = app.url("/oauth/token");
    let (id, secret) = ADMIN_APP;
    let form = app.client.post(&url).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ]);
    let json_body = app.client.post(&url).json(
        &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}),
    );
    let multipart = app.client.post(&url).multipart(
        reqwest::multipart::Form::new()
            .text("grant_type", "client_credentials")
            .text("client_id", id)
            .text("client_secret", secret),
    );
    let basic = app
        .client
        .post(&url)
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")]);
    for request in [form, json_body, multipart, basic] {
        let body = token_body(request.send().await.unwrap()).await;
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 5400);
        assert!(body["created_at"].is_i64());
        assert!(
            body.get("refresh_token").is_none(),
            "client credentials return no refresh token"
        );
        let token = body["access_token"].as_str().unwrap();
        let me = app
            .client
            .get(app.url("/rest/v1.0/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        assert_eq!(
            json(me).await["login"],
            "svc-directory-admin@summit-builders.example"
        );
    }
}

#[tokio::test]
async fn bad_clients_and_grants_get_rfc6749_errors() {
    let app = TestApp::spawn().await;
    let url = app.url("/oauth/token");
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Form, u16, &str); 4] = [
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "procore-mock-client"),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "x"),
            ],
            401,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "procore-mock-client"),
                ("client_secret", "procore-mock-secret"),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            &[
                ("client_id", "procore-mock-client"),
                ("client_secret", "procore-mock-secret"),
            ],
            400,
            "invalid_request",
        ),
    ];
    for (form, status, code) in cases {
        let response = app.client.post(&url).form(form).send().await.unwrap();
        assert_eq!(response.status(), status, "{form:?}");
        let body = json(response).await;
        assert_eq!(body["error"], code);
        assert!(body["error_description"].is_string());
    }
}

/// Runs the authorization-code flow up to the code, returning it.
async fn authorize_code(app: &TestApp, redirect_uri: &str) -> String {
    let response = no_redirects()
        .get(app.url("/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", ADMIN_APP.0),
            ("redirect_uri", redirect_uri),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = reqwest::Url::parse(header(&response, "location").unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect_uri));
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "xyz");
    pairs["code"].clone()
}

async fn exchange(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    let mut fields = vec![("client_id", ADMIN_APP.0), ("client_secret", ADMIN_APP.1)];
    fields.extend_from_slice(form);
    app.client
        .post(app.url("/oauth/token"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn authorization_code_is_single_use_and_refresh_tokens_rotate() {
    let app = TestApp::spawn().await;
    let redirect = "http://localhost:8080/callback";
    let code = authorize_code(&app, redirect).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
    ];
    let first = token_body(exchange(&app, &grant).await).await;
    let refresh = first["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    let reused = exchange(&app, &grant).await;
    assert_eq!(reused.status(), 400);
    assert_eq!(json(reused).await["error"], "invalid_grant");

    let refreshed = token_body(
        exchange(
            &app,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await,
    )
    .await;
    let rotated = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, refresh);
    assert_ne!(refreshed["access_token"], first["access_token"]);

    let replayed = exchange(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(replayed.status(), 400, "a refresh token works once");
    assert_eq!(json(replayed).await["error"], "invalid_grant");
    let again = exchange(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", rotated)],
    )
    .await;
    assert_eq!(again.status(), 200, "the rotated refresh token works");
}

#[tokio::test]
async fn authorization_code_expires_after_ten_minutes_on_the_mock_clock() {
    let app = TestApp::frozen().await;
    let redirect = "http://localhost:8080/callback";
    let fresh = authorize_code(&app, redirect).await;
    let stale = authorize_code(&app, redirect).await;
    app.server.clock().advance_secs(599);
    let ok = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &fresh),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(ok.status(), 200);
    app.server.clock().advance_secs(1);
    let expired = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &stale),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(expired.status(), 400);
    assert_eq!(json(expired).await["error"], "invalid_grant");
}

#[tokio::test]
async fn a_code_needs_the_redirect_uri_it_was_issued_for() {
    let app = TestApp::spawn().await;
    let code = authorize_code(&app, "http://localhost:8080/callback").await;
    let response = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8080/callback"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn out_of_band_authorization_shows_the_code() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", ADMIN_APP.0),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let code = page
        .split("<code id=\"authorization_code\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the page shows the code");
    let token = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ],
    )
    .await;
    assert_eq!(token.status(), 200);
}

#[tokio::test]
async fn implicit_grant_redirects_with_the_token_in_the_fragment() {
    let app = TestApp::spawn().await;
    let response = no_redirects()
        .get(app.url("/oauth/authorize"))
        .query(&[
            ("response_type", "token"),
            ("client_id", ADMIN_APP.0),
            ("redirect_uri", "http://localhost:8080/callback"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = header(&response, "location").unwrap();
    let fragment = location.split_once('#').expect("a fragment").1;
    let pairs: std::collections::HashMap<String, String> =
        url_pairs(fragment).into_iter().collect();
    assert_eq!(pairs["token_type"], "bearer");
    assert_eq!(pairs["state"], "s1");
    let me = app
        .client
        .get(app.url("/rest/v1.0/me"))
        .bearer_auth(&pairs["access_token"])
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

fn url_pairs(encoded: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{encoded}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn authorize_refuses_unregistered_redirect_uris_without_redirecting() {
    let app = TestApp::spawn().await;
    let response = no_redirects()
        .get(app.url("/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", ADMIN_APP.0),
            ("redirect_uri", "http://evil.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["error"], "invalid_request");
}

#[tokio::test]
async fn login_hint_picks_the_resource_owner_and_records_the_login() {
    let app = TestApp::spawn().await;
    let response = no_redirects()
        .get(app.url("/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", ADMIN_APP.0),
            ("redirect_uri", "http://localhost:8080/callback"),
            ("login_hint", "JANE.DOE@summit-builders.example"),
        ])
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(header(&response, "location").unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = token_body(
        exchange(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:8080/callback"),
            ],
        )
        .await,
    )
    .await;
    let token = body["access_token"].as_str().unwrap();
    let me = json(
        app.client
            .get(app.url("/rest/v1.0/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me["id"], JANE);
    let jane = json(
        app.get(&format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
            .await,
    )
    .await;
    assert!(jane["last_login_at"].is_string());
}

#[tokio::test]
async fn tokens_expire_after_5400_seconds_on_the_mock_clock() {
    let app = TestApp::frozen().await;
    let info = json(app.get("/oauth/token/info").await).await;
    assert_eq!(info["expires_in_seconds"], 5400);
    assert_eq!(info["application"]["uid"], ADMIN_APP.0);
    assert_eq!(info["resource_owner_id"], 5001);
    assert_eq!(info["scopes"], json!(["read", "write"]));
    let by_query = app
        .client
        .get(app.url("/oauth/token/info"))
        .query(&[("access_token", &app.token)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(by_query).await["resource_owner_id"],
        5001,
        "the token may come as a query parameter"
    );
    app.server.clock().advance_secs(5399);
    assert_eq!(app.get("/rest/v1.0/me").await.status(), 200);
    app.server.clock().advance_secs(1);
    let expired = app.get("/rest/v1.0/me").await;
    assert_eq!(expired.status(), 401);
    assert!(header(&expired, "www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(json(expired).await["message"], "The access token expired");
}

#[tokio::test]
async fn revoked_tokens_stop_working_and_revoke_always_answers_200() {
    let app = TestApp::spawn().await;
    let revoke = |token: String| {
        app.client
            .post(app.url("/oauth/revoke"))
            .form(&[
                ("token", token),
                ("client_id", ADMIN_APP.0.to_owned()),
                ("client_secret", ADMIN_APP.1.to_owned()),
            ])
            .send()
    };
    assert_eq!(revoke(app.token.clone()).await.unwrap().status(), 200);
    assert_eq!(
        revoke("never-issued".to_owned()).await.unwrap().status(),
        200
    );
    let response = app.get("/rest/v1.0/me").await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        json(response).await["message"],
        "The access token is invalid"
    );
}

#[tokio::test]
async fn api_calls_need_a_bearer_token() {
    let app = TestApp::spawn().await;
    let basic = base64::engine::general_purpose::STANDARD.encode("a:b");
    for authorization in [
        None,
        Some("Bearer".to_owned()),
        Some(format!("Basic {basic}")),
        Some("Bearer nope".to_owned()),
    ] {
        let mut request = app.client.get(app.url("/rest/v1.0/me"));
        if let Some(value) = &authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert!(header(&response, "www-authenticate").is_some());
        assert!(json(response).await["message"].is_string());
    }
}

#[tokio::test]
async fn writes_need_the_write_scope() {
    let app = TestApp::spawn().await;
    let token = app.client_credentials_token(READONLY_APP).await;
    let request = |method| {
        app.client
            .request(
                method,
                app.url(&format!("/rest/v1.0/companies/{COMPANY}/users")),
            )
            .bearer_auth(&token)
            .header("Procore-Company-Id", COMPANY.to_string())
    };
    assert_eq!(
        request(reqwest::Method::GET).send().await.unwrap().status(),
        200
    );
    let refused = request(reqwest::Method::POST)
        .json(&json!({"user": {"last_name": "X", "email_address": "x@y.example"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(json(refused).await["message"]
        .as_str()
        .unwrap()
        .contains("write"));
}

#[tokio::test]
async fn a_readonly_token_cannot_ask_for_write_scope() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", READONLY_APP.0),
            ("client_secret", READONLY_APP.1),
            ("scope", "read write"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(json(response).await["error"], "invalid_scope");
}

#[tokio::test]
async fn apps_act_only_in_companies_they_are_installed_in() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/companies/{OTHER_COMPANY}/users");
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(&app.token)
        .header("Procore-Company-Id", OTHER_COMPANY.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(response).await["message"],
        "App is not connected to this company"
    );
    let companies = json(app.get("/rest/v1.0/companies").await).await;
    assert_eq!(
        companies,
        json!([{"id": COMPANY, "name": "Summit Builders", "is_active": true}])
    );
}

#[tokio::test]
async fn the_company_header_is_required_except_on_me_and_companies() {
    let app = TestApp::spawn().await;
    let without_header = |path: String| {
        app.client
            .get(app.url(&path))
            .bearer_auth(&app.token)
            .send()
    };
    for path in [
        "/rest/v1.0/me".to_owned(),
        "/rest/v1.0/companies".to_owned(),
    ] {
        assert_eq!(without_header(path).await.unwrap().status(), 200);
    }
    for path in [
        format!("/rest/v1.0/companies/{COMPANY}/users"),
        format!("/rest/v1.0/projects/{PROJECT}/users"),
        format!("/rest/v1.0/projects?company_id={COMPANY}"),
    ] {
        let response = without_header(path.clone()).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            json(response).await["message"],
            "Missing Procore-Company-Id header!"
        );
    }
}
