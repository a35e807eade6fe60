//! The harness over real HTTP: every scenario on the embedded mock (with its transcript
//! snapshot), the binary against a running mock, the sandbox guards, and proof that the runner
//! fails, naming the step with expected and actual, when an expectation or the target is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use procore_contract::client::{ApiRequest, RetryPolicy, Wait};
use procore_contract::scenario::report::{self, failure_text};
use procore_contract::scenario::runner::{Outcome, Runner, ScenarioResult};
use procore_contract::scenario::{self, Scenario};
use procore_contract::target::{Target, TargetSpec};
use procore_mock::{Config, MockServer, Profile};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A fixed run id, so failures are easy to read; transcripts redact it anyway.
const RUN_ID: &str = "testrun1";

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scenario_named(name: &str) -> Scenario {
    scenario::load_dir(&scenarios_dir())
        .expect("the committed scenarios load")
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario named {name}"))
}

fn embedded() -> Target {
    Target::embedded(MockServer::builder()).expect("the embedded mock starts")
}

async fn run_on(target: &Target, scenario: &Scenario) -> ScenarioResult {
    let runner = Runner::connect(target, RUN_ID.to_owned())
        .await
        .expect("the runner connects");
    runner.run(scenario).await
}

fn failure_of(result: &ScenarioResult) -> String {
    match &result.outcome {
        Outcome::Failed(failure) => failure_text(failure),
        other => panic!("expected {} to fail, it ended {other:?}", result.name),
    }
}

#[tokio::test]
async fn every_scenario_passes_on_the_embedded_mock_and_keeps_its_transcript() {
    let scenarios = scenario::load_dir(&scenarios_dir()).expect("the committed scenarios load");
    assert_eq!(scenarios.len(), 10);
    for scenario in &scenarios {
        // A fresh mock per scenario keeps each transcript independent of the others.
        let target = embedded();
        let result = run_on(&target, scenario).await;
        if let Outcome::Failed(failure) = &result.outcome {
            panic!("{} failed:\n{}", scenario.name, failure_text(failure));
        }
        assert!(result.passed(), "{}: {:?}", scenario.name, result.outcome);
        insta::assert_json_snapshot!(scenario.name.clone(), result.transcript);
    }
}

#[tokio::test]
async fn a_wrong_expectation_fails_naming_the_step_with_expected_and_actual() {
    let text = r#"{
      "name": "wrong-expectation",
      "description": "Expects 200 and a wrong last name from a create that answers 201.",
      "headers": { "Procore-Company-Id": "{{company_id}}" },
      "steps": [
        { "name": "list", "request": { "method": "GET", "path": "/rest/v1.0/companies/{{company_id}}/users" },
          "expect": { "status": 200 } },
        { "name": "create expecting the wrong answer",
          "request": { "method": "POST", "path": "/rest/v1.0/companies/{{company_id}}/users",
            "json": { "user": { "last_name": "Real", "email_address": "wrong-{{run_id}}@example.com" } } },
          "expect": { "status": 200, "headers": { "Total": { "present": true } },
            "json": { "last_name": "Imagined", "id": "$string" } } }
      ]
    }"#;
    let scenario = scenario::parse(text, Path::new("inline.json")).expect("valid scenario");
    let target = embedded();
    let result = run_on(&target, &scenario).await;
    let report = failure_of(&result);
    assert!(
        report.starts_with("at step 2 \"create expecting the wrong answer\"\n"),
        "{report}"
    );
    for line in [
        "request: POST http://127.0.0.1:",
        "- status: expected 200, got 201",
        "- header Total: expected present, got (absent)",
        "- json at /last_name: expected \"Imagined\", got \"Real\"",
        "- json at /id: expected $string, got ",
        "answered: 201",
        "body: {\"id\":",
    ] {
        assert!(report.contains(line), "missing `{line}` in:\n{report}");
    }
    assert!(!report.contains(RUN_ID) || report.contains("wrong-testrun1@example.com"));
}

#[tokio::test]
async fn a_target_answering_500_on_remove_fails_the_scenario_at_the_remove_step() {
    let target = embedded();
    let fault = reqwest::Client::new()
        .post(format!("{}/__admin/faults", target.credentials.api_base))
        .json(&json!({
            "method": "DELETE",
            "path": "/rest/v1.0/projects/{project_id}/users/{id}/actions/remove",
            "status": 500
        }))
        .send()
        .await
        .expect("the admin API answers");
    assert_eq!(fault.status(), StatusCode::CREATED);
    let result = run_on(&target, &scenario_named("change-permission-template")).await;
    let report = failure_of(&result);
    assert!(
        report.starts_with("at step 6 \"remove from the project\"\n"),
        "{report}"
    );
    assert!(
        report.contains("- status: expected 204, got 500"),
        "{report}"
    );
    assert!(report.contains("- body: expected empty, got "), "{report}");
}

