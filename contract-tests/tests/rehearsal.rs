//! Rate-limit rehearsal and client audit against the embedded mock: polite clients stay within
//! the limits and commit no violations, naive ones do, and the audit tells them apart.

use procore_contract::admin::{JournalEntry, JournalFilter};
use procore_contract::rehearsal::{self, audit, chart, RehearsalOptions, Strategy};
use procore_contract::target::{Target, TargetArgs, TargetSpec};
use procore_mock::MockServer;

/// The running mock `server`, logged in as `client`.
fn target(server: &MockServer, client: (&str, &str)) -> Target {
    Target::open(&TargetArgs {
        client_id: Some(client.0.to_owned()),
        client_secret: Some(client.1.to_owned()),
        ..TargetArgs::new(TargetSpec::Url(server.url().to_owned()))
    })
    .unwrap()
}

async fn journal(server: &MockServer) -> Vec<JournalEntry> {
    target(server, ("procore-mock-client", "procore-mock-secret"))
        .admin()
        .unwrap()
        .journal(&JournalFilter::default())
        .await
        .unwrap()
}

fn options() -> RehearsalOptions {
    RehearsalOptions {
        clients: 6,
        seconds: 90,
        work_per_client: 8,
        endpoint: "/rest/v1.0/me".to_owned(),
        tick_ms: 250,
        seed: 7,
        progress: None,
    }
}

async fn set_spike_limit(server: &MockServer, spike: u64) {
    let response = reqwest::Client::new()
        .put(format!("{}/__admin/rate-limits", server.url()))
        .json(&serde_json::json!({"hourly": 0, "spike": spike}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn polite_clients_stay_within_the_limit_naive_ones_violate_and_the_audit_tells_them_apart() {
    let server = MockServer::start();
    set_spike_limit(&server, 10).await;
    let polite_app = ("procore-mock-client", "procore-mock-secret");
    let naive_app = ("procore-mock-standard", "procore-mock-standard-secret");

    let polite = rehearsal::rehearse(&target(&server, polite_app), &options(), Strategy::Polite)
        .await
        .unwrap();
    assert_eq!(polite.violations, 0, "{}", polite.closing_line());
    assert!(
        polite.throttled > 0,
        "the rehearsal reached the limit: {}",
        polite.closing_line()
    );
    let spike = polite.windows.iter().find(|w| w.name == "spike").unwrap();
    assert!(
        spike.max_admitted <= spike.limit,
        "{}",
        polite.closing_line()
    );
    assert_eq!(polite.admitted, 6 * 8, "every client finished its work");
    assert!(polite.finished_in_seconds.is_some());

    let naive = rehearsal::rehearse(&target(&server, naive_app), &options(), Strategy::Naive)
        .await
        .unwrap();
    assert!(naive.violations > 0, "{}", naive.closing_line());
    assert!(
        naive.throttled > polite.throttled,
        "naive retries hammer the limit"
    );
    let spike = naive.windows.iter().find(|w| w.name == "spike").unwrap();
    assert!(
        spike.max_admitted <= spike.limit,
        "the mock never admits past its limit, even for naive clients"
    );
    assert!(
        naive
            .closing_line()
            .starts_with("naive: admitted 48, throttled "),
        "{}",
        naive.closing_line()
    );

    let verdicts = audit::audit(&audit::observations(&journal(&server).await), None);
    let verdict = |client: &str| verdicts.iter().find(|a| a.client_id == client).unwrap();
    assert_eq!(verdict(polite_app.0).verdict, "polite");
    assert!(verdict(polite_app.0).violations.is_empty());
    assert_eq!(verdict(naive_app.0).verdict, "impolite");
    assert!(!verdict(naive_app.0).violations.is_empty());
    assert!(verdict(naive_app.0).throttled > 0);
}

#[tokio::test]
async fn the_chart_is_valid_svg_with_both_series_and_the_limit() {
    let server = MockServer::start();
    set_spike_limit(&server, 5).await;
    let summary = rehearsal::rehearse(
        &target(&server, ("procore-mock-client", "procore-mock-secret")),
        &options(),
        Strategy::Naive,
    )
    .await
    .unwrap();
    let svg = chart::render(
        "naive",
        &summary.series,
        rehearsal::limit_per_second(&summary),
    );
    let document = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let polyline = |id: &str| {
        document
            .descendants()
            .find(|n| n.tag_name().name() == "polyline" && n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("a {id} series"))
    };
    for id in ["admitted", "throttled"] {
        let points = polyline(id)
            .attribute("points")
            .unwrap()
            .split_whitespace()
            .count();
        assert_eq!(points, summary.series.len(), "one point per second");
    }
    assert!(document
        .descendants()
        .any(|n| n.attribute("id") == Some("limit")));
    let admitted: u64 = summary.series.iter().map(|s| s.admitted).sum();
    assert_eq!(admitted, summary.admitted);
}

#[test]
fn the_cli_rehearses_writes_summary_and_chart_and_audits() {
    let server = MockServer::start();
    let out = std::env::temp_dir().join(format!("procore-rehearsal-{}", std::process::id()));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args([
            "rehearse",
            "--target",
            server.url(),
            "--clients",
            "4",
            "--seconds",
            "60",
            "--work",
            "5",
            "--spike",
            "6",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("polite: admitted 20, throttled ")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("naive: admitted 20, throttled ")),
        "{stdout}"
    );
    for file in [
        "polite-summary.json",
        "polite-chart.svg",
        "naive-summary.json",
        "naive-chart.svg",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("polite-summary.json")).unwrap())
            .unwrap();
    for key in [
        "attempted",
        "admitted",
        "throttled",
        "series",
        "windows",
        "latency_ms",
        "finished_in_seconds",
        "violations",
    ] {
        assert!(summary.get(key).is_some(), "{key}");
    }
    std::fs::remove_dir_all(&out).unwrap();

    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["audit", "--target", server.url()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&audit.stdout);
    assert_eq!(
        audit.status.code(),
        Some(1),
        "the naive run's violations fail the audit: {report}"
    );
    assert!(report.contains("impolite"), "{report}");
    let lenient = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(["audit", "--target", server.url(), "--no-fail"])
        .output()
        .unwrap();
    assert!(lenient.status.success());
}
