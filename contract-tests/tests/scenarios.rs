//! The scenario harness against the embedded mock: every shipped scenario passes (and its
//! normalized transcript is snapshotted), and the runner fails loudly, naming the step, when an
//! expectation is wrong or the target misbehaves.

use std::path::PathBuf;

use procore_contract::client::{ClientConfig, ProcoreClient};
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
    let junit = report::junit(std::slice::from_ref(&result));
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
    assert_eq!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .matches("<testcase ")
            .count(),
        1
    );

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
                .any(|r| r == "mock-only" || r == "profile:documented")
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