#[tokio::test]
async fn a_sandbox_target_skips_mock_only_scenarios_and_says_so() {
    // A mock reached as a "sandbox" has no mock powers as far as the harness knows, which is
    // exactly how a real sandbox is run: the other scenarios must pass without them.
    let server = MockServer::start();
    let env: BTreeMap<String, String> = [
        ("PROCORE_API_BASE", server.url()),
        ("PROCORE_LOGIN_BASE", server.url()),
        ("PROCORE_CLIENT_ID", "procore-mock-client"),
        ("PROCORE_CLIENT_SECRET", "procore-mock-secret"),
        ("PROCORE_COMPANY_ID", "8001"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let target = Target::resolve_with_env(&TargetSpec::Sandbox, false, &env).expect("complete");
    let runner = Runner::connect(&target, RUN_ID.to_owned())
        .await
        .expect("the runner connects");
    let mut results = Vec::new();
    for scenario in scenario::load_dir(&scenarios_dir()).expect("scenarios load") {
        results.push(runner.run(&scenario).await);
    }
    let text = report::text(&target.name, &results);
    assert!(
        text.ends_with("\n7 passed, 0 failed, 3 skipped\n"),
        "{text}"
    );
    assert!(
        text.contains("SKIP rate-limits: needs mock-only powers (admin API, clock, rate limits, faults); sandbox is not a mock"),
        "{text}"
    );
}

#[tokio::test]
async fn seed_only_scenarios_are_skipped_on_an_official_profile_mock() {
    let target =
        Target::embedded(MockServer::builder().profile(Profile::Official)).expect("mock starts");
    let result = run_on(&target, &scenario_named("seed-extras")).await;
    match result.outcome {
        Outcome::Skipped(reason) => assert_eq!(
            reason,
            "needs the `documented` profile; the mock serves `official`"
        ),
        other => panic!("expected a skip, got {other:?}"),
    }
    let portable = run_on(&target, &scenario_named("provision-employee")).await;
    assert!(portable.passed(), "{:?}", portable.outcome);
}

#[test]
fn the_binary_runs_every_scenario_against_a_running_mock_and_writes_junit() {
    let server = MockServer::start();
    let junit = std::env::temp_dir().join(format!("procore-contract-{}.xml", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--reset", "--target", server.url(), "--junit"])
        .arg(&junit)
        .arg("--scenarios")
        .arg(scenarios_dir())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("  PASS provision-employee"), "{stdout}");
    assert!(
        stdout.ends_with("\n10 passed, 0 failed, 0 skipped\n"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    let _ = std::fs::remove_file(&junit);
    assert_eq!(xml.matches("<testcase ").count(), 10, "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
}

#[test]
fn the_binary_refuses_a_sandbox_without_credentials() {
    let output = Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--target", "sandbox", "--scenarios"])
        .arg(scenarios_dir())
        .env_clear()
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot use the sandbox: set PROCORE_API_BASE"),
        "{stderr}"
    );
}

#[test]
fn the_binary_names_file_step_and_field_of_an_invalid_scenario() {
    let dir = std::env::temp_dir().join(format!("procore-contract-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("bad.json"),
        r#"{"name": "bad", "description": "d", "steps": [
            {"name": "fine", "request": {"method": "GET", "path": "/a"}},
            {"name": "broken", "request": {"method": "GET", "path": "/a"}, "expect": {"stauts": 200}}]}"#,
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["run", "--scenarios"])
        .arg(&dir)
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.json: step 2 (\"broken\"), field expect"),
        "{stderr}"
    );
    assert!(stderr.contains("stauts"), "{stderr}");
}

#[tokio::test]
async fn the_client_follows_link_next_across_every_page() {
    let target = embedded();
    let mut client = target.client().with_company(8001);
    client.client_credentials().await.expect("token");
    let company = client.companies().await.expect("companies")[0].id;
    let paged = client
        .all_pages(
            ApiRequest::new(Method::GET, format!("/rest/v1.0/companies/{company}/users"))
                .query("per_page", "2"),
            100,
        )
        .await
        .expect("pages");
    let whole = client.company_users(company, &[]).await.expect("users");
    assert!(paged.len() > 2, "more than one page of users");
    assert_eq!(paged.len(), whole.len());
}

#[tokio::test]
async fn the_client_waits_out_a_429_on_the_mock_clock_within_its_retry_budget() {
    let target = embedded();
    let server = target.server().expect("embedded server");
    server.clock().set_frozen(true);
    let admin = reqwest::Client::new();
    admin
        .put(format!("{}/__admin/rate-limits", server.url()))
        .json(&json!({"spike": 1}))
        .send()
        .await
        .expect("limits set");
    let clock = server.clock().clone();
    // Waiting advances the mock's clock: no test ever sleeps.
    let wait: Wait = Arc::new(move |duration: Duration| {
        clock.advance_ms(duration.as_millis() as i64);
        Box::pin(async {})
    });
    let mut client = target.client().with_company(8001).with_wait(wait);
    client.client_credentials().await.expect("token");
    let me = ApiRequest::new(Method::GET, "/rest/v1.0/me");
    let first = client.send(&me).await.expect("answer");
    assert_eq!((first.status, first.retries), (StatusCode::OK, 0));
    let second = client.send(&me).await.expect("answer");
    assert_eq!((second.status, second.retries), (StatusCode::OK, 1));

    let impatient = client.clone().with_retry(RetryPolicy::NONE);
    let throttled = impatient.send(&me).await.expect("answer");
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.header("retry-after").is_some());
    let short_fuse = client.with_retry(RetryPolicy {
        max_retries: 3,
        max_wait: Duration::from_secs(1),
    });
    let refused = short_fuse.send(&me).await.expect("answer");
    assert_eq!(
        (refused.status, refused.retries),
        (StatusCode::TOO_MANY_REQUESTS, 0),
        "a wait longer than max_wait hands the 429 back"
    );
}

#[tokio::test]
async fn the_typed_client_provisions_and_offboards_a_user() {
    let target = embedded();
    let mut issuer = target.client();
    let token = issuer.client_credentials().await.expect("token").clone();
    // A stored token can be reused by another client without a new grant.
    let client = target.client().with_token(token);
    let company = client.companies().await.expect("companies")[0].id;
    let client = client.with_company(company);
    let project = client.projects(company).await.expect("projects")[0].id;

    let fields = json!({"last_name": "Typed", "email_address": "typed@example.com"});
    let created = client
        .create_company_user(company, fields.as_object().expect("object").clone())
        .await
        .expect("answer");
    assert_eq!(created.status, StatusCode::CREATED);
    let user: procore_contract::client::User = created.decode("create").expect("a user");
    let duplicate = client
        .create_company_user(company, fields.as_object().expect("object").clone())
        .await
        .expect("a 409 is an answer, not an error");
    assert_eq!(duplicate.status, StatusCode::CONFLICT);

    let added = client
        .add_to_project(project, user.id, None)
        .await
        .expect("answer");
    assert_eq!(added.status, StatusCode::CREATED);
    let members = client.project_users(project).await.expect("members");
    assert!(members.iter().any(|m| m.id == user.id));

    let deactivated = client
        .update_company_user(
            company,
            user.id,
            json!({"is_active": false})
                .as_object()
                .expect("object")
                .clone(),
        )
        .await
        .expect("answer");
    assert_eq!(deactivated.status, StatusCode::OK);
    let active = client.company_users(company, &[]).await.expect("users");
    assert!(active.iter().all(|u| u.id != user.id));

    let removed = client
        .remove_from_project(project, user.id)
        .await
        .expect("answer");
    assert_eq!(
        (removed.status, removed.body.len()),
        (StatusCode::NO_CONTENT, 0)
    );
    let members = client.project_users(project).await.expect("members");
    assert!(members.iter().all(|m| m.id != user.id));
}

#[tokio::test]
async fn a_mock_guarded_by_an_admin_token_runs_mock_only_scenarios_with_it() {
    let config = Config {
        admin_token: Some("s3cret".to_owned()),
        ..Config::default()
    };
    let target = Target::embedded(MockServer::builder().config(config)).expect("mock starts");
    target.reset().await.expect("reset with the admin token");
    let result = run_on(&target, &scenario_named("rate-limits")).await;
    assert!(result.passed(), "{:?}", result.outcome);
    let unguarded = target.with_admin_token(None);
    let refused = unguarded.reset().await.expect_err("no token, no reset");
    assert!(refused.to_string().contains("answered 401"), "{refused}");
}
