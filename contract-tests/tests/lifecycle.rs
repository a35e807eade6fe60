//! Random user lifecycles against the embedded mock, checked against the reference model.

use procore_contract::lifecycle::{self, targets::EmbeddedTarget, LifecycleOptions};
use procore_mock::Profile;

fn options(cases: u32) -> LifecycleOptions {
    LifecycleOptions {
        cases,
        max_steps: 24,
        seed: 0x5eed_cafe,
        regressions: Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/lifecycle.txt"
        )),
    }
}

#[test]
fn random_lifecycles_on_the_documented_profile_match_the_model() {
    let report = lifecycle::run(
        &mut EmbeddedTarget::new(Profile::Documented),
        None,
        &options(64),
    );
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    assert!(report.cases_run >= 64);
}

#[test]
fn random_lifecycles_on_the_official_profile_match_the_model() {
    let report = lifecycle::run(
        &mut EmbeddedTarget::new(Profile::Official),
        None,
        &options(16),
    );
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
}

/// An embedded target whose company-user PATCH a fault rule breaks (answers 500).
struct BrokenPatch(EmbeddedTarget);

impl lifecycle::CaseTarget for BrokenPatch {
    fn capabilities(&self) -> procore_contract::model::Capabilities {
        self.0.capabilities()
    }
    fn begin_case(&mut self) -> Result<lifecycle::Endpoint, String> {
        let endpoint = self.0.begin_case()?;
        let rule = serde_json::json!({"method": "PATCH", "path": "/rest/v1.0/companies/{company_id}/users/{id}", "status": 500});
        let status = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                reqwest::Client::new()
                    .post(format!("{}/__admin/faults", endpoint.api_base))
                    .json(&rule)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        assert_eq!(status, 201);
        Ok(endpoint)
    }
}

/// A broken target is caught, and the failure shrinks to a short sequence: create a user, then
/// update them.
#[test]
fn a_broken_target_is_caught_and_shrunk_to_a_short_sequence() {
    let mut target = BrokenPatch(EmbeddedTarget::new(Profile::Documented));
    let report = lifecycle::run(
        &mut target,
        None,
        &LifecycleOptions {
            regressions: None,
            ..options(64)
        },
    );
    let failure = report.failure.expect("the broken PATCH is caught");
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
    let mut same = EmbeddedTarget::new(Profile::Documented);
    let mut also_same = EmbeddedTarget::new(Profile::Documented);
    let agreed = lifecycle::run(
        &mut same,
        Some(&mut also_same),
        &LifecycleOptions {
            regressions: None,
            ..options(16)
        },
    );
    assert!(agreed.passed(), "{}", agreed.failure.unwrap_or_default());

    let mut healthy = EmbeddedTarget::new(Profile::Documented);
    let mut broken = BrokenPatch(EmbeddedTarget::new(Profile::Documented));
    let report = lifecycle::run(
        &mut healthy,
        Some(&mut broken),
        &LifecycleOptions {
            regressions: None,
            ..options(64)
        },
    );
    let failure = report.failure.expect("the targets differ");
    assert!(
        failure.contains("first target answered [200], second target answered [500]"),
        "{failure}"
    );
    assert!(
        failure.contains("minimal failing sequence (2 steps)"),
        "{failure}"
    );
}

/// A running mock guarded by `--admin-token` is driven with the token, and refused without it.
#[test]
fn a_guarded_running_mock_needs_the_admin_token() {
    use procore_contract::lifecycle::targets::RunningMockTarget;
    use procore_contract::lifecycle::CaseTarget;
    let config = procore_mock::Config {
        admin_token: Some("letmein".to_owned()),
        ..procore_mock::Config::default()
    };
    let server = procore_mock::MockServer::builder().config(config).start();
    let mut guarded = RunningMockTarget::new(server.url().to_owned(), Some("letmein".to_owned()));
    assert!(
        guarded.capabilities().controllable_clock,
        "the admin API answers with the token"
    );
    let report = lifecycle::run(
        &mut guarded,
        None,
        &LifecycleOptions {
            regressions: None,
            ..options(8)
        },
    );
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());

    let mut tokenless = RunningMockTarget::new(server.url().to_owned(), None);
    assert!(!tokenless.capabilities().controllable_clock);
    let error = tokenless.begin_case().expect_err("the reset is refused");
    assert!(error.contains("401"), "{error}");
}

/// An embedded target whose Crux revokes answer 200 without removing anything.
struct IgnoredRevokes(EmbeddedTarget);

impl lifecycle::CaseTarget for IgnoredRevokes {
    fn capabilities(&self) -> procore_contract::model::Capabilities {
        self.0.capabilities()
    }
    fn begin_case(&mut self) -> Result<lifecycle::Endpoint, String> {
        let endpoint = self.0.begin_case()?;
        let rule = serde_json::json!({
            "method": "DELETE", "path": "/organizations/users/permissions/{user_uuid}/",
            "status": 200, "body": {"permissions": [], "org_user": {}},
        });
        let status = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                reqwest::Client::new()
                    .post(format!("{}/__admin/faults", endpoint.api_base))
                    .json(&rule)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        assert_eq!(status, 201);
        Ok(endpoint)
    }
}

/// The Crux invariant bites: a target that acknowledges revokes without applying them is
/// caught, and the failure shrinks to the revoke of a permission the user holds.
#[test]
fn a_crux_target_that_ignores_revokes_is_caught() {
    let mut target = IgnoredRevokes(EmbeddedTarget::new(Profile::Documented));
    assert!(
        lifecycle::CaseTarget::capabilities(&target).crux,
        "the default data serves Crux"
    );
    let report = lifecycle::run(
        &mut target,
        None,
        &LifecycleOptions {
            regressions: None,
            ..options(64)
        },
    );
    let failure = report.failure.expect("the ignored revoke is caught");
    assert!(failure.contains("Crux: revoke permissions"), "{failure}");
    assert!(
        failure.contains("minimal failing sequence (1 steps)")
            || failure.contains("minimal failing sequence (2 steps)"),
        "{failure}"
    );
}
