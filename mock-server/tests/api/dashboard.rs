//! The dashboard at `/__admin/ui`: served behind the admin guard with its assets compiled in,
//! and driven in a real headless Chromium over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). Screenshots of each view are saved under
//! `target/tmp/dashboard/`. Webhook deliveries go to a real receiver on a loopback port.

use std::future::Future;
use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use procore_mock::{Config, MockServer};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::webhooks::{company_hook, Behaviour, Receiver, USER_EVENTS};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How many times a wait looks for what it expects before the test fails.
const TRIES: u32 = 200;
/// The pause between two looks. The page polls the admin API every second, so a condition
/// normally holds within a few looks; the bound only decides when a broken page fails.
const BETWEEN_TRIES: Duration = Duration::from_millis(50);

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary_behind_the_admin_guard() {
    let app = TestApp::start_server(
        MockServer::builder()
            .config(Config {
                admin_token: Some("s3cret".to_owned()),
                ..Config::default()
            })
            .start(),
    )
    .await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = no_redirects.get(app.url(path));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send()
    };
    assert_eq!(get("/__admin/ui", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/__admin/ui?token=wrong", None).await.unwrap().status(),
        401
    );
    let signed_in = get("/__admin/ui?token=s3cret", None).await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(header(&signed_in, "location"), Some("/__admin/ui"));
    let cookie = header(&signed_in, "set-cookie").unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap();
    for (path, content_type) in [
        ("/__admin/ui", "text/html; charset=utf-8"),
        ("/__admin/ui/app.js", "text/javascript; charset=utf-8"),
        ("/__admin/ui/app.css", "text/css; charset=utf-8"),
    ] {
        let response = get(path, Some(cookie)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), Some(content_type));
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path} fetches nothing from elsewhere"
        );
    }
    assert_eq!(
        get("/__admin/clock", Some(cookie)).await.unwrap().status(),
        200,
        "the cookie opens the admin API the page calls"
    );
    assert_eq!(
        get("/__admin/clock", Some("procore_mock_admin=wrong"))
            .await
            .unwrap()
            .status(),
        401
    );
}

