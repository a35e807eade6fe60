//! Reports: a text report for people and JUnit XML for CI.

use std::fmt::Write as _;

use super::run::{Outcome, ScenarioResult};

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Scenarios that passed.
    pub passed: usize,
    /// Scenarios that failed.
    pub failed: usize,
    /// Scenarios skipped on this target.
    pub skipped: usize,
}

/// Tallies results.
pub fn totals(results: &[ScenarioResult]) -> Totals {
    results.iter().fold(Totals::default(), |mut t, r| {
        match r.outcome {
            Outcome::Passed => t.passed += 1,
            Outcome::Failed(_) => t.failed += 1,
            Outcome::Skipped(_) => t.skipped += 1,
        }
        t
    })
}

/// The text report: one line per scenario, the details of each failure, and the tally as
/// `N passed, N failed, N skipped`.
pub fn text(results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    for result in results {
        match &result.outcome {
            Outcome::Passed => {
                let _ = writeln!(out, "PASS  {} ({:.2} s)", result.name, result.seconds);
            }
            Outcome::Skipped(reason) => {
                let _ = writeln!(out, "SKIP  {}: {reason}", result.name);
            }
            Outcome::Failed(failure) => {
                let _ = writeln!(out, "FAIL  {}", result.name);
                let _ = writeln!(out, "      step {}: {}", failure.step, failure.step_name);
                let _ = writeln!(out, "      request:  {}", failure.request);
                for line in &failure.expected {
                    let _ = writeln!(out, "      expected: {line}");
                }
                for line in &failure.problems {
                    let _ = writeln!(out, "      actual:   {line}");
                }
                let body = serde_json::to_string_pretty(&failure.body).unwrap_or_default();
                let _ = writeln!(out, "      body ({}):", failure.status);
                for line in body.lines().take(40) {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
    }
    let totals = totals(results);
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.skipped
    );
    out
}

/// JUnit XML with one test case per scenario; `reset` (what the run reset, from
/// `Target::reset_note`) is recorded as a suite property.
pub fn junit(results: &[ScenarioResult], reset: &str) -> String {
    let totals = totals(results);
    let seconds: f64 = results.iter().map(|r| r.seconds).sum();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"procore-contract\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">\n",
        results.len(),
        totals.failed,
        totals.skipped
    );
    let _ = writeln!(
        out,
        "    <properties>\n      <property name=\"reset\" value=\"{}\"/>\n    </properties>",
        escape(reset)
    );
    for result in results {
        let _ = write!(
            out,
            "    <testcase classname=\"scenarios\" name=\"{}\" time=\"{:.3}\"",
            escape(&result.name),
            result.seconds
        );
        match &result.outcome {
            Outcome::Passed => out.push_str("/>\n"),
            Outcome::Skipped(reason) => {
                let _ = write!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(reason)
                );
            }
            Outcome::Failed(failure) => {
                let message = format!(
                    "step {} ({}): {}",
                    failure.step,
                    failure.step_name,
                    failure.problems.join("; ")
                );
                let detail = text(std::slice::from_ref(result));
                let _ = write!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    escape(&message),
                    escape(&detail)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
