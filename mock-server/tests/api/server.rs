//! The binary as users run it: flags, the ready line, fixture refusal, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::helpers::*;

/// Starts the binary on a free port and returns it with its base URL from the ready line.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    start_logging(args, env, Stdio::null())
}

/// [`start`], with the binary's log (stderr) going to `log`.
fn start_logging(args: &[&str], env: &[(&str, &str)], log: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_procore-mock"))
        .args(["--port", "0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("procore-mock listening on ")
        .unwrap_or_else(|| panic!("unexpected ready line: {line:?}"))
        .to_owned();
    (child, url)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn the_binary_prints_one_ready_line_serves_and_stops_on_sigterm() {
    let (mut child, url) = start(&[], &[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let token = token_at(&reqwest::Client::new(), &url, ADMIN_APP).await;
    assert!(!token.is_empty());
    assert!(terminate(&mut child).success());
}

/// The signal handlers were installed only once the serve loop got round to polling them, so
/// a SIGTERM sent the moment the ready line appeared could kill the process outright.
#[test]
fn a_sigterm_right_after_the_ready_line_still_shuts_down_gracefully() {
    for _ in 0..5 {
        let (mut child, _) = start(&[], &[]);
        assert!(terminate(&mut child).success());
    }
}

#[tokio::test]
async fn the_profile_can_come_from_the_environment() {
    let (mut child, url) = start(&[], &[("PROCORE_MOCK_PROFILE", "official")]);
    let client = reqwest::Client::new();
    let token = token_at(&client, &url, ADMIN_APP).await;
    let response = client
        .delete(format!("{url}/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
        .bearer_auth(&token)
        .header("Procore-Company-Id", COMPANY.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    terminate(&mut child);
}

#[test]
fn an_invalid_fixture_file_is_refused_at_start_naming_the_path() {
    let dir = std::env::temp_dir().join(format!("procore-mock-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    let mut fixture: serde_json::Value =
        serde_json::from_str(procore_mock::Fixture::DEFAULT_JSON).unwrap();
    fixture["companies"][0]["users"][2]["last_name"] = serde_json::json!(42);
    std::fs::write(&file, fixture.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_procore-mock"))
        .args(["--port", "0", "--fixtures", file.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "no ready line for a refused fixture"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("companies[0].users[2].last_name"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_state_file_survives_sigterm_and_a_restart() {
    let dir = std::env::temp_dir().join(format!("procore-mock-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let file_arg = file.to_str().unwrap().to_owned();
    let client = reqwest::Client::new();

    let (mut child, url) = start(&["--state-file", &file_arg], &[]);
    let token = token_at(&client, &url, ADMIN_APP).await;
    let created: serde_json::Value = client
        .post(format!("{url}/rest/v1.0/companies/{COMPANY}/users"))
        .bearer_auth(&token)
        .header("Procore-Company-Id", COMPANY.to_string())
        .json(&serde_json::json!({"user": {"last_name": "Persisted", "email_address": "persisted@x.example"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let saved = client
        .post(format!("{url}/__admin/state/save"))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    assert!(file.exists());
    assert!(terminate(&mut child).success());

    let (mut child, url) = start(&["--state-file", &file_arg], &[]);
    let response = client
        .get(format!(
            "{url}/rest/v1.0/companies/{COMPANY}/users/{}",
            created["id"]
        ))
        .bearer_auth(&token)
        .header("Procore-Company-Id", COMPANY.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the user and the token survived the restart"
    );
    assert!(terminate(&mut child).success());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        [std::ffi::OsString::from("state.json")],
        "no temporary files are left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits for `child` to exit; kills it and fails if it has not within [`FAILSAFE`] (a hang).
fn exit_status(child: &mut Child) -> std::process::ExitStatus {
    const FAILSAFE: std::time::Duration = std::time::Duration::from_secs(30);
    let pid = child.id().to_string();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(FAILSAFE).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            return true;
        }
        false
    });
    let status = child.wait().unwrap();
    let _ = done.send(());
    assert!(
        !watchdog.join().unwrap(),
        "the process did not exit by itself"
    );
    status
}

/// Opens a connection, sends a token request's head announcing a body, and returns once the
/// server asks for the body (`100 Continue`): the request is then in flight in a handler.
async fn request_waiting_for_its_body(url: &str, body_length: usize) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {address}\r\nExpect: 100-continue\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue"), "{interim:?}");
    stream
}

/// One stalled client kept graceful shutdown waiting forever, so no state was saved and the
/// supervisor's follow-up SIGKILL lost everything since the last save.
#[tokio::test]
async fn sigterm_with_a_stalled_client_saves_the_state_and_exits_after_the_grace_period() {
    let dir = std::env::temp_dir().join(format!("procore-mock-grace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let (mut child, url) = start(
        &[
            "--state-file",
            file.to_str().unwrap(),
            "--shutdown-grace",
            "200ms",
        ],
        &[],
    );
    let _stalled = request_waiting_for_its_body(&url, 100).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(exit_status(&mut child).success());
    procore_mock::Fixture::from_path(&file).expect("the state was saved on the way out");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_before_exiting() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut child, url) = start(&[], &[]);
    let (id, secret) = ADMIN_APP;
    let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let mut in_flight = request_waiting_for_its_body(&url, body.len()).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    in_flight.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");
    assert!(exit_status(&mut child).success());
}

/// Overlapping saves could leave a torn state file, which a kill -9 then made permanent (the
/// mock refused to start from it).
#[tokio::test]
async fn a_kill_during_saves_leaves_a_state_file_the_mock_starts_from() {
    let dir = std::env::temp_dir().join(format!("procore-mock-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let file_arg = file.to_str().unwrap().to_owned();
    let (mut child, url) = start(&["--state-file", &file_arg], &[]);
    let client = reqwest::Client::new();
    let save = || async {
        client
            .post(format!("{url}/__admin/state/save"))
            .send()
            .await
            .map(|response| response.status().as_u16())
    };
    assert_eq!(save().await.unwrap(), 200);
    // Three savers; the kill lands while saves are under way, at whatever instant it lands.
    let savers = (0..3).map(|_| async {
        for _ in 0..200 {
            if save().await.is_err() {
                return; // The process is gone.
            }
        }
    });
    let killer = async {
        for _ in 0..20 {
            assert_eq!(save().await.unwrap(), 200);
        }
        child.kill().unwrap();
    };
    futures::future::join(futures::future::join_all(savers), killer).await;
    child.wait().unwrap();
    procore_mock::Fixture::from_path(&file).expect("the old or the new file, whole");
    let (mut restarted, url) = start(&["--state-file", &file_arg], &[]);
    token_at(&client, &url, ADMIN_APP).await;
    assert!(terminate(&mut restarted).success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `kill -9` mid-save left the save's temporary file beside the state file for good: no
/// start ever cleared it.
#[tokio::test]
async fn a_start_removes_temporaries_of_dead_savers_and_nothing_else() {
    let dir = std::env::temp_dir().join(format!("procore-mock-leftovers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(procore_mock::Fixture::DEFAULT_JSON).unwrap();
    assert_eq!(state["companies"][0]["users"][3]["id"], JANE);
    state["companies"][0]["users"][3]["last_name"] = serde_json::json!("FromTheStateFile");
    std::fs::write(&file, state.to_string()).unwrap();
    // A process that has exited (and been reaped): its id names no live process.
    let mut finished = Command::new("true").spawn().unwrap();
    finished.wait().unwrap();
    let dead = finished.id();
    let abandoned = format!(".state.json.{dead}-3.tmp");
    // This test process is alive: as if another mock sharing the file were saving now.
    let in_progress = format!(".state.json.{}-0.tmp", std::process::id());
    let unrelated = [
        format!(".other.json.{dead}-0.tmp"),
        format!(".state.json.{dead}-3.tmp.bak"),
        format!("state.json.{dead}-3.tmp"),
        "notes.txt".to_owned(),
    ];
    for name in unrelated.iter().chain([&abandoned, &in_progress]) {
        std::fs::write(dir.join(name), "{\"companies\": [").unwrap();
    }
    let log_path =
        std::env::temp_dir().join(format!("procore-mock-leftovers-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();

    let (mut child, url) = start_logging(
        &["--state-file", file.to_str().unwrap()],
        &[("RUST_LOG", "info")],
        log.into(),
    );
    let mut remaining: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let client = reqwest::Client::new();
    let token = token_at(&client, &url, ADMIN_APP).await;
    let jane: serde_json::Value = client
        .get(format!("{url}/rest/v1.0/companies/{COMPANY}/users/{JANE}"))
        .bearer_auth(&token)
        .header("Procore-Company-Id", COMPANY.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Stopped before anything is asserted, so a failure leaves no process behind.
    assert!(terminate(&mut child).success());
    remaining.sort();
    let mut expected: Vec<String> = unrelated
        .iter()
        .cloned()
        .chain([in_progress, "state.json".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(
        remaining, expected,
        "only the dead saver's temporary is gone"
    );
    assert_eq!(
        jane["last_name"], "FromTheStateFile",
        "the state file loaded"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("removed the temporary file of a save that was interrupted")
            && log.contains(&abandoned),
        "{log}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&log_path).unwrap();
}

#[tokio::test]
async fn crux_can_be_turned_off_from_the_environment() {
    let login = |url: &str| {
        reqwest::Client::new()
            .post(format!("{url}/organizations/user-login/"))
            .json(&serde_json::json!({
                "username": "crux-admin@summit-builders.example",
                "password": "crux-admin-password",
            }))
            .send()
    };
    let (mut on, url) = start(&[], &[("PROCORE_MOCK_NO_CRUX", "false")]);
    assert_eq!(login(&url).await.unwrap().status(), 200);
    terminate(&mut on);
    let (mut off, url) = start(&[], &[("PROCORE_MOCK_NO_CRUX", "true")]);
    assert_eq!(login(&url).await.unwrap().status(), 404);
    terminate(&mut off);
}

#[tokio::test]
async fn strict_mode_can_come_from_the_environment() {
    let create = |url: String| async move {
        let client = reqwest::Client::new();
        let token = token_at(&client, &url, ADMIN_APP).await;
        client
            .post(format!("{url}/rest/v1.0/companies/{COMPANY}/users"))
            .bearer_auth(token)
            .header("Procore-Company-Id", COMPANY.to_string())
            .json(
                &serde_json::json!({"user": {"last_name": "E", "email_address": "e@x.example",
                                               "permision_template_id": 3004}}),
            )
            .send()
            .await
            .unwrap()
            .status()
    };
    let (mut lenient, url) = start(&[], &[("PROCORE_MOCK_STRICT", "false")]);
    assert_eq!(create(url).await, 201);
    terminate(&mut lenient);
    let (mut strict, url) = start(&[], &[("PROCORE_MOCK_STRICT", "true")]);
    assert_eq!(create(url).await, 400);
    terminate(&mut strict);
}

/// The log had terminal colour codes even when stderr went to a file (unless `NO_COLOR`).
#[test]
fn the_log_has_no_colour_codes_when_stderr_is_not_a_terminal() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_procore-mock"))
        .args(["--port", "0"])
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    assert!(terminate(&mut child).success());
    let log = std::io::read_to_string(stderr).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}
