//! Memory and responsiveness under load, the figures of the README's "Reliability" section.
//! Run with `cargo bench -p procore-mock --bench soak` (release build of the real binary,
//! measured from outside through `/proc/<pid>/status`; Linux only).
//!
//! 1. `large_headers`: the server's resident memory (RSS) after small requests, after 10,000
//!    requests with a 60 KB header, after as many small ones again, and after the journal is
//!    cleared, with the default journal (10,000 entries, 32 MiB).
//! 2. `export`: a state of 200,000 users: RSS and time of `GET /__admin/state`, and how long an
//!    API request made while the export runs takes.
//! 3. `mixed`: a few minutes (`SOAK_SECONDS`, default 180) of mixed traffic (reads, creates,
//!    updates, saves, journal reads, deep and oversized bodies), with RSS sampled as it runs.
//!
//! A name after `--` runs only the parts whose name contains it.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

const COMPANY: u64 = 8001;

fn main() {
    support::run_parts(&[
        ("large_headers", || Box::pin(large_headers())),
        ("export", || Box::pin(export_of_a_large_state())),
        ("mixed", || Box::pin(mixed_load())),
    ]);
}

/// The binary under test, started on a free port; killed when dropped.
struct Server {
    child: Child,
    url: String,
    client: reqwest::Client,
    token: String,
}

