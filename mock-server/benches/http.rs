//! Throughput benchmarks the README reports. Run with `cargo bench -p procore-mock --bench http`.
//!
//! 1. Show company user: requests/s of the mock against a bare axum handler that returns the
//!    same JSON body, side by side in one run on loopback, in interleaved rounds. Load comes from `wrk` when it is on
//!    PATH (`apt-get install wrk`), else from a built-in reqwest load generator (which spends
//!    CPU on the same two cores, so it understates both servers alike).
//!    The same request with the control plane's rate limiter and journal on (limit set high
//!    enough never to refuse) and off, to show what they cost.
//! 2. A page of 10,000 users: the time of `GET ...?per_page=10000` against the time of
//!    serializing those 10,000 users alone.
//!
//! 3. Filtered, sorted pages over a company of 100,000 users.
//!
//! Everything targets loopback addresses only and is bounded in time. A name after `--` runs
//! only the benchmarks whose name contains it: `show_user`, `page_of_ten_thousand`,
//! `filtered_sorted_pages`.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use procore_mock::bench_internals::{
    store_of, write_array, CompanyUserView, Store, User, UserShape,
};
use procore_mock::{Config, Fixture, MockServer, Profile};

/// The same allocator as the shipped binary, so the figures describe what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COMPANY: u64 = 8001;
const SHOW_PATH: &str = "/rest/v1.0/companies/8001/users/5101";
/// Seconds of load per server per round.
const ROUND_SECONDS: u64 = 3;
/// Rounds over the three servers of the show-user comparison.
const ROUNDS: usize = 11;
const CONNECTIONS: usize = 32;

fn main() {
    support::run_parts(&[
        ("show_user", || Box::pin(show_user_against_bare_axum())),
        ("page_of_ten_thousand", || Box::pin(page_of_ten_thousand())),
        ("filtered_sorted_pages", || {
            Box::pin(filtered_sorted_pages_of_a_large_company())
        }),
    ]);
}

async fn show_user_against_bare_axum() {
    let control_on = Config {
        rate_limit_hourly: u64::MAX / 2,
        rate_limit_spike: u64::MAX / 2,
        ..Config::default()
    };
    let control_off = Config {
        rate_limit_hourly: 0,
        rate_limit_spike: 0,
        journal_size: 0,
        ..Config::default()
    };
    let on = MockServer::builder().config(control_on).start();
    let off = MockServer::builder().config(control_off).start();
    let on_headers = auth_headers(&support::token(on.url()).await);
    let off_headers = auth_headers(&support::token(off.url()).await);
    let body = reqwest::Client::new()
        .get(format!("{}{SHOW_PATH}", on.url()))
        .header("Authorization", &on_headers[0].1)
        .header("Procore-Company-Id", &on_headers[1].1)
        .send()
        .await
        .expect("show user")
        .bytes()
        .await
        .expect("body");
    let bare = format!("http://{}", start_bare_axum(body.clone()));

    let generator = if which_wrk() {
        "wrk"
    } else {
        "built-in reqwest generator"
    };
    println!(
        "show company user ({} bytes), {CONNECTIONS} connections, {ROUNDS} rounds of {ROUND_SECONDS} s per server, load from {generator}",
        body.len()
    );
    // Rounds interleave the three servers (in a rotating order), so a burst of noise from
    // elsewhere on the machine lands on all of them alike; ratios are taken within a round.
    let targets = [
        (bare.as_str(), &on_headers),
        (on.url(), &on_headers),
        (off.url(), &off_headers),
    ];
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let mut rps = [0.0; 3];
        for i in 0..3 {
            let which = (round + i) % 3;
            let (base, headers) = targets[which];
            rps[which] = load(&format!("{base}{SHOW_PATH}"), headers).await;
        }
        rounds.push(rps);
    }
    let column = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    println!(
        "  bare axum handler                 : {:>10.0} req/s (median)",
        column(0)
    );
    println!(
        "  procore-mock, limiter+journal on  : {:>10.0} req/s",
        column(1)
    );
    println!(
        "  procore-mock, limiter+journal off : {:>10.0} req/s",
        column(2)
    );
    report_ratio(
        "mock (on) / bare                  ",
        rounds.iter().map(|r| r[1] / r[0]).collect(),
        "x (target >= 0.75x, aim 0.9x)",
        1.0,
    );
    report_ratio(
        "mock (off) / bare                 ",
        rounds.iter().map(|r| r[2] / r[0]).collect(),
        "x",
        1.0,
    );
    report_ratio(
        "cost of limiter+journal           ",
        rounds.iter().map(|r| 1.0 - r[1] / r[2]).collect(),
        "% (target < 10%)",
        100.0,
    );
}

