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
