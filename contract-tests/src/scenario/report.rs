//! Reports of a run: readable text for people, JUnit XML (one test case per scenario) for CI.

use std::fmt::Write as _;
use std::time::Duration;

use super::runner::{Failure, Outcome, ScenarioResult};

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Scenarios that passed.
    pub passed: usize,
    /// Scenarios that failed.
    pub failed: usize,
    /// Scenarios the target could not run.
    pub skipped: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[ScenarioResult]) -> Self {
        let mut summary = Summary::default();
        for result in results {
            match result.outcome {
                Outcome::Passed => summary.passed += 1,
                Outcome::Failed(_) => summary.failed += 1,
                Outcome::Skipped(_) => summary.skipped += 1,
            }
        }
        summary
    }
}

/// The text report: one line per scenario, the details of each failure, and a summary.
pub fn text(target: &str, results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "procore-contract against {target}");
    for result in results {
        let seconds = result.duration.as_secs_f64();
        match &result.outcome {
            Outcome::Passed => {
                let _ = writeln!(out, "  PASS {} ({seconds:.2}s)", result.name);
            }
            Outcome::Skipped(reason) => {
                let _ = writeln!(out, "  SKIP {}: {reason}", result.name);
            }
            Outcome::Failed(failure) => {
                let _ = writeln!(out, "  FAIL {} ({seconds:.2}s)", result.name);
                out.push_str(&indent(&failure_text(failure), "       "));
            }
        }
    }
    let summary = Summary::of(results);
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        summary.passed, summary.failed, summary.skipped
    );
    out
}

/// A failure on its own: the step, the request, expected against actual, and the body.
pub fn failure_text(failure: &Failure) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "at {}", failure.step);
    if let Some(request) = &failure.request {
        let _ = writeln!(out, "request: {request}");
    }
    for problem in &failure.problems {
        let _ = writeln!(out, "- {problem}");
    }
    if let Some(status) = failure.status {
        let _ = writeln!(out, "answered: {status}");
    }
    if let Some(body) = &failure.body {
        let body = if body.is_empty() { "(empty)" } else { body };
        let _ = writeln!(out, "body: {body}");
    }
    out
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}\n"))
        .collect()
}

/// JUnit XML: one `<testcase>` per scenario, `<failure>` with the failure text, `<skipped>`
/// with the reason.
pub fn junit(target: &str, results: &[ScenarioResult]) -> String {
    let summary = Summary::of(results);
    let total: Duration = results.iter().map(|r| r.duration).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"procore-contract\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        results.len(),
        summary.failed,
        summary.skipped,
        total.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"procore-contract ({})\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        xml(target),
        results.len(),
        summary.failed,
        summary.skipped,
        total.as_secs_f64()
    );
    for result in results {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"procore-contract\" time=\"{:.3}\"",
            xml(&result.name),
            result.duration.as_secs_f64()
        );
        match &result.outcome {
            Outcome::Passed => out.push_str("/>\n"),
            Outcome::Skipped(reason) => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml(reason)
                );
            }
            Outcome::Failed(failure) => {
                let message = format!(
                    "{}: {}",
                    failure.step,
                    failure.problems.first().map_or("", String::as_str)
                );
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml(&message),
                    xml(&failure_text(failure))
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            name: name.to_owned(),
            outcome,
            duration: Duration::from_millis(5),
            transcript: Vec::new(),
        }
    }

    #[test]
    fn junit_has_one_case_per_scenario_and_escapes_text() {
        let failure = Failure {
            step: "step 2 \"add <user>\"".to_owned(),
            request: Some("POST http://x/a".to_owned()),
            problems: vec!["status: expected 201, got 422".to_owned()],
            status: Some(422),
            body: Some("{\"message\":\"a & b\"}".to_owned()),
        };
        let results = [
            result("ok", Outcome::Passed),
            result("bad", Outcome::Failed(Box::new(failure))),
            result("later", Outcome::Skipped("needs a mock".to_owned())),
        ];
        let xml = junit("embedded", &results);
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert!(xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""));
        assert!(xml.contains("step 2 &quot;add &lt;user&gt;&quot;: status: expected 201, got 422"));
        assert!(xml.contains("a &amp; b"));
        let text = text("embedded", &results);
        assert!(text.ends_with("1 passed, 1 failed, 1 skipped\n"), "{text}");
    }
}
