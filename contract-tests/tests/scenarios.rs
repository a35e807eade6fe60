//! The scenario harness against the embedded mock: every shipped scenario passes (and its
//! normalized transcript is snapshotted), and the runner fails loudly, naming the step, when an
//! expectation is wrong or the target misbehaves.

use std::path::PathBuf;

use procore_contract::client::{ClientConfig, ProcoreClient};
use procore_contract::scenario::source::SCENARIOS_ENV;
use procore_contract::scenario::{report, run_all, Outcome, Runner, Scenario};
use procore_contract::target::{Target, TargetArgs, TargetSpec, MOCK_CLIENT};

fn scenarios_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
}

async fn embedded_runner() -> Runner {
    let target = Target::open(&TargetArgs::default()).unwrap();
    Runner::connect(target).await.unwrap()
}

#[tokio::test]
async fn every_shipped_scenario_passes_on_the_embedded_mock() {
    let scenarios = Scenario::load_dir(&scenarios_dir()).unwrap();
    assert!(
        scenarios.len() >= 10,
        "the nine documented workflows and the seed extras are shipped"
    );
    let runner = embedded_runner().await;
    let results = run_all(&runner, &scenarios, |_| {}).await;
    let text = report::text(&results);
    assert_eq!(report::totals(&results).failed, 0, "{text}");
    assert_eq!(report::totals(&results).skipped, 0, "{text}");
    for result in &results {
        insta::assert_json_snapshot!(format!("transcript-{}", result.name), result.transcript);
    }
}

#[tokio::test]
async fn a_wrong_expectation_fails_naming_the_step_expected_and_actual() {
    let scenario = Scenario::parse(
        r#"{"name": "wrong", "steps": [
            {"name": "list users", "request": {"method": "GET", "path": "/rest/v1.0/companies/{{company_id}}/users"},
             "expect": {"status": 200}},
            {"name": "expect the impossible", "request": {"method": "GET", "path": "/rest/v1.0/companies/{{company_id}}/users", "query": [["per_page", "1"]]},
             "expect": {"status": 201, "headers": {"Per-Page": {"equals": "2"}}, "json": [{"id": "$any_string"}]}}
        ]}"#,
        "wrong.json",
    )
    .unwrap();
    let runner = embedded_runner().await;
    let result = runner.run(&scenario).await;
    let Outcome::Failed(failure) = &result.outcome else {
        panic!("the scenario must fail");
    };
    assert_eq!(failure.step, 2);
    assert_eq!(failure.step_name, "expect the impossible");
    assert_eq!(failure.status, 200);
    let text = report::text(std::slice::from_ref(&result));
    assert!(text.contains("FAIL  wrong"), "{text}");
    assert!(text.contains("step 2: expect the impossible"), "{text}");
    assert!(
        text.contains("actual:   status: expected 201, got 200"),
        "{text}"
    );
    assert!(
        text.contains("actual:   header Per-Page: expected \"2\", got Some(\"1\")"),
        "{text}"
    );
    assert!(
        text.contains("actual:   json /0/id: expected $any_string, got "),
        "{text}"
    );
    assert!(text.contains("0 passed, 1 failed, 0 skipped"), "{text}");
    let junit = report::junit(std::slice::from_ref(&result), "reset: never");
    assert!(
        junit.contains("<testcase classname=\"scenarios\" name=\"wrong\""),
        "{junit}"
    );
    assert!(
        junit.contains(
            "<failure message=\"step 2 (expect the impossible): status: expected 201, got 200"
        ),
        "{junit}"
    );
}

#[tokio::test]
async fn a_misbehaving_target_is_caught_at_the_step_it_breaks() {
    let runner = embedded_runner().await;
    let scenarios = Scenario::load_dir(&scenarios_dir()).unwrap();
    let change = scenarios
        .iter()
        .find(|s| s.name == "change-permission-template")
        .unwrap();
    // The fault has to outlive the runner's reset, so it is added by a first step.
    let mut broken = change.clone();
    let fault = Scenario::parse(
        r#"{"name": "fault", "steps": [{"name": "break remove", "auth": null,
            "request": {"method": "POST", "path": "/__admin/faults", "auth": "none",
                        "json": {"method": "DELETE", "path": "/rest/v1.0/projects/{project_id}/users/{id}/actions/remove", "status": 500}},
            "expect": {"status": 201}}]}"#
            .replace("\"auth\": null,", "")
            .as_str(),
        "fault.json",
    )
    .unwrap();
    broken.steps.insert(0, fault.steps[0].clone());
    let result = runner.run(&broken).await;
    let Outcome::Failed(failure) = &result.outcome else {
        panic!("the broken remove must be caught");
    };
    assert_eq!(
        failure.step_name,
        "remove from the project: 204 with an empty body"
    );
    assert_eq!(failure.status, 500);
    assert!(
        failure
            .problems
            .iter()
            .any(|p| p == "status: expected 204, got 500"),
        "{:?}",
        failure.problems
    );
}

