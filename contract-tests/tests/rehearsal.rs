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
    // Regression: a second rehearsal found the window the first left full, and its discovery
    // died on the 429 instead of waiting it out.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args([
            "rehearse",
            "--target",
            server.url(),
            "--clients",
            "4",
            "--seconds",
            "60",
        ])
        .args(["--work", "5", "--strategy", "naive", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no progress codes in redirected stderr: {stderr:?}"
    );
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

/// Sends `requests` GETs of `/rest/v1.0/me` as `client` against a mock whose clock is frozen;
/// after a 429 the client waits `wait(retry_after)` seconds of mock time.
async fn traffic(
    server: &MockServer,
    client: (&str, &str),
    requests: usize,
    wait: impl Fn(f64) -> f64,
) {
    let target = target(server, client);
    let api = target.client(None);
    api.authenticate().await.unwrap();
    let admin = target.admin().unwrap();
    for _ in 0..requests {
        let answer = api
            .request(
                reqwest::Method::GET,
                "/rest/v1.0/me",
                &[],
                &Default::default(),
            )
            .await
            .unwrap();
        if answer.status == 429 {
            let retry_after: f64 = answer.header("retry-after").unwrap().parse().unwrap();
            admin.advance_clock(wait(retry_after)).await.unwrap();
        }
    }
}

/// A mock with a spike limit of 3 requests per 10 s and a frozen clock.
async fn spiky_mock() -> MockServer {
    let server = MockServer::start();
    set_spike_limit(&server, 3).await;
    let admin = target(&server, ("procore-mock-client", "procore-mock-secret"));
    admin
        .admin()
        .unwrap()
        .call(
            reqwest::Method::PUT,
            "/clock",
            Some(&serde_json::json!({"frozen": true})),
        )
        .await
        .unwrap();
    server
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_procore-contract"))
        .args(args)
        .env_remove("PROCORE_MOCK_ADMIN_TOKEN")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_audit_grades_a_client_waiting_exactly_retry_after_as_polite() {
    let server = spiky_mock().await;
    let exact = ("procore-mock-client", "procore-mock-secret");
    let eager = ("procore-mock-standard", "procore-mock-standard-secret");
    traffic(&server, exact, 12, |retry_after| retry_after).await;
    let eager_from = journal(&server).await.last().unwrap().id + 1;
    traffic(&server, eager, 12, |retry_after| retry_after / 4.0).await;

    let polite = cli(&[
        "audit",
        "--target",
        server.url(),
        "--client-id",
        exact.0,
        "--json",
    ]);
    let verdicts: serde_json::Value = serde_json::from_slice(&polite.stdout).unwrap();
    assert_eq!(verdicts.as_array().unwrap().len(), 1, "{verdicts}");
    assert_eq!(verdicts[0]["verdict"], "polite", "{verdicts}");
    assert!(
        verdicts[0]["throttled"].as_u64().unwrap() > 0,
        "it met the limit"
    );
    assert!(polite.status.success());

    let since = eager_from.to_string();
    let impolite = cli(&["audit", "--target", server.url(), "--since", &since]);
    let text = String::from_utf8_lossy(&impolite.stdout);
    assert_eq!(impolite.status.code(), Some(1), "{text}");
    assert!(
        !text.contains(exact.0),
        "--since leaves the earlier client out: {text}"
    );
    assert!(
        text.contains("procore-mock-standard: 12 requests"),
        "{text}"
    );
    let violation = regex::Regex::new(
        r"  #\d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z GET /rest/v1\.0/me: sent \d+ ms before Retry-After \d+ s of #\d+ \(\d{4}-",
    )
    .unwrap();
    assert!(violation.is_match(&text), "{text}");
}

#[tokio::test]
async fn coverage_shows_what_the_traffic_met_and_how_to_provoke_the_rest() {
    let server = spiky_mock().await;
    let app = ("procore-mock-client", "procore-mock-secret");
    traffic(&server, app, 6, |retry_after| retry_after).await;
    let covered = |json: bool| {
        let mut args = vec!["coverage", "--target", server.url(), "--client-id", app.0];
        if json {
            args.push("--json");
        }
        cli(&args)
    };
    let output = covered(true);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let me = &report["operations"][0];
    assert_eq!(me["operation"], "GET /rest/v1.0/me");
    assert!(
        me["statuses"]["200"].as_u64().unwrap() > 0 && me["statuses"]["429"].as_u64().unwrap() > 0,
        "{me}"
    );
    let never: Vec<u64> = me["never_met"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["status"].as_u64())
        .collect();
    assert_eq!(never, [400, 401, 403, 404, 503]);

    // The suggested fault rule makes the mock answer 503, which coverage then sees.
    let suggestion = me["never_met"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == 503)
        .unwrap()["provoke"]
        .clone();
    assert_eq!(suggestion["path"], "/__admin/faults");
    let target = target(&server, app);
    target
        .admin()
        .unwrap()
        .add_fault(&suggestion["body"])
        .await
        .unwrap();
    traffic(&server, app, 1, |retry_after| retry_after).await;
    let text = String::from_utf8_lossy(&covered(false).stdout).to_string();
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("200") && header.contains("429") && header.contains("503"),
        "{text}"
    );
    assert!(
        text.contains("token expiry (401): renew the token and retry: POST /__admin/clock/advance {\"seconds\":5400}"),
        "{text}"
    );
}

/// Coverage kept its own list of Procore's operations: it counted no Crux Connect call, and it
/// could not tell a page past the end from any other page, so it always listed one as unmet.
#[tokio::test]
async fn coverage_counts_crux_calls_and_sees_a_page_past_the_end() {
    let server = MockServer::start();
    let app = ("procore-mock-client", "procore-mock-secret");
    let api = target(&server, app).client(Some(8001));
    api.authenticate().await.unwrap();
    for path in [
        "/rest/v1.1/companies/8001/users",
        "/rest/v1.1/companies/8001/users?page=1000",
        "/rest/v1.0/companies/8001/users",
        "/rest/v1.0/me",
    ] {
        let answer = api
            .request(reqwest::Method::GET, path, &[], &Default::default())
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{path}");
    }
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/organizations/user-login/", server.url()))
        .json(&serde_json::json!({
            "username": "crux-admin@summit-builders.example",
            "password": "crux-admin-password",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["auth_token"].as_str().unwrap();
    let users = http
        .get(format!("{}/timp/organizations/users/all/", server.url()))
        .header("Authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);

    let output = cli(&["coverage", "--target", server.url(), "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let operation = |name: &str| {
        report["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|op| op["operation"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    let reminded = |op: &serde_json::Value| {
        op["never_met"]
            .as_array()
            .unwrap()
            .iter()
            .any(|unmet| unmet["status"].is_null())
    };

    let login = operation("POST /organizations/user-login/");
    assert_eq!(login["statuses"]["200"], 1, "{login}");
    let all = operation("GET /timp/organizations/users/all/");
    assert_eq!(all["calls"], 1, "{all}");
    let never: Vec<u64> = all["never_met"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["status"].as_u64())
        .collect();
    assert_eq!(
        never,
        [401, 403],
        "Crux's own statuses, as its document lists them"
    );
    let never_called: Vec<&str> = report["never_called"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|name| name.as_str())
        .collect();
    assert!(
        never_called.contains(&"PATCH /organizations/users/permissions/{user_uuid}/"),
        "every Crux operation the mock serves is known: {never_called:?}"
    );

    let paged = operation("GET /rest/v1.1/companies/{company_id}/users");
    assert_eq!(
        paged["calls"], 2,
        "a page past the end is a call of the list: {paged}"
    );
    assert_eq!(paged["pages_past_the_end"], 1, "{paged}");
    assert!(!reminded(&paged), "{paged}");
    let unpaged = operation("GET /rest/v1.0/companies/{company_id}/users");
    assert_eq!(unpaged["pages_past_the_end"], 0, "{unpaged}");
    assert!(reminded(&unpaged), "never paged past its end: {unpaged}");
    let me = operation("GET /rest/v1.0/me");
    assert!(
        me.get("pages_past_the_end").is_none(),
        "/me is no list: {me}"
    );
    assert!(!reminded(&me), "{me}");
}
