//! Random user lifecycles against mock targets, checked against the reference model; broken
//! and differing targets are caught, and differential mode survives creates both targets
//! refuse.

use procore_contract::error::HarnessError;
use procore_contract::lifecycle::{self, CaseFailure, LifecycleFailure, LifecycleOptions};
use procore_contract::target::{ResetPolicy, Target, TargetArgs, TargetSpec};
use procore_mock::{Config, MockServer, Profile};
use serde_json::json;

fn options(cases: u32) -> LifecycleOptions {
    LifecycleOptions {
        cases,
        max_steps: 24,
        seed: 0x5eed_cafe,
        regressions: None,
    }
}

fn embedded(profile: Profile) -> Target {
    Target::open(&TargetArgs {
        profile: Some(profile),
        ..TargetArgs::default()
    })
    .unwrap()
}

/// A running mock without an hourly limit, which the harness will not reset, with `rules`
/// added as fault rules: what a team tests against when it breaks the mock on purpose.
fn running_with_faults(server: &MockServer, rules: &[serde_json::Value]) -> Target {
    let target = Target::open(&TargetArgs::new(TargetSpec::Url(server.url().to_owned())))
        .unwrap()
        .with_reset_policy(Some(ResetPolicy::Never))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for rule in rules {
        runtime
            .block_on(target.admin().unwrap().add_fault(rule))
            .unwrap();
    }
    target
}

fn unlimited_mock() -> MockServer {
    MockServer::builder()
        .config(Config {
            rate_limit_hourly: 0,
            ..Config::default()
        })
        .start()
}

const BROKEN_PATCH: &str =
    r#"{"method": "PATCH", "path": "/rest/v1.0/companies/{company_id}/users/{id}", "status": 500}"#;

#[test]
fn random_lifecycles_on_the_documented_profile_match_the_model() {
    let report = lifecycle::run(
        &embedded(Profile::Documented),
        None,
        &LifecycleOptions {
            regressions: Some(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/proptest-regressions/lifecycle.txt"
            )),
            ..options(64)
        },
    );
    assert!(
        report.passed(),
        "{}",
        report.failure.map(|f| f.to_string()).unwrap_or_default()
    );
    assert!(report.cases_run >= 64);
}

#[test]
fn random_lifecycles_on_the_official_profile_match_the_model() {
    let report = lifecycle::run(&embedded(Profile::Official), None, &options(16));
    assert!(
        report.passed(),
        "{}",
        report.failure.map(|f| f.to_string()).unwrap_or_default()
    );
}

/// A broken target is caught, and the failure shrinks to a short sequence: create a user, then
/// update them. The fault rule lives because the harness is told not to reset the mock.
#[test]
fn a_broken_target_is_caught_and_shrunk_to_a_short_sequence() {
    let server = unlimited_mock();
    let broken = running_with_faults(&server, &[serde_json::from_str(BROKEN_PATCH).unwrap()]);
    let report = lifecycle::run(&broken, None, &options(64));
    let failure = report
        .failure
        .expect("the broken PATCH is caught")
        .to_string();
    assert!(
        failure.contains("minimal failing sequence (2 steps)"),
        "{failure}"
    );
    assert!(failure.contains("got [500]"), "{failure}");
    assert!(failure.contains("replay with --seed"), "{failure}");
}

/// Differential mode reports the first step where two targets answer differently.
#[test]
fn differential_mode_reports_where_two_targets_differ() {
    let agreed = lifecycle::run(
        &embedded(Profile::Documented),
        Some(&embedded(Profile::Documented)),
        &options(16),
    );
    assert!(
        agreed.passed(),
        "{}",
        agreed.failure.map(|f| f.to_string()).unwrap_or_default()
    );

    let server = unlimited_mock();
    let broken = running_with_faults(&server, &[serde_json::from_str(BROKEN_PATCH).unwrap()]);
    let healthy_server = unlimited_mock();
    let healthy = running_with_faults(&healthy_server, &[]);
    let report = lifecycle::run(&healthy, Some(&broken), &options(64));
    let failure = report.failure.expect("the targets differ");
    // The failure is typed, so a caller can tell a difference from a setup error.
    match &failure {
        LifecycleFailure::Case {
            cause: CaseFailure::Differs { first, second, .. },
            transitions,
            ..
        } => {
            assert_eq!(
                (first.as_slice(), second.as_slice()),
                ([200].as_slice(), [500].as_slice())
            );
            assert_eq!(transitions.len(), 2);
        }
        other => panic!("not a difference: {other}"),
    }
    let failure = failure.to_string();
    assert!(
        failure.contains("first target answered [200], second target answered [500]"),
        "{failure}"
    );
    assert!(
        failure.contains("minimal failing sequence (2 steps)"),
        "{failure}"
    );
}

/// Regression: both targets refusing a create the same way made the model and the sessions'
/// ids drift, and the next step on that user panicked with an index out of bounds.
#[test]
fn differential_mode_agrees_when_both_targets_refuse_every_create() {
    let refuse =
        json!({"method": "POST", "path": "/rest/v1.0/companies/{company_id}/users", "status": 422});
    let (a, b) = (unlimited_mock(), unlimited_mock());
    let first = running_with_faults(&a, std::slice::from_ref(&refuse));
    let second = running_with_faults(&b, &[refuse]);
    let report = lifecycle::run(&first, Some(&second), &options(32));
    assert!(
        report.passed(),
        "{}",
        report.failure.map(|f| f.to_string()).unwrap_or_default()
    );
    assert!(report.cases_run >= 32);
}