#[tokio::test]
async fn the_client_authenticates_and_follows_link_pagination_over_http() {
    let target = Target::open(&TargetArgs::default()).unwrap();
    let client = ProcoreClient::new(ClientConfig {
        company_id: Some(8001),
        ..target.client_config().clone()
    });
    client.authenticate().await.unwrap();
    let all = client
        .get_all("/rest/v1.0/companies/8001/users?per_page=2")
        .await
        .unwrap()
        .unwrap();
    let one_page = client
        .get_all("/rest/v1.0/companies/8001/users?per_page=100")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        all, one_page,
        "walking pages of two sees every user once, in order"
    );
    let missing = client
        .request(
            reqwest::Method::GET,
            "/rest/v1.0/companies/8001/users/1",
            &[],
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(missing.status, 404, "a non-2xx answer is data");
    assert_eq!(target.client_config().client_id, MOCK_CLIENT.0);
}

#[test]
fn the_cli_runs_scenarios_writes_junit_and_fails_on_a_failing_scenario() {
    let dir = std::env::temp_dir().join(format!("procore-contract-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("junit.xml");
    let passing = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--filter", "pagination", "--scenarios"])
        .arg(scenarios_dir())
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&passing.stdout);
    assert!(passing.status.success(), "{stdout}");
    assert!(stdout.contains("PASS  pagination-headers"), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed, 0 skipped"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 1);
    let document = roxmltree::Document::parse(&xml).expect("well-formed JUnit");
    let reset = document
        .descendants()
        .find(|n| n.attribute("name") == Some("reset"))
        .and_then(|n| n.attribute("value"))
        .unwrap();
    assert!(reset.starts_with("reset: before each scenario"), "{reset}");

    let failing_dir = dir.join("failing");
    std::fs::create_dir_all(&failing_dir).unwrap();
    std::fs::write(
        failing_dir.join("bad.json"),
        r#"{"name": "bad", "steps": [{"name": "teapot", "request": {"method": "GET", "path": "/rest/v1.0/me"}, "expect": {"status": 418}}]}"#,
    )
    .unwrap();
    let failing = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--scenarios"])
        .arg(&failing_dir)
        .output()
        .unwrap();
    assert_eq!(failing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failing.stdout).contains("FAIL  bad"));

    std::fs::write(
        failing_dir.join("bad.json"),
        r#"{"name": "bad", "steps": [{"name": "x", "request": {"method": "GET"}}]}"#,
    )
    .unwrap();
    let invalid = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--scenarios"])
        .arg(&failing_dir)
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(
        stderr.contains("bad.json")
            && stderr.contains("steps[0].request")
            && stderr.contains("path"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_client_retries_429s_as_the_headers_say_within_its_bound() {
    let target = Target::open(&TargetArgs::default()).unwrap();
    let base = target.client_config().api_base.clone();
    let http = reqwest::Client::new();
    let fault =
        serde_json::json!({"path": "/rest/v1.0/me", "status": 429, "retry_after": 0, "times": 2});
    let client_with = |max_retries| {
        ProcoreClient::new(ClientConfig {
            max_retries,
            company_id: Some(8001),
            ..target.client_config().clone()
        })
    };

    assert_eq!(
        http.post(format!("{base}/__admin/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let patient = client_with(2);
    let answer = patient
        .request(
            reqwest::Method::GET,
            "/rest/v1.0/me",
            &[],
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "two 429s were retried");

    assert_eq!(
        http.post(format!("{base}/__admin/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let impatient = client_with(1);
    let answer = impatient
        .request(
            reqwest::Method::GET,
            "/rest/v1.0/me",
            &[],
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        answer.status, 429,
        "past its bound the client hands the 429 back as data"
    );
    assert_eq!(answer.header("retry-after"), Some("0"));

    let journal: serde_json::Value = http
        .get(format!("{base}/__admin/requests?path=/rest/v1.0/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 429, 200, 429, 429]);
}

#[tokio::test]
async fn a_mock_guarded_by_an_admin_token_is_driven_with_that_token() {
    let server = procore_mock::MockServer::builder()
        .config(procore_mock::Config {
            admin_token: Some("s3cret".to_owned()),
            ..procore_mock::Config::default()
        })
        .start();
    let spec = TargetSpec::Url(server.url().to_owned());
    let unguarded = Target::open(&TargetArgs::new(spec.clone())).unwrap();
    let refused = unguarded.reset_before(0).await.unwrap_err().to_string();
    assert!(refused.contains("401"), "{refused}");

    let target = Target::open(&TargetArgs {
        admin_token: Some("s3cret".to_owned()),
        ..TargetArgs::new(spec)
    })
    .unwrap();
    assert!(target.reset_before(0).await.unwrap());
    let scenarios: Vec<Scenario> = Scenario::load_dir(&scenarios_dir())
        .unwrap()
        .into_iter()
        .filter(|s| s.requires.iter().any(|r| r == "mock-only"))
        .collect();
    let runner = Runner::connect(target).await.unwrap();
    let results = run_all(&runner, &scenarios, |_| {}).await;
    let text = report::text(&results);
    let totals = report::totals(&results);
    assert_eq!(
        (totals.passed, totals.failed),
        (scenarios.len(), 0),
        "{text}"
    );
}

#[tokio::test]
async fn the_portable_scenarios_pass_on_a_target_without_mock_powers() {
    // A mock reached through the sandbox target: no admin API as far as the harness knows, and
    // no profile to read, exactly like a real sandbox. Everything not marked mock-only or
    // documented-only must pass there, so no shipped scenario quietly depends on the mock.
    let server = procore_mock::MockServer::start();
    let base = server.url().to_owned();
    let target = Target::sandbox(
        |name| match name {
            "PROCORE_API_BASE" | "PROCORE_LOGIN_BASE" => Some(base.clone()),
            "PROCORE_CLIENT_ID" => Some(MOCK_CLIENT.0.to_owned()),
            "PROCORE_CLIENT_SECRET" => Some(MOCK_CLIENT.1.to_owned()),
            "PROCORE_COMPANY_ID" => Some("8001".to_owned()),
            _ => None,
        },
        false,
    )
    .unwrap();
    let scenarios = Scenario::load_dir(&scenarios_dir()).unwrap();
    let runner = Runner::connect(target).await.unwrap();
    let results = run_all(&runner, &scenarios, |_| {}).await;
    let text = report::text(&results);
    let totals = report::totals(&results);
    let needs_a_mock = scenarios
        .iter()
        .filter(|s| {
            s.requires
                .iter()
                .any(|r| r == "mock-only" || r == "profile:documented" || r == "crux")
        })
        .count();
    assert_eq!(totals.failed, 0, "{text}");
    assert_eq!(totals.skipped, needs_a_mock, "{text}");
    assert!(
        text.contains("SKIP  rate-limit-429: needs mock-only powers (admin, clock, faults); skipped on a sandbox"),
        "skips say why: {text}"
    );
    assert_eq!(totals.passed, scenarios.len() - needs_a_mock, "{text}");
}

/// A running mock started with a team's own fixture (its own OAuth app) and a spike limit of
/// 5 requests per 10 s, as `procore-mock --fixtures own-app.json --rate-limit-spike 5` runs.
fn own_app_mock_with_spike_limit() -> procore_mock::MockServer {
    let fixture = procore_mock::Fixture::from_path(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/fixtures/own-app.json"
    )))
    .unwrap();
    procore_mock::MockServer::builder()
        .fixture(fixture)
        .config(procore_mock::Config {
            rate_limit_spike: 5,
            ..procore_mock::Config::default()
        })
        .start()
}

fn harness() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"));
    for name in [
        "PROCORE_CLIENT_ID",
        "PROCORE_CLIENT_SECRET",
        "PROCORE_MOCK_ADMIN_TOKEN",
        SCENARIOS_ENV,
    ] {
        command.env_remove(name);
    }
    command
}

#[test]
fn the_harness_runs_against_a_running_mock_with_its_own_app_and_spike_limits_twice_in_a_row() {
    let server = own_app_mock_with_spike_limit();
    let scenarios = Scenario::load_dir(&scenarios_dir()).unwrap();
    // The team's fixture has no Crux Connect data, so the Crux scenarios are skipped.
    let crux = scenarios
        .iter()
        .filter(|s| s.requires.iter().any(|r| r == "crux"))
        .count();
    let total = scenarios.len();
    for (run, credentials) in ["flags", "environment"].into_iter().enumerate() {
        let mut command = harness();
        command
            .args(["run", "--target", server.url(), "--scenarios"])
            .arg(scenarios_dir());
        if credentials == "flags" {
            command.args([
                "--client-id",
                "hr-sync",
                "--client-secret",
                "hr-sync-secret",
            ]);
        } else {
            command
                .env("PROCORE_CLIENT_ID", "hr-sync")
                .env("PROCORE_CLIENT_SECRET", "hr-sync-secret");
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "run {} ({credentials}):\n{stdout}{stderr}",
            run + 1
        );
        assert!(
            stdout.contains(&format!(
                "{} passed, 0 failed, {crux} skipped",
                total - crux
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains("SKIP  crux-grant-new-hire: needs a mock serving Crux Connect"),
            "{stdout}"
        );
        assert!(
            stdout.starts_with("reset: before each scenario (POST /__admin/reset"),
            "the report says what was reset: {stdout}"
        );
        assert!(
            !stderr.contains('\u{1b}'),
            "no terminal codes in redirected stderr: {stderr:?}"
        );
    }
    // The mock was really rate limited, and the harness waited its 429s out.
    let journal: serde_json::Value = reqwest::blocking_get_json(server.url());
    let throttled = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == 429 && e["client_id"] == "hr-sync")
        .count();
    assert!(throttled > 0, "the spike limit was hit");
}

/// `reqwest` without its blocking feature: one GET of the journal on a throwaway runtime.
mod reqwest {
    pub use ::reqwest::*;

    pub fn blocking_get_json(base: &str) -> serde_json::Value {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                get(format!("{base}/__admin/requests"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap()
            })
    }
}

#[test]
fn wrong_credentials_are_refused_naming_the_client_id_tried() {
    let server = own_app_mock_with_spike_limit();
    let output = harness()
        .args(["run", "--target", server.url(), "--scenarios"])
        .arg(scenarios_dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("authentication as client `procore-mock-client` failed (401)"),
        "{stderr}"
    );
}

#[test]
fn one_scenario_file_runs_under_an_explicit_reset_policy() {
    let server = procore_mock::MockServer::start();
    let file = scenarios_dir().join("07-rate-limit.json");
    let never = harness()
        .args([
            "run",
            "--target",
            server.url(),
            "--reset",
            "never",
            "--scenarios",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&never.stdout);
    assert!(never.status.success(), "{stdout}");
    assert!(stdout.contains("PASS  rate-limit-429"), "{stdout}");
    assert!(
        stdout.starts_with("reset: never (the mock's data, fault rules, limits and journal were left as they were)"),
        "{stdout}"
    );
    // Nothing was reset, so the journal still holds the run's requests.
    let journal = reqwest::blocking_get_json(server.url());
    assert!(journal
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["status"] == 429));

    let legacy = harness()
        .args(["run", "--target", server.url(), "--scenarios"])
        .arg(&file)
        .arg("--reset")
        .output()
        .unwrap();
    assert!(legacy.status.success());
    assert!(String::from_utf8_lossy(&legacy.stderr).contains("a bare `--reset` is deprecated"));
    assert!(String::from_utf8_lossy(&legacy.stdout).starts_with("reset: before each scenario"));
}

/// The rate-limit scenario froze the clock and lowered the spike limit while the window still
/// held the requests of an earlier run, so under `--reset never` its first admitted request was
/// a 429 that a frozen clock could never wait out: the run hung.
#[test]
fn the_rate_limit_scenario_runs_twice_in_a_row_without_a_reset() {
    let server = procore_mock::MockServer::start();
    let file = scenarios_dir().join("07-rate-limit.json");
    for run in 0..2 {
        // 429s as results: before the fix the second run failed here instead of hanging.
        let output = harness()
            .args([
                "run",
                "--target",
                server.url(),
                "--reset",
                "never",
                "--no-retry-429",
            ])
            .arg("--scenarios")
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "run {run}: {stdout}");
        assert!(
            stdout.contains("PASS  rate-limit-429"),
            "run {run}: {stdout}"
        );
    }
}

#[tokio::test]
async fn the_rate_limit_steps_see_429s_and_others_wait_them_out() {
    // A step that does not say otherwise waits a 429 out (the mock's clock moves, since the
    // harness owns the embedded mock); with retries off every step sees the 429.
    let scenario = Scenario::parse(
        r#"{"name": "throttled", "steps": [
            {"name": "one request per 10 s", "request": {"method": "PUT", "path": "/__admin/rate-limits", "auth": "none", "json": {"spike": 1}},
             "expect": {"status": 200}},
            {"name": "first", "request": {"method": "GET", "path": "/rest/v1.0/me"}, "expect": {"status": 200}},
            {"name": "second waits", "request": {"method": "GET", "path": "/rest/v1.0/me"}, "expect": {"status": 200}}
        ]}"#,
        "throttled.json",
    )
    .unwrap();
    let runner = embedded_runner().await;
    let result = runner.run(&scenario).await;
    assert!(
        matches!(result.outcome, Outcome::Passed),
        "{}",
        report::text(&[result])
    );

    let runner = embedded_runner().await.retry_429(false);
    let result = runner.run(&scenario).await;
    let Outcome::Failed(failure) = &result.outcome else {
        panic!("with retries off the second request is a 429");
    };
    assert_eq!((failure.step, failure.status), (3, 429));
}

#[tokio::test]
async fn a_failure_report_shows_resolved_values_and_header_expectations_as_written() {
    let scenario = Scenario::parse(
        r#"{"name": "resolved", "steps": [
            {"name": "find jane", "request": {"method": "GET", "path": "/rest/v1.0/companies/{{company_id}}/users", "query": [["per_page", "1"]]},
             "expect": {"status": 200}, "capture": {"first_id": "/0/id"}},
            {"name": "compare", "request": {"method": "GET", "path": "/rest/v1.0/companies/{{company_id}}/users/{{first_id}}"},
             "expect": {"headers": {"Content-Type": {"equals": "text/{{first_id}}"}}, "json": {"id": "{{first_id}}", "last_name": "Nobody"}}}
        ]}"#,
        "resolved.json",
    )
    .unwrap();
    let runner = embedded_runner().await;
    let result = runner.run(&scenario).await;
    let text = report::text(std::slice::from_ref(&result));
    assert!(!text.contains("{{"), "no unresolved templates: {text}");
    assert!(
        text.contains("expected: header Content-Type {\"equals\":\"text/5001\"}"),
        "{text}"
    );
    assert!(
        text.contains("expected: json {\"id\":5001,\"last_name\":\"Nobody\"}"),
        "{text}"
    );
    assert!(
        text.contains("request:  GET /rest/v1.0/companies/8001/users/5001"),
        "{text}"
    );
}

#[test]
fn the_embedded_target_loads_a_fixture_file_and_logs_in_as_its_app() {
    let fixture = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/fixtures/own-app.json"
    ));
    let run = |extra: &[&str]| {
        harness()
            .args(["run", "--filter", "provision", "--scenarios"])
            .arg(scenarios_dir())
            .arg("--fixtures")
            .arg(&fixture)
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run(&[
        "--client-id",
        "hr-sync",
        "--client-secret",
        "hr-sync-secret",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed, 0 skipped"), "{stdout}");
    let default_app = run(&[]);
    assert_eq!(
        default_app.status.code(),
        Some(2),
        "the fixture has no default app"
    );
}

#[tokio::test]
async fn a_wrong_delivery_expectation_fails_naming_the_step_and_what_arrived() {
    let scenario = Scenario::parse(
        r#"{"name": "wrong-deliveries", "requires": ["mock-only"], "steps": [
            {"name": "start", "receiver": {"name": "hooks"}},
            {"name": "register", "request": {"method": "POST", "path": "/rest/v1.0/webhooks/hooks",
              "json": {"company_id": "{{company_id}}", "hook": {"destination_url": "{{hooks_url}}"}}},
             "expect": {"status": 201}, "capture": {"hook_id": "/id"}},
            {"name": "watch creates", "request": {"method": "POST", "path": "/rest/v1.0/webhooks/hooks/{{hook_id}}/triggers",
              "json": {"company_id": "{{company_id}}", "trigger": {"resource_name": "Company Users", "event_type": "create"}}},
             "expect": {"status": 201}},
            {"name": "create", "request": {"method": "POST", "path": "/rest/v1.0/companies/{{company_id}}/users",
              "json": {"user": {"last_name": "Hopper", "email_address": "g.{{run_id}}@example.com"}}},
             "expect": {"status": 201}},
            {"name": "expect an update", "deliveries": {"receiver": "hooks",
              "events": [{"event_type": "update"}], "headers": {"Authorization": "Bearer nothing"}}}
        ]}"#,
        "wrong-deliveries.json",
    )
    .unwrap();
    let runner = embedded_runner().await;
    let result = runner.run(&scenario).await;
    let Outcome::Failed(failure) = &result.outcome else {
        panic!("the scenario must fail");
    };
    assert_eq!(failure.step, 5);
    assert_eq!(failure.step_name, "expect an update");
    let text = report::text(std::slice::from_ref(&result));
    assert!(
        text.contains("delivery 0 /event_type: expected \"update\", got \"create\""),
        "{text}"
    );
    assert!(
        text.contains("delivery 0 header Authorization: expected \"Bearer nothing\", got None"),
        "{text}"
    );
}

#[test]
fn check_schema_reports_every_answer_of_the_shipped_scenarios_conforms_on_the_mock() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--check-schema", "--scenarios"])
        .arg(scenarios_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("schema check: "))
        .unwrap_or_else(|| panic!("no schema-check summary in {stdout}"));
    assert!(summary.ends_with(", 0 differ"), "{stdout}");
    let checked: usize = summary
        .trim_start_matches("schema check: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        checked > 50,
        "the scenarios' answers were checked: {summary}"
    );
    assert!(!stdout.contains("DIFFERS"), "{stdout}");
}

/// Started outside the repository (an installed binary), `run` failed with only
/// `scenarios: directory: No such file or directory`: it read `./scenarios` and nothing else.
#[test]
fn run_outside_the_repository_runs_the_built_in_scenarios_and_names_a_missing_path() {
    let outside =
        std::env::temp_dir().join(format!("procore-contract-outside-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let working_directory = outside.canonicalize().unwrap().display().to_string();
    let run = |args: &[&str], env: Option<&str>| {
        let mut command = harness();
        command.current_dir(&outside).args(args);
        if let Some(value) = env {
            command.env(SCENARIOS_ENV, value);
        }
        command.output().unwrap()
    };

    let built_in = run(&["run", "--filter", "pagination"], None);
    let stdout = String::from_utf8_lossy(&built_in.stdout);
    let stderr = String::from_utf8_lossy(&built_in.stderr);
    assert!(built_in.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("PASS  pagination-headers"), "{stdout}");
    let shipped = Scenario::load_dir(&scenarios_dir()).unwrap().len();
    assert!(
        stderr.contains(&format!(
            "no ./scenarios here: running the {shipped} scenarios built into procore-contract"
        )),
        "{stderr}"
    );

    // A named path that is not there is an error naming it, where it was looked for, and how
    // to point elsewhere, whether the flag or the environment variable named it.
    for (args, env) in [
        (vec!["run", "--scenarios", "nowhere"], None),
        (vec!["run"], Some("nowhere")),
    ] {
        let missing = run(&args, env);
        let stderr = String::from_utf8_lossy(&missing.stderr);
        assert_eq!(missing.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(
                "--scenarios (or PROCORE_CONTRACT_SCENARIOS) nowhere: no such file or directory"
            ) && stderr.contains(&format!("the working directory {working_directory}"))
                && stderr.contains("built into it"),
            "{stderr}"
        );
    }

    // The environment variable names a directory like the flag does.
    let by_env = run(
        &["run", "--filter", "pagination"],
        Some(scenarios_dir().to_str().unwrap()),
    );
    let stderr = String::from_utf8_lossy(&by_env.stderr);
    assert!(by_env.status.success(), "{stderr}");
    assert!(!stderr.contains("built into"), "{stderr}");

    let no_fixture = run(
        &[
            "run",
            "--filter",
            "pagination",
            "--fixtures",
            "own-app.json",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&no_fixture.stderr);
    assert_eq!(no_fixture.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--fixtures own-app.json: no such file or directory")
            && stderr.contains(&working_directory),
        "{stderr}"
    );
    std::fs::remove_dir_all(&outside).unwrap();
}