/// A chromedriver of our own and a Chromium session on it.
struct Browser {
    client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("{CHROMEDRIVER} did not start ({err}): apt-get install chromium chromium-driver (.ci/run does)")
            });
        let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-profile-{}-{port}", std::process::id()));
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1400,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let client = poll("chromedriver to accept a session", || async {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
                .ok()
        })
        .await;
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Runs `test` against the browser, then ends the session (whether or not `test` panicked).
    async fn run<F, Fut>(mut self, test: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()>,
    {
        let outcome = AssertUnwindSafe(test(self.client.clone()))
            .catch_unwind()
            .await;
        if outcome.is_err() {
            screenshot(&self.client, "failure").await;
        }
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Looks for something `TRIES` times; fails the test naming `what` when it never shows.
async fn poll<T, F, Fut>(what: &str, mut look: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..TRIES {
        if let Some(found) = look().await {
            return found;
        }
        tokio::time::sleep(BETWEEN_TRIES).await;
    }
    panic!("gave up waiting for {what}");
}

/// The visible text of every element matching `css`.
async fn texts(browser: &Client, css: &str) -> Vec<String> {
    let script =
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText);";
    match browser.execute(script, vec![json!(css)]).await {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|item| item.as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Waits until the texts of `css` satisfy `wanted`, and returns them; fails showing what the
/// page showed last.
async fn wait_for(browser: &Client, css: &str, wanted: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..TRIES {
        last = texts(browser, css).await;
        if wanted(&last) {
            return last;
        }
        tokio::time::sleep(BETWEEN_TRIES).await;
    }
    panic!("gave up waiting for `{css}` to show what the test expects; it shows {last:?}");
}

/// Whether the first of `texts` exists and satisfies `wanted`.
fn first_is(texts: &[String], wanted: impl Fn(&str) -> bool) -> bool {
    texts.first().is_some_and(|text| wanted(text))
}

/// Clicks the element `css` finds. The page redraws what it polls, so the element found may be
/// replaced before the click lands (a stale element): then it is found again.
async fn click(browser: &Client, css: &str) {
    poll(&format!("`{css}` to take a click"), || async {
        let element = browser.find(Locator::Css(css)).await.ok()?;
        element.click().await.ok()
    })
    .await;
}

/// Replaces the text of the field `css` finds with `text` (found again if it went stale).
async fn type_into(browser: &Client, css: &str, text: &str) {
    poll(&format!("`{css}` to take `{text}`"), || async {
        let element = browser.find(Locator::Css(css)).await.ok()?;
        element.clear().await.ok()?;
        element.send_keys(text).await.ok()
    })
    .await;
}

/// Scrolls the element `css` finds into view (for a screenshot of it).
async fn scroll_to(browser: &Client, css: &str) {
    let script = "document.querySelector(arguments[0]).scrollIntoView();";
    browser.execute(script, vec![json!(css)]).await.unwrap();
}

/// Saves a screenshot of the page as `target/tmp/dashboard/<name>.png`.
async fn screenshot(browser: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_requests_directory_limits_and_drives_the_control_plane() {
    let app = TestApp::frozen().await;
    let page = app.url("/__admin/ui");
    Browser::start()
        .await
        .run(|browser| async move {
            browser.goto(&page).await.unwrap();
            wait_for(&browser, "#requests-live", |t| {
                first_is(t, |x| x.starts_with("live"))
            })
            .await;

            // Requests: rows appear live, newest first.
            let ada = app.create_user("Lovelace", "ada@example.com").await;
            app.post_json(
                &format!("/rest/v1.0/projects/{PROJECT}/users/{ada}/actions/add"),
                &json!({"user": {"permission_template_id": SUB_TEMPLATE}}),
            )
            .await;
            app.get("/rest/v1.0/companies/8001/users/999999").await;
            let rows = wait_for(&browser, "#requests-body tr", |rows| {
                rows.len() == 4 && rows[0].contains("999999")
            })
            .await;
            assert!(rows[2].contains("/rest/v1.0/companies/8001/users") && rows[2].contains("201"));

            // Filters: by status class, then by route template.
            type_into(&browser, "#filter-status", "4xx").await;
            click(&browser, "#filters button[type=submit]").await;
            wait_for(&browser, "#requests-body tr", |rows| {
                rows.len() == 1 && rows[0].contains("404")
            })
            .await;
            type_into(&browser, "#filter-status", "").await;
            type_into(
                &browser,
                "#filter-path",
                "/rest/v1.0/projects/{project_id}/users/{id}/actions/add",
            )
            .await;
            click(&browser, "#filters button[type=submit]").await;
            wait_for(&browser, "#requests-body tr", |rows| {
                rows.len() == 1 && rows[0].contains("actions/add")
            })
            .await;
            click(&browser, "#filter-clear").await;
            wait_for(&browser, "#requests-body tr", |rows| rows.len() == 4).await;

            // A row opens the full request and answer.
            click(&browser, "#requests-body tr:nth-child(3)").await;
            let request_body = wait_for(&browser, "#detail-request-body", |t| {
                t.first()
                    .is_some_and(|body| body.contains("ada@example.com"))
            })
            .await;
            assert!(request_body[0].contains("\"last_name\": \"Lovelace\""));
            let response_body = texts(&browser, "#detail-response-body").await;
            assert!(response_body[0].contains(&format!("\"id\": {ada}")));
            let detail = texts(&browser, "#detail").await;
            assert!(
                detail[0].contains("x-rate-limit-remaining"),
                "{}",
                detail[0]
            );
            assert!(detail[0].contains("Bearer [redacted]"));
            screenshot(&browser, "requests").await;

            // Directory: companies -> users with search -> a user's projects -> a project's team.
            click(&browser, "#nav-directory").await;
            let users = wait_for(&browser, "#users-table tbody tr", |rows| rows.len() == 10).await;
            assert!(
                users.iter().any(|row| row.contains("inactive")),
                "inactive users are listed"
            );
            type_into(&browser, "#user-search", "lovelace").await;
            wait_for(&browser, "#users-table tbody tr", |rows| {
                rows.len() == 1 && rows[0].contains("ada@example.com")
            })
            .await;
            click(&browser, &format!("#users-table a[data-user='{ada}']")).await;
            let user_page = wait_for(&browser, "#user-page", |t| {
                t.first()
                    .is_some_and(|page| page.contains("Riverside Medical Center"))
            })
            .await;
            assert!(user_page[0].contains("Subcontractor"), "{}", user_page[0]);
            click(&browser, &format!("#user-page a[data-project='{PROJECT}']")).await;
            let members =
                wait_for(&browser, "#project-page tbody tr", |rows| rows.len() == 4).await;
            assert!(members
                .iter()
                .any(|row| row.contains("Lovelace") && row.contains("Subcontractor")));
            screenshot(&browser, "directory").await;

            // Rate limits: the app's windows, and its token live on the mock clock.
            click(&browser, "#nav-limits").await;
            let card = "[data-app='procore-mock-client']";
            let windows = wait_for(&browser, &format!("{card} tr[data-window]"), |rows| {
                !rows.is_empty()
            })
            .await;
            assert!(
                windows[0].contains("hourly") && windows[0].contains("3 / 3600"),
                "{}",
                windows[0]
            );
            wait_for(&browser, &format!("{card} tr[data-token]"), |rows| {
                rows.len() == 1 && rows[0].contains("live")
            })
            .await;
            screenshot(&browser, "limits").await;

            // Control: advance the clock past the token's 5400 s; the token shows expired.
            click(&browser, "#nav-control").await;
            wait_for(&browser, "#clock-state", |t| first_is(t, |x| x == "frozen")).await;
            type_into(&browser, "#advance-seconds", "5400").await;
            click(&browser, "#clock-advance button").await;
            wait_for(&browser, "#clock-now", |t| {
                first_is(t, |x| x == "2030-01-01T01:30:00.000Z")
            })
            .await;
            click(&browser, "#nav-limits").await;
            wait_for(&browser, &format!("{card} tr[data-token]"), |rows| {
                rows.len() == 1 && rows[0].contains("expired")
            })
            .await;

            // Control: freeze toggles, faults are added and removed.
            click(&browser, "#nav-control").await;
            click(&browser, "#clock-freeze").await;
            wait_for(&browser, "#clock-state", |t| {
                first_is(t, |x| x == "running")
            })
            .await;
            click(&browser, "#clock-freeze").await;
            wait_for(&browser, "#clock-state", |t| first_is(t, |x| x == "frozen")).await;
            type_into(
                &browser,
                "#fault-path",
                "/rest/v1.0/companies/{company_id}/users",
            )
            .await;
            type_into(&browser, "#fault-status", "503").await;
            type_into(&browser, "#fault-times", "2").await;
            click(&browser, "#fault-add button").await;
            wait_for(&browser, "#faults-body tr[data-fault]", |rows| {
                rows.len() == 1 && rows[0].contains("503")
            })
            .await;
            let (_, rules) = admin(&app, Method::GET, "/__admin/faults", None).await;
            assert_eq!(
                rules[0]["times"], 2,
                "the page added the rule through the admin API"
            );
            screenshot(&browser, "control").await;
            click(&browser, "#faults-body button").await;
            wait_for(&browser, "#faults-body tr", |rows| {
                first_is(rows, |x| x.contains("No fault rules"))
            })
            .await;
            type_into(&browser, "#fault-path", "no-slash").await;
            click(&browser, "#fault-add button").await;
            wait_for(&browser, "#error", |t| first_is(t, |x| x.contains("path"))).await;

            // Reset: the directory is back to the fixture and the journal is empty.
            click(&browser, "#reset").await;
            wait_for(&browser, "#reset-done", |t| {
                first_is(t, |x| x.contains("reset"))
            })
            .await;
            click(&browser, "#nav-directory").await;
            click(&browser, "#dir-users").await;
            type_into(&browser, "#user-search", "").await;
            let users = wait_for(&browser, "#users-table tbody tr", |rows| rows.len() == 9).await;
            assert!(!users.iter().any(|row| row.contains("Lovelace")));
            click(&browser, "#nav-requests").await;
            wait_for(&browser, "#requests-body tr", |rows| {
                rows.len() == 1 && rows[0].contains("No requests")
            })
            .await;
        })
        .await;
}

/// The last cell of a table row's text (cells are tab-separated in `innerText`).
fn last_cell(row: &str) -> &str {
    row.trim_end().rsplit('\t').next().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_view_shows_a_failing_webhook_delivery_until_a_flush_delivers_it() {
    let app = TestApp::frozen().await;
    let receiver = Receiver::start(Behaviour::Status(500)).await;
    let hook = company_hook(&app, &receiver.url, "procore", &USER_EVENTS).await;
    let page = format!("{}#control", app.url("/__admin/ui"));
    Browser::start()
        .await
        .run(|browser| async move {
            browser.goto(&page).await.unwrap();
            wait_for(&browser, "#webhooks-pending tr", |rows| {
                first_is(rows, |x| x.contains("Nothing waiting"))
            })
            .await;

            // The worker tries at once; the receiver's 500 leaves the event waiting for its
            // retry 1 s later on the mock clock. The card polls, so both show without a click.
            let ada = app.create_user("Lovelace", "ada@example.com").await;
            let waiting = wait_for(&browser, "#webhooks-pending tr", |rows| {
                rows.len() == 1 && rows[0].contains("2030-01-01T00:00:01.000Z")
            })
            .await;
            for expected in [
                hook.to_string(),
                receiver.url.clone(),
                "Company Users create".to_owned(),
                ada.to_string(),
            ] {
                assert!(
                    waiting[0].contains(&expected),
                    "{expected} in {}",
                    waiting[0]
                );
            }
            let attempts = wait_for(&browser, "#webhooks-past tr", |rows| {
                rows.len() == 1 && last_cell(&rows[0]) == "retried"
            })
            .await;
            assert!(attempts[0].contains("500"), "{}", attempts[0]);
            wait_for(&browser, "#webhooks-summary", |t| {
                first_is(t, |x| {
                    x.contains("1 waiting") && x.contains("1 failed of 1")
                })
            })
            .await;
            scroll_to(&browser, "#webhooks").await;
            screenshot(&browser, "webhooks-failing").await;

            // Flush on the frozen clock: the retry is not due yet, and the page says when it is.
            click(&browser, "#webhooks-flush").await;
            wait_for(&browser, "#webhooks-flushed", |t| {
                first_is(t, |x| {
                    x.contains("1 still waiting") && x.contains("2030-01-01T00:00:01.000Z")
                })
            })
            .await;
            assert_eq!(receiver.events().len(), 1, "a frozen clock holds the retry");

            // The receiver recovers; advance the clock to the retry and flush: delivered.
            receiver.answer(Behaviour::Status(200));
            type_into(&browser, "#advance-seconds", "1").await;
            click(&browser, "#clock-advance button").await;
            wait_for(&browser, "#clock-now", |t| {
                first_is(t, |x| x == "2030-01-01T00:00:01.000Z")
            })
            .await;
            click(&browser, "#webhooks-flush").await;
            wait_for(&browser, "#webhooks-flushed", |t| {
                first_is(t, |x| x.contains("nothing left waiting"))
            })
            .await;
            wait_for(&browser, "#webhooks-pending tr", |rows| {
                first_is(rows, |x| x.contains("Nothing waiting"))
            })
            .await;
            let attempts = wait_for(&browser, "#webhooks-past tr", |rows| {
                rows.len() == 2 && last_cell(&rows[0]) == "ok"
            })
            .await;
            assert!(attempts[0].contains("200"), "{}", attempts[0]);
            assert_eq!(last_cell(&attempts[1]), "retried", "newest first");
            let create = ("Company Users".to_owned(), "create".to_owned(), ada);
            assert_eq!(
                receiver.events(),
                [create.clone(), create],
                "the failed try, then the retry"
            );

            // Failing only: the successful attempt is hidden.
            click(&browser, "#webhooks-failing-only").await;
            wait_for(&browser, "#webhooks-past tr", |rows| {
                rows.len() == 1 && last_cell(&rows[0]) == "retried"
            })
            .await;
            click(&browser, "#webhooks-failing-only").await;
            wait_for(&browser, "#webhooks-past tr", |rows| rows.len() == 2).await;
            scroll_to(&browser, "#webhooks").await;
            screenshot(&browser, "webhooks-delivered").await;
        })
        .await;
}

/// The error bar's message while it is shown; `None` while it is hidden.
async fn shown_error(browser: &Client) -> Option<String> {
    let script = "const bar = document.querySelector('#error');
        return bar.hidden ? null : document.querySelector('#error-text').textContent;";
    match browser.execute(script, vec![]).await.unwrap() {
        Value::String(message) => Some(message),
        _ => None,
    }
}

/// The clock refresh, every second, cleared the error bar: an error was gone before anyone
/// could read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_stays_through_refreshes_until_dismissed_or_a_later_action_succeeds() {
    let app = TestApp::frozen().await;
    let page = format!("{}#control", app.url("/__admin/ui"));
    Browser::start()
        .await
        .run(|browser| async move {
            browser.goto(&page).await.unwrap();
            wait_for(&browser, "#clock-state", |t| first_is(t, |x| x == "frozen")).await;
            type_into(&browser, "#fault-path", "no-slash").await;
            click(&browser, "#fault-add button").await;
            let shown = wait_for(&browser, "#error-text", |t| {
                first_is(t, |x| x.contains("path"))
            })
            .await;

            // Three refreshes go by: each shows, in the header, a time only the admin API set.
            for second in 1..=3 {
                let (status, _) = admin(
                    &app,
                    Method::POST,
                    "/__admin/clock/advance",
                    Some(json!({"seconds": 1})),
                )
                .await;
                assert_eq!(status, 200);
                let now = format!("2030-01-01T00:00:0{second}.000Z");
                wait_for(&browser, "#clock-badge", |t| {
                    first_is(t, |x| x.starts_with(&now))
                })
                .await;
            }
            assert_eq!(
                shown_error(&browser).await.as_deref(),
                Some(shown[0].as_str()),
                "the refreshes left the error shown"
            );
            screenshot(&browser, "error").await;

            // Dismissed, it goes, and the refreshes do not bring it back.
            click(&browser, "#error-dismiss").await;
            assert_eq!(shown_error(&browser).await, None);
            let (status, _) = admin(
                &app,
                Method::POST,
                "/__admin/clock/advance",
                Some(json!({"seconds": 1})),
            )
            .await;
            assert_eq!(status, 200);
            wait_for(&browser, "#clock-badge", |t| {
                first_is(t, |x| x.starts_with("2030-01-01T00:00:04.000Z"))
            })
            .await;
            assert_eq!(shown_error(&browser).await, None);

            // The same mistake shows it again; the user's next action that succeeds clears it.
            click(&browser, "#fault-add button").await;
            poll("the error to show again", || async {
                shown_error(&browser)
                    .await
                    .filter(|shown| shown.contains("path"))
            })
            .await;
            type_into(&browser, "#fault-path", "/rest/v1.0/me").await;
            type_into(&browser, "#fault-status", "503").await;
            click(&browser, "#fault-add button").await;
            wait_for(&browser, "#faults-body tr[data-fault]", |rows| {
                rows.len() == 1
            })
            .await;
            poll("the error bar to clear", || async {
                shown_error(&browser).await.is_none().then_some(())
            })
            .await;
        })
        .await;
}

/// Counts, in the page, the requests it starts (`window.fetches`) and the changes to its error
/// bar (`window.errorBarChanges`), so a test can wait for refreshes it cannot see otherwise.
const COUNT_FETCHES_AND_ERROR_BAR_CHANGES: &str = "
    window.fetches = 0;
    const fetchOriginal = window.fetch;
    window.fetch = (...args) => { window.fetches += 1; return fetchOriginal(...args); };
    window.errorBarChanges = 0;
    new MutationObserver((changes) => { window.errorBarChanges += changes.length; })
        .observe(document.querySelector('#error'),
                 { subtree: true, childList: true, characterData: true, attributes: true });";

/// A number the page keeps in `window[name]`.
async fn page_count(browser: &Client, name: &str) -> u64 {
    let value = browser
        .execute(&format!("return window.{name};"), vec![])
        .await
        .unwrap();
    value
        .as_u64()
        .unwrap_or_else(|| panic!("window.{name} is {value}"))
}

/// Waits until the page has started `more` requests beyond `since`.
async fn wait_for_fetches(browser: &Client, since: u64, more: u64) {
    poll(&format!("{more} more requests from the page"), || async {
        (page_count(browser, "fetches").await >= since + more).then_some(())
    })
    .await;
}

/// With the mock gone, every refresh failed and rewrote the error bar each second; a failure
/// that persists now shows once, stays put, and stays away once dismissed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_keeps_failing_shows_its_error_once() {
    let app = TestApp::frozen().await;
    let page = format!("{}#control", app.url("/__admin/ui"));
    Browser::start()
        .await
        .run(|browser| async move {
            browser.goto(&page).await.unwrap();
            wait_for(&browser, "#clock-state", |t| first_is(t, |x| x == "frozen")).await;
            browser
                .execute(COUNT_FETCHES_AND_ERROR_BAR_CHANGES, vec![])
                .await
                .unwrap();
            assert_eq!(shown_error(&browser).await, None);

            // The mock stops: the page's refreshes fail from now on.
            tokio::task::spawn_blocking(move || drop(app))
                .await
                .unwrap();
            let shown = poll("the refresh's error", || shown_error(&browser)).await;
            let changes = page_count(&browser, "errorBarChanges").await;
            let fetches = page_count(&browser, "fetches").await;
            // Three seconds of refreshes (three requests each on this view), all failing.
            wait_for_fetches(&browser, fetches, 9).await;
            assert_eq!(shown_error(&browser).await, Some(shown));
            assert_eq!(
                page_count(&browser, "errorBarChanges").await,
                changes,
                "failing again the same way does not redraw the error bar"
            );

            click(&browser, "#error-dismiss").await;
            let fetches = page_count(&browser, "fetches").await;
            wait_for_fetches(&browser, fetches, 9).await;
            assert_eq!(
                shown_error(&browser).await,
                None,
                "a dismissed error does not come back while the failure goes on"
            );
        })
        .await;
}