/// When only one target refuses a create, the report names that step, not a later one acting
/// on the wrong user.
#[test]
fn differential_mode_reports_a_create_only_one_target_refuses() {
    let refuse =
        json!({"method": "POST", "path": "/rest/v1.0/companies/{company_id}/users", "status": 422});
    let (a, b) = (unlimited_mock(), unlimited_mock());
    let healthy = running_with_faults(&a, &[]);
    let refusing = running_with_faults(&b, &[refuse]);
    let report = lifecycle::run(&healthy, Some(&refusing), &options(32));
    let failure = report.failure.expect("the targets differ").to_string();
    assert!(
        failure.contains("second target answered [422]"),
        "{failure}"
    );
    assert!(
        failure.contains("minimal failing sequence (1 steps)"),
        "{failure}"
    );
}

/// A running mock guarded by `--admin-token` is driven with the token, and refused without it.
#[test]
fn a_guarded_running_mock_needs_the_admin_token() {
    let config = Config {
        admin_token: Some("letmein".to_owned()),
        ..Config::default()
    };
    let server = MockServer::builder().config(config).start();
    let spec = TargetSpec::Url(server.url().to_owned());
    let guarded = Target::open(&TargetArgs {
        admin_token: Some("letmein".to_owned()),
        ..TargetArgs::new(spec.clone())
    })
    .unwrap();
    let report = lifecycle::run(&guarded, None, &options(8));
    assert!(
        report.passed(),
        "{}",
        report.failure.map(|f| f.to_string()).unwrap_or_default()
    );

    let tokenless = Target::open(&TargetArgs::new(spec)).unwrap();
    let report = lifecycle::run(&tokenless, None, &options(8));
    let failure = report.failure.expect("the reset is refused");
    assert!(
        matches!(
            &failure,
            LifecycleFailure::Case {
                cause: CaseFailure::Setup(HarnessError::Answered { status: 401, .. }),
                ..
            }
        ),
        "a setup failure, typed: {failure}"
    );
    assert!(failure.to_string().contains("401"), "{failure}");
}

/// The README's example: a fault rule on a running mock is caught under `--reset never`; under
/// the default (`each`) the reset drops it, and the report says so.
#[test]
fn the_cli_keeps_a_running_mocks_fault_rule_only_under_reset_never() {
    let server = MockServer::start();
    running_with_faults(&server, &[serde_json::from_str(BROKEN_PATCH).unwrap()]);
    let lifecycle = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
            .args(["lifecycle", "--target", server.url(), "--seed", "42"])
            .args(extra)
            .env_remove("PROCORE_CLIENT_ID")
            .env_remove("PROCORE_CLIENT_SECRET")
            .output()
            .unwrap()
    };
    let kept = lifecycle(&["--reset", "never", "--cases", "256"]);
    let stdout = String::from_utf8_lossy(&kept.stdout);
    assert_eq!(kept.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("reset: never"), "{stdout}");
    assert!(
        stdout.contains("minimal failing sequence (2 steps)"),
        "{stdout}"
    );

    let dropped = lifecycle(&["--cases", "8"]);
    let stdout = String::from_utf8_lossy(&dropped.stdout);
    assert!(dropped.status.success(), "{stdout}");
    assert!(stdout.starts_with("reset: before each case"), "{stdout}");
}

/// Lifecycles on a mock check every step's webhook deliveries against the model: a mock that
/// loses `Project Users` deliveries (a drop rule on deliveries) is caught at the first add.
#[test]
fn a_mock_that_loses_webhook_deliveries_is_caught() {
    let server = unlimited_mock();
    let target = running_with_faults(&server, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let drop_memberships = json!({"action": "drop", "resource_name": "Project Users"});
    let (status, _) = runtime
        .block_on(target.admin().unwrap().send(
            reqwest::Method::POST,
            "/webhooks/faults",
            Some(&drop_memberships),
        ))
        .unwrap();
    assert_eq!(status, 201);
    let report = lifecycle::run(&target, None, &options(64));
    let failure = report
        .failure
        .expect("the lost deliveries are caught")
        .to_string();
    assert!(
        failure.contains("webhook deliveries differ from the model"),
        "{failure}"
    );
    assert!(
        failure.contains("expected [\"Project Users create"),
        "{failure}"
    );
    assert!(failure.contains("delivered []"), "{failure}");
}

/// The Crux invariant bites: a target that acknowledges revokes without applying them is
/// caught, and the failure names the revoke.
#[test]
fn a_crux_target_that_ignores_revokes_is_caught() {
    let server = unlimited_mock();
    let ignored_revokes = json!({
        "method": "DELETE", "path": "/organizations/users/permissions/{user_uuid}/",
        "status": 200, "body": {"permissions": [], "org_user": {}},
    });
    let target = running_with_faults(&server, &[ignored_revokes]);
    let report = lifecycle::run(&target, None, &options(64));
    let failure = report
        .failure
        .expect("the ignored revoke is caught")
        .to_string();
    assert!(failure.contains("Crux: revoke permissions"), "{failure}");
    assert!(
        failure.contains("minimal failing sequence (1 steps)")
            || failure.contains("minimal failing sequence (2 steps)"),
        "{failure}"
    );
}