fn auth_headers(token: &str) -> [(String, String); 2] {
    [
        ("Authorization".to_owned(), format!("Bearer {token}")),
        ("Procore-Company-Id".to_owned(), COMPANY.to_string()),
    ]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// Prints the median of per-round `values` and their range, each times `scale`.
fn report_ratio(label: &str, values: Vec<f64>, unit: &str, scale: f64) {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min) * scale;
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max) * scale;
    let middle = median(values) * scale;
    println!("  {label}: {middle:>10.2}{unit}, rounds {low:.2} to {high:.2}");
}

/// A bare axum server on its own thread and runtime (as the mock has), answering `body`.
fn start_bare_axum(body: Bytes) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = Router::new().route(
                SHOW_PATH,
                get(move || {
                    let body = body.clone();
                    async move { ([(CONTENT_TYPE, "application/json; charset=utf-8")], body) }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    address
}

fn which_wrk() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Requests per second against `url` for `ROUND_SECONDS`.
async fn load(url: &str, headers: &[(String, String)]) -> f64 {
    if which_wrk() {
        let mut command = Command::new("wrk");
        command.args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{ROUND_SECONDS}s"),
        ]);
        for (name, value) in headers {
            command.args(["-H", &format!("{name}: {value}")]);
        }
        let output = command.arg(url).output().expect("wrk runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
        text.lines()
            .find_map(|line| line.strip_prefix("Requests/sec:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
    } else {
        builtin_load(url, headers).await
    }
}

async fn builtin_load(url: &str, headers: &[(String, String)]) -> f64 {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(ROUND_SECONDS);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let client = client.clone();
            let url = url.to_owned();
            let headers = headers.to_vec();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let mut request = client.get(&url);
                    for (name, value) in &headers {
                        request = request.header(name, value);
                    }
                    let response = request.send().await.expect("request");
                    assert!(response.status().is_success());
                    response.bytes().await.expect("body");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("load task");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn page_of_ten_thousand() {
    const USERS: u64 = 10_000;
    const ROUNDS: usize = 31;
    let mut fixture = Fixture::default_data();
    let now = chrono::Utc::now();
    for i in 0..USERS {
        let mut user = User::new(
            1_000_000 + i,
            format!("Load{i}"),
            format!("load{i}@bench.example"),
            now,
        );
        user.first_name = Some("Bench".to_owned());
        user.job_title = Some("Load tester".to_owned());
        user.vendor_id = Some(2001);
        user.default_permission_template_id = Some(3001);
        fixture.companies[0].users.push(user);
    }
    let alone = store_of(fixture.clone(), chrono::Utc::now());
    let unlimited = Config {
        rate_limit_hourly: 0,
        ..Config::default()
    };
    let mock = MockServer::builder()
        .fixture(fixture)
        .config(unlimited)
        .start();
    let token = support::token(mock.url()).await;
    let client = reqwest::Client::new();
    let url = format!(
        "{}/rest/v1.0/companies/{COMPANY}/users?per_page=10000",
        mock.url()
    );
    // The time until the whole body has arrived. The client counts the bytes as they come
    // rather than gathering 8 MB into one buffer, which would time the client's copying too.
    let fetch = || async {
        let started = Instant::now();
        let mut body = client
            .get(&url)
            .bearer_auth(&token)
            .header("Procore-Company-Id", COMPANY.to_string())
            .send()
            .await
            .expect("page")
            .bytes_stream();
        let mut received = 0;
        while let Some(chunk) = body.next().await {
            received += chunk.expect("page body").len();
        }
        (started.elapsed(), received)
    };
    let (_, bytes) = serialize_alone(&alone);
    assert_eq!(fetch().await.1, bytes, "the page is the serialized users");
    // Alternate the two, so noise from elsewhere on the machine lands on both alike.
    let mut serialize = Vec::new();
    let mut request = Vec::new();
    for _ in 0..ROUNDS {
        serialize.push(serialize_alone(&alone).0.as_secs_f64() * 1e3);
        request.push(fetch().await.0.as_secs_f64() * 1e3);
    }
    let ratios = serialize.iter().zip(&request).map(|(s, r)| r / s).collect();
    println!(
        "page of 10,000 users ({:.1} MB), {ROUNDS} rounds",
        bytes as f64 / 1e6
    );
    println!(
        "  serializing the users alone : {:>8.1} ms (median)",
        median(serialize)
    );
    println!(
        "  GET ?per_page=10000         : {:>8.1} ms (median)",
        median(request)
    );
    report_ratio(
        "ratio                      ",
        ratios,
        "x (target <= 2x)",
        1.0,
    );
}

/// Time to write the first company's active users as a list page, and its size.
fn serialize_alone(store: &Store) -> (Duration, usize) {
    let directory = store.company(COMPANY).expect("company").read();
    let active: Vec<&User> = directory
        .users()
        .filter(|u| u.is_active)
        .take(10_000)
        .collect();
    let started = Instant::now();
    let views = active.iter().map(|user| CompanyUserView {
        user,
        directory: &directory,
        shape: UserShape::List,
        profile: Profile::Documented,
    });
    let mut buffer = Vec::new();
    write_array(&mut buffer, views, active.len());
    (started.elapsed(), buffer.len())
}

async fn filtered_sorted_pages_of_a_large_company() {
    const USERS: u64 = 100_000;
    const ROUNDS: u32 = 10;
    let last_names = [
        "Smith", "Johnson", "Garcia", "Chen", "Patel", "Doe", "Nguyen", "Okafor",
    ];
    let titles = [
        "Foreman",
        "Engineer",
        "Estimator",
        "Superintendent",
        "Project Manager",
    ];
    let mut fixture = Fixture::default_data();
    let now = chrono::Utc::now();
    for i in 0..USERS {
        let last = last_names[(i % 8) as usize];
        let mut user = User::new(
            1_000_000 + i,
            format!("{last}{}", i % 977),
            format!("user{i}@large.example"),
            now,
        );
        user.first_name = Some(format!("First{}", i % 1013));
        user.job_title = Some(titles[(i % 5) as usize].to_owned());
        user.vendor_id = [None, Some(2001), Some(2002)][(i % 3) as usize];
        fixture.companies[0].users.push(user);
    }
    let unlimited = Config {
        rate_limit_hourly: 0,
        journal_size: 0,
        ..Config::default()
    };
    let mock = MockServer::builder()
        .fixture(fixture)
        .config(unlimited)
        .start();
    let token = support::token(mock.url()).await;
    let client = reqwest::Client::new();
    println!("filtered, sorted pages over {USERS} users (mean of {ROUNDS}, per_page=100)");
    for query in [
        "filters[search]=smith&sort=name",
        "filters[vendor_id][]=2001&sort=-email&page=50",
        "sort=job_title,name",
        "filters[search]=engineer&filters[vendor_id][]=2002&sort=vendor_name,-name",
    ] {
        let url = format!(
            "{}/rest/v1.0/companies/{COMPANY}/users?per_page=100&{query}",
            mock.url()
        );
        let fetch = || async {
            let response = client
                .get(&url)
                .bearer_auth(&token)
                .header("Procore-Company-Id", COMPANY.to_string())
                .send()
                .await
                .expect("page");
            assert!(response.status().is_success());
            response.bytes().await.expect("page body")
        };
        fetch().await;
        let started = Instant::now();
        for _ in 0..ROUNDS {
            fetch().await;
        }
        let mean = started.elapsed() / ROUNDS;
        println!("  {query:<75} {:>6.1} ms", mean.as_secs_f64() * 1e3);
    }
}