impl Server {
    async fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procore-mock"))
            .args(["--port", "0", "--rate-limit-hourly", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the procore-mock binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("a ready line");
        let url = line
            .trim_end()
            .strip_prefix("procore-mock listening on ")
            .expect("the ready line names the URL")
            .to_owned();
        let client = reqwest::Client::new();
        let token = support::token(&url).await;
        Self {
            child,
            url,
            client,
            token,
        }
    }

    /// Resident memory of the server process, in MiB.
    fn rss_mib(&self) -> f64 {
        rss_mib(self.child.id())
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("Procore-Company-Id", COMPANY.to_string())
    }

    /// `count` requests built by `request`, `concurrency` at a time; returns how many were
    /// answered with a 5xx or not at all.
    async fn run(
        &self,
        count: usize,
        concurrency: usize,
        request: impl Fn(usize) -> reqwest::RequestBuilder,
    ) -> usize {
        futures::stream::iter((0..count).map(|i| request(i).send()))
            .buffer_unordered(concurrency)
            .filter(|result| {
                let answered =
                    matches!(result, Ok(response) if !response.status().is_server_error());
                async move { !answered }
            })
            .count()
            .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

async fn large_headers() {
    let server = Server::start(&[]).await;
    let small = |_| server.get("/rest/v1.0/me");
    server.run(10_000, 16, small).await;
    let after_small = server.rss_mib();
    let header = "h".repeat(60 * 1024);
    let failures = server
        .run(10_000, 16, |_| {
            server
                .get("/rest/v1.0/me")
                .header("X-Large", header.as_str())
        })
        .await;
    let after_large = server.rss_mib();
    server.run(10_000, 16, small).await;
    let after_refill = server.rss_mib();
    server
        .client
        .delete(format!("{}/__admin/requests", server.url))
        .send()
        .await
        .expect("journal cleared");
    let after_clear = server.rss_mib();
    println!("large headers (default journal: 10,000 entries, 32 MiB); server RSS:");
    println!("  after 10,000 small requests             {after_small:>8.1} MiB");
    println!(
        "  after 10,000 requests with a 60 KB header {after_large:>6.1} MiB ({failures} failed)"
    );
    println!("  after 10,000 small requests again       {after_refill:>8.1} MiB");
    println!("  after DELETE /__admin/requests          {after_clear:>8.1} MiB");
}

/// A fixture file of the default data plus `users` more users in the first company.
fn large_fixture(users: usize) -> std::path::PathBuf {
    let mut fixture: Value =
        serde_json::from_str(procore_mock::Fixture::DEFAULT_JSON).expect("default data");
    let list = fixture["companies"][0]["users"]
        .as_array_mut()
        .expect("users");
    for i in 0..users {
        list.push(json!({
            "id": 1_000_000 + i,
            "first_name": "Load",
            "last_name": format!("User {i}"),
            "email_address": format!("load-{i}@example.com"),
            "job_title": "Engineer",
        }));
    }
    let path = std::env::temp_dir().join(format!("procore-mock-soak-{}.json", std::process::id()));
    std::fs::write(&path, fixture.to_string()).expect("fixture written");
    path
}

async fn export_of_a_large_state() {
    const USERS: usize = 200_000;
    let fixture = large_fixture(USERS);
    let server = Server::start(&["--fixtures", fixture.to_str().expect("a UTF-8 path")]).await;
    let before = server.rss_mib();
    let pid = server.child.id();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let peak = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_mib(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let started = Instant::now();
    let export = async {
        let bytes = server
            .client
            .get(format!("{}/__admin/state", server.url))
            .send()
            .await
            .expect("export")
            .bytes()
            .await
            .expect("export body");
        (started.elapsed(), bytes.len())
    };
    let during = async {
        // Let the export get going, then time one API request while it runs.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asked = Instant::now();
        let status = server
            .get(&format!("/rest/v1.0/companies/{COMPANY}/users/5101"))
            .send()
            .await
            .expect("API request")
            .status();
        (asked.elapsed(), status)
    };
    let ((took, bytes), (api, status)) = futures::join!(export, during);
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = peak.join().expect("the sampler");
    let _ = std::fs::remove_file(fixture);
    println!(
        "export of {USERS} users ({:.0} MiB of JSON):",
        bytes as f64 / 1048576.0
    );
    println!(
        "  took {:.2} s; RSS {before:.0} MiB before, {peak:.0} MiB at peak",
        took.as_secs_f64()
    );
    println!(
        "  an API request during the export: {status} in {:.1} ms",
        api.as_secs_f64() * 1000.0
    );
}

async fn mixed_load() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let dir = std::env::temp_dir().join(format!("procore-mock-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a state directory");
    let state = dir.join("state.json");
    let server = Server::start(&["--state-file", state.to_str().expect("a UTF-8 path")]).await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut samples = Vec::new();
    let mut requests = 0usize;
    let mut failures = 0usize;
    let mut round = 0usize;
    let big_header = "h".repeat(30 * 1024);
    let deep = format!("user{}=x", "[a]".repeat(5_000));
    while Instant::now() < deadline {
        let users = format!("/rest/v1.0/companies/{COMPANY}/users");
        failures += server
            .run(2_000, 16, |i| match i % 10 {
                0 => server
                    .get(&users)
                    .header("X-Large", big_header.as_str()),
                1 => server
                    .client
                    .post(format!("{}{users}", server.url))
                    .bearer_auth(&server.token)
                    .header("Procore-Company-Id", COMPANY.to_string())
                    .json(&json!({"user": {"last_name": "Soak", "email_address": format!("soak-{round}-{i}@example.com")}})),
                2 => server
                    .client
                    .patch(format!("{}{users}/5101", server.url))
                    .bearer_auth(&server.token)
                    .header("Procore-Company-Id", COMPANY.to_string())
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(if i % 20 == 2 { deep.clone() } else { format!("user[job_title]=T{i}") }),
                3 => server.client.get(format!("{}/__admin/requests?limit=50", server.url)),
                _ => server.get(&format!("{users}/5101")),
            })
            .await;
        requests += 2_000;
        let saved = server
            .client
            .post(format!("{}/__admin/state/save", server.url))
            .send()
            .await
            .map(|r| r.status().as_u16());
        if !matches!(saved, Ok(200)) {
            failures += 1;
        }
        round += 1;
        if round % 5 == 0 {
            // Start over now and then, so the state stays the size of a test's.
            let _ = server
                .client
                .post(format!("{}/__admin/reset", server.url))
                .send()
                .await;
        }
        samples.push(server.rss_mib());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let max = samples.iter().copied().fold(0.0, f64::max);
    let first = samples.first().copied().unwrap_or(f64::NAN);
    let last = samples.last().copied().unwrap_or(f64::NAN);
    println!(
        "mixed load for {seconds} s: {requests} requests and {round} saves, {failures} failed (5xx or no answer)"
    );
    println!("  server RSS: {first:.1} MiB after the first round, {max:.1} MiB at most, {last:.1} MiB at the end");
}
