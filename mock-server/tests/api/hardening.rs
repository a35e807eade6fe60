//! Hostile and careless clients: deep nesting, stalled and malformed connections, oversized
//! requests, overlapping state saves, id exhaustion. The mock must keep serving, answer in its
//! JSON shape and never lose or tear state.
//!
//! Timeouts are set short and tests wait for the outcome (a closed connection, an answer),
//! never for a length of time; [`FAILSAFE`] only turns a hang into a failure.

use std::time::Duration;

use procore_mock::{Config, Fixture, MockServer};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// How long a test waits for something that must happen before calling it a hang.
const FAILSAFE: Duration = Duration::from_secs(30);

/// A short connection timeout, so the tests that wait for one do not wait long.
const SHORT: Duration = Duration::from_millis(200);

fn config_with(change: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::default();
    change(&mut config);
    config
}

/// Sends `request` on a fresh connection and reads until the server closes it.
async fn raw_exchange(server: &MockServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_to_close(&mut stream).await
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(FAILSAFE, async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&received).into_owned()
}

/// Sends `request` on a fresh connection and reads one answer (head and `Content-Length`
/// body), whether or not the server then closes the connection.
async fn raw_answer(server: &MockServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(FAILSAFE, async {
        let mut buffer = [0u8; 8192];
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length: "))
                    .and_then(|length| length.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return text,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.expect("the server never answered")
}

/// The status code and JSON body of a raw HTTP/1.1 response.
fn parse_answer(answer: &str) -> (u16, Value) {
    let status = answer
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, body)
}

async fn health(app: &TestApp) -> u16 {
    app.client
        .get(app.url("/__admin/health"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

// ---- nesting depth ---------------------------------------------------------------------

/// The Rails-style parameter parser recursed once per `[a]`, so a 30 KB field name overflowed
/// the stack and aborted the process.
#[tokio::test]
async fn a_deeply_nested_form_field_is_a_400_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let name = format!("grant_type{}", "[a]".repeat(10_000));
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("{name}=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("nested more than 32 levels"),
        "{body}"
    );
    assert_eq!(health(&app).await, 200);
}

/// Multipart field names went through the same recursive parser.
#[tokio::test]
async fn a_deeply_nested_multipart_field_is_a_400_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let name = format!("user{}", "[a]".repeat(10_000));
    let form = reqwest::multipart::Form::new().text(name, "x");
    let response = app
        .request(
            reqwest::Method::PATCH,
            &format!("/rest/v1.3/companies/{COMPANY}/users/{JANE}"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert!(
        body["message"].as_str().unwrap().contains("nested"),
        "{body}"
    );
    assert_eq!(health(&app).await, 200);
}

#[tokio::test]
async fn nesting_up_to_the_limit_is_read_and_one_more_level_is_refused() {
    let app = TestApp::spawn().await;
    let path = format!("/rest/v1.0/companies/{COMPANY}/users/{JANE}");
    let patch = |levels: usize| {
        app.request(reqwest::Method::PATCH, &path)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("user{}=x", "[a]".repeat(levels - 1)))
            .send()
    };
    let deepest = json(patch(32).await.unwrap()).await;
    assert!(!deepest.to_string().contains("nested"), "{deepest}");
    let too_deep = json(patch(33).await.unwrap()).await;
    assert!(
        too_deep["message"].as_str().unwrap().contains("nested"),
        "{too_deep}"
    );
}

/// Deep JSON, deep query brackets: the JSON reader stops at its own recursion limit, and query
/// parameters are read flat, so neither can take the server down.
#[tokio::test]
async fn deep_json_bodies_and_deep_query_brackets_are_answered_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let deep_json = format!(
        "{{\"user\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let response = app
        .request(
            reqwest::Method::POST,
            &format!("/rest/v1.0/companies/{COMPANY}/users"),
        )
        .header("Content-Type", "application/json")
        .body(deep_json)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let query = format!("filters{}=1", "[a]".repeat(5_000));
    let response = app
        .get(&format!("/rest/v1.0/companies/{COMPANY}/users?{query}"))
        .await;
    assert!(response.status().as_u16() < 500, "{}", response.status());
    assert_eq!(health(&app).await, 200);
}

// ---- bodies ------------------------------------------------------------------------------

/// A declared length over the limit was waited for: the whole body had to arrive first.
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_with_413_without_waiting_for_the_body() {
    let app = TestApp::spawn().await;
    let request = format!(
        "POST /rest/v1.0/companies/{COMPANY}/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{{",
        app.token
    );
    let (status, body) = parse_answer(&raw_answer(&app.server, request.as_bytes()).await);
    assert_eq!(status, 413);
    assert!(body["message"].as_str().unwrap().contains("4194304"));
}

/// Every body-read error was reported as too large.
#[tokio::test]
async fn a_malformed_chunked_body_is_a_400_not_a_413() {
    let app = TestApp::spawn().await;
    let request = format!(
        "POST /rest/v1.0/companies/{COMPANY}/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n",
        app.token
    );
    let (status, body) = parse_answer(&raw_exchange(&app.server, request.as_bytes()).await);
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("could not be read"));
}

/// A body that stopped arriving was waited for forever.
#[tokio::test]
async fn a_stalled_body_is_answered_408_after_the_body_read_timeout() {
    let server = MockServer::builder()
        .config(config_with(|c| c.body_read_timeout = SHORT))
        .start();
    let request = "POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=";
    let (status, body) = parse_answer(&raw_exchange(&server, request.as_bytes()).await);
    assert_eq!(status, 408);
    assert!(body["message"].as_str().unwrap().contains("did not arrive"));
}

/// Admin bodies had a second limit (the framework's 2 MB default, with a plain-text answer),
/// apart from `--max-body-bytes`.
#[tokio::test]
async fn admin_bodies_have_the_same_limit_and_json_413_as_api_bodies() {
    let app = TestApp::start_server(
        MockServer::builder()
            .config(config_with(|c| c.max_body_bytes = 1024))
            .start(),
    )
    .await;
    let big = serde_json::to_string(&Fixture::default_data()).unwrap();
    assert!(big.len() > 1024);
    let response = app
        .client
        .put(app.url("/__admin/state"))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(json(response).await["message"]
        .as_str()
        .unwrap()
        .contains("1024"));
}

// ---- the HTTP layer's own answers ----------------------------------------------------------

/// hyper answered requests it could not parse with an empty body, not our JSON errors.
#[tokio::test]
async fn unparsable_requests_are_answered_in_the_json_error_shape() {
    let server = MockServer::start();
    let garbage = raw_exchange(&server, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(parse_answer(&garbage).0, 400, "{garbage}");

    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let (status, body) = parse_answer(&raw_exchange(&server, long_uri.as_bytes()).await);
    assert_eq!(status, 414);
    assert!(body["message"].as_str().unwrap().contains("URI"));

    // Too many headers: hyper has read the whole request when it refuses it, so the answer is
    // not lost to a reset for unread data.
    let many: String = (0..150).map(|i| format!("X-Header-{i}: v\r\n")).collect();
    let large_headers = format!("GET /__admin/health HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let (status, body) = parse_answer(&raw_exchange(&server, large_headers.as_bytes()).await);
    assert_eq!(status, 431);
    assert!(body["message"].as_str().unwrap().contains("headers"));
}

// ---- connection timeouts -----------------------------------------------------------------

/// A connection that never sent a byte was held open forever.
#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_read_timeout() {
    let server = MockServer::builder()
        .config(config_with(|c| c.header_read_timeout = SHORT))
        .start();
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    assert_eq!(read_to_close(&mut stream).await, "");
}

/// A request head sent in part was waited for forever.
#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_header_read_timeout() {
    let server = MockServer::builder()
        .config(config_with(|c| c.header_read_timeout = SHORT))
        .start();
    let answer = raw_exchange(&server, b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n").await;
    assert_eq!(answer, "", "no answer to a request that never finished");
}

/// Idle keep-alive connections were never closed, so they could exhaust file descriptors.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let server = MockServer::builder()
        .config(config_with(|c| c.idle_timeout = SHORT))
        .start();
    let answer = raw_exchange(&server, b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(
        parse_answer(&answer).0,
        200,
        "answered, then closed when idle"
    );
}

#[tokio::test]
async fn a_slow_answer_is_not_cut_by_the_connection_timeouts() {
    let app = TestApp::start_server(
        MockServer::builder()
            .config(config_with(|c| {
                c.header_read_timeout = Duration::from_millis(50);
                c.idle_timeout = Duration::from_millis(50);
            }))
            .start(),
    )
    .await;
    let rule = json!({"method": "GET", "path": "/rest/v1.0/me", "latency_ms": 300});
    let added = app
        .client
        .post(app.url("/__admin/faults"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    assert_eq!(app.get("/rest/v1.0/me").await.status(), 200);
}

// ---- state saves ---------------------------------------------------------------------------

/// All saves shared one temporary file name, so overlapping saves wrote into each other:
/// some failed with "No such file or directory" and readers found torn files.
#[tokio::test]
async fn overlapping_state_saves_each_leave_a_complete_file_with_their_writes() {
    let dir = tempdir("overlapping-saves");
    let file = dir.join("state.json");
    let app = TestApp::start_server(
        MockServer::builder()
            .config(config_with(|c| c.state_file = Some(file.clone())))
            .start(),
    )
    .await;
    let saver = |task: usize| {
        let app = &app;
        let file = &file;
        async move {
            for round in 0..15 {
                let id = app
                    .create_user("Saved", &format!("saver-{task}-{round}@x.example"))
                    .await;
                let saved = app
                    .client
                    .post(app.url("/__admin/state/save"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
                let on_disk = Fixture::from_path(file).expect("a complete, loadable file");
                assert!(
                    on_disk.companies[0].users.iter().any(|u| u.id == id),
                    "the saved file holds what was written before the save"
                );
            }
        }
    };
    futures::future::join_all((0..3).map(saver)).await;
    assert_eq!(entries(&dir), ["state.json"], "no temporary file is left");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- ids -----------------------------------------------------------------------------------

/// A state holding id 2^64-1 loaded, and the counter then wrapped and replaced user 1.
#[tokio::test]
async fn a_state_with_ids_that_leave_no_room_is_refused() {
    let app = TestApp::spawn().await;
    let mut state = serde_json::to_value(Fixture::default_data()).unwrap();
    state["companies"][0]["users"][0]["id"] = json!(u64::MAX);
    let response = app
        .client
        .put(app.url("/__admin/state"))
        .json(&state)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("companies[0].users[0].id"),
        "{body}"
    );
    let mut state = serde_json::to_value(Fixture::default_data()).unwrap();
    state["next_id"] = json!(u64::MAX);
    let response = app
        .client
        .put(app.url("/__admin/state"))
        .json(&state)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// The id was taken before the record was checked, so each 409 or 422 left a gap.
#[tokio::test]
async fn refused_creates_take_no_id() {
    let app = TestApp::spawn().await;
    let first = app.create_user("First", "first@x.example").await;
    let path = format!("/rest/v1.0/companies/{COMPANY}/users");
    let duplicate = json!({"user": {"last_name": "Again", "email_address": "first@x.example"}});
    assert_eq!(app.post_json(&path, &duplicate).await.status(), 409);
    let invalid = json!({"user": {"last_name": " ", "email_address": "blank@x.example"}});
    assert_eq!(app.post_json(&path, &invalid).await.status(), 422);
    let in_project = json!({"user": {"last_name": "Dup", "email_address": "first@x.example"}});
    let refused = app
        .post_json(&format!("/rest/v1.0/projects/{PROJECT}/users"), &in_project)
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        app.create_user("Second", "second@x.example").await,
        first + 1
    );
}

// ---- the journal ---------------------------------------------------------------------------

/// Each slot kept the buffers of the largest request it ever held, in full: 10,000 requests
/// with a 60 KB header held gigabytes, even after the journal was cleared.
#[tokio::test]
async fn the_journal_stays_within_its_byte_budget_and_gives_memory_back() {
    let budget = 256 * 1024;
    let app = TestApp::start_server(
        MockServer::builder()
            .config(config_with(|c| {
                c.journal_size = 1_000;
                c.journal_max_bytes = budget;
            }))
            .start(),
    )
    .await;
    let state = app.server.state();
    let held_bytes = || procore_mock::bench_internals::journal_held_bytes(state);
    let large = "v".repeat(60_000);
    for _ in 0..100 {
        let response = app
            .request(reqwest::Method::GET, "/rest/v1.0/me")
            .header("X-Large", &large)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(held_bytes() <= budget, "{}", held_bytes());
    }
    let entries: Value = app
        .client
        .get(app.url("/__admin/requests?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &entries[0];
    assert_eq!(entry["request_headers_truncated"], true);
    assert!(entry["request_headers"].get("x-large").is_none());
    assert!(entry["request_headers"].get("authorization").is_some());

    for _ in 0..100 {
        app.get("/rest/v1.0/me").await;
    }
    assert!(
        held_bytes() < 100 * 2048,
        "small entries replaced the large ones' buffers: {}",
        held_bytes()
    );
    let cleared = app
        .client
        .delete(app.url("/__admin/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(held_bytes(), 0);
}

// ---- admin work off the async workers ------------------------------------------------------

#[tokio::test]
async fn the_state_export_streams_a_loadable_document_while_the_api_keeps_answering() {
    let app = TestApp::spawn().await;
    for i in 0..300 {
        app.create_user("Exported", &format!("exported-{i}@x.example"))
            .await;
    }
    let mut export = app
        .client
        .get(app.url("/__admin/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers().get("content-length").is_none(),
        "the export is sent as it is written"
    );
    let mut document = export.chunk().await.unwrap().unwrap().to_vec();
    // The rest of the export waits unread while the API answers.
    let during = app.create_user("During", "during@x.example").await;
    assert!(during > 0);
    while let Some(chunk) = export.chunk().await.unwrap() {
        document.extend_from_slice(&chunk);
    }
    let fixture = Fixture::from_json(std::str::from_utf8(&document).unwrap()).unwrap();
    assert!(fixture.companies[0].users.len() > 300);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("procore-mock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
