//! Scenario files: the format ([`schema`]), where a run reads them from ([`source`]: a named
//! path, `./scenarios`, or the ones built in), templating and matching ([`matching`]), the
//! runner ([`run`]) and the reports ([`report`]).

pub mod matching;
pub mod report;
pub mod run;
pub mod schema;
pub mod source;

pub use run::{Outcome, Runner, ScenarioResult};
pub use schema::Scenario;
pub use source::ScenarioSource;

/// Runs `scenarios` in order on one runner, calling `progress` after each.
pub async fn run_all(
    runner: &Runner,
    scenarios: &[Scenario],
    mut progress: impl FnMut(&ScenarioResult),
) -> Vec<ScenarioResult> {
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let result = runner.run(scenario).await;
        progress(&result);
        results.push(result);
    }
    results
}
