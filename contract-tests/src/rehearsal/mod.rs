//! Rate-limit rehearsal: many virtual clients sharing one OAuth app drive a mock into its
//! limits, on the mock's own clock, and the run is summarized, charted and graded.
//!
//! Time is virtual: the rehearsal freezes the mock's clock and advances it one tick at a time,
//! so an hour of traffic rehearses in seconds and every number (series, windows, time to
//! finish) is in mock time. Each tick, every client that is due sends one request; its
//! [`pacing::Pacing`] then decides from the answer's headers when it is due again. Polite
//! clients also share what they were told: the limits belong to the app, so when one thread
//! of an integration is told to wait, all of them must (the point most clients miss).
//!
//! - [`pacing`]: the polite and naive retry policies, as pure functions of the headers.
//! - [`audit`]: grading clients from the mock's request journal.
//! - [`chart`]: the SVG chart of admitted and throttled requests per second.

pub mod audit;
pub mod chart;
pub mod pacing;

use std::time::Instant;

use futures::future::join_all;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use crate::admin::AdminApi;
use crate::client::{ProcoreClient, RequestBody};
use crate::error::{HarnessError, Result};
use crate::target::Target;
use audit::Observation;
use chart::SecondCounts;
use pacing::{Pacing, RateHeaders};

/// Which retry policy the virtual clients follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Honour `Retry-After` and `X-Rate-Limit-Reset`, with jitter.
    Polite,
    /// Retry 429s after a fixed short delay, ignoring the headers.
    Naive,
}

/// What to rehearse (on a target whose app, from its credentials, all clients share).
#[derive(Clone, Debug)]
pub struct RehearsalOptions {
    /// Virtual clients sending concurrently.
    pub clients: usize,
    /// Longest rehearsal, in mock seconds.
    pub seconds: u64,
    /// Successful requests each client needs to finish its work.
    pub work_per_client: u64,
    /// The path every request GETs.
    pub endpoint: String,
    /// Length of one tick of virtual time, milliseconds.
    pub tick_ms: u64,
    /// Seed of the polite policy's jitter.
    pub seed: u64,
    /// Called after every tick with (admitted, throttled, in flight) so far, for a progress bar.
    pub progress: Option<fn(u64, u64, u64)>,
}

/// Percentiles of real request latency (the one figure not in mock time).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median, milliseconds.
    pub p50: f64,
    /// 90th percentile, milliseconds.
    pub p90: f64,
    /// 99th percentile, milliseconds.
    pub p99: f64,
    /// Slowest, milliseconds.
    pub max: f64,
}

/// A limit window and the most it admitted in any span of its length.
#[derive(Clone, Debug, Serialize)]
pub struct WindowReport {
    /// `hourly` or `spike`.
    pub name: &'static str,
    /// Window length, seconds.
    pub seconds: u64,
    /// Configured limit.
    pub limit: u64,
    /// Most requests admitted in any span of the window's length.
    pub max_admitted: u64,
}

/// The outcome of one rehearsal, written as `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RehearsalSummary {
    /// Which policy the clients followed.
    pub strategy: Strategy,
    /// Virtual clients.
    pub clients: usize,
    /// Requests sent.
    pub attempted: u64,
    /// Requests admitted (not 429).
    pub admitted: u64,
    /// Requests answered 429.
    pub throttled: u64,
    /// Per mock second: admitted and throttled.
    pub series: Vec<SecondCounts>,
    /// The active limit windows with the most each admitted.
    pub windows: Vec<WindowReport>,
    /// Real request latency.
    pub latency_ms: Latency,
    /// Mock seconds until every client finished its work; `None` if the rehearsal ran out.
    pub finished_in_seconds: Option<f64>,
    /// Requests sent while told to wait (the audit's rule, applied to this run).
    pub violations: usize,
}

impl RehearsalSummary {
    /// The one closing line: `admitted A, throttled T, ...`.
    pub fn closing_line(&self) -> String {
        let windows: Vec<String> = self
            .windows
            .iter()
            .map(|w| {
                format!(
                    "max {} in any {} s window (limit {})",
                    w.max_admitted, w.seconds, w.limit
                )
            })
            .collect();
        let finished = match self.finished_in_seconds {
            Some(s) => format!("finished in {s:.1} s"),
            None => "did not finish".to_owned(),
        };
        format!(
            "{}: admitted {}, throttled {}, {}, violations {}, {}",
            serde_json::to_value(self.strategy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            self.admitted,
            self.throttled,
            if windows.is_empty() {
                "no limit windows".to_owned()
            } else {
                windows.join(", ")
            },
            self.violations,
            finished
        )
    }
}

struct VirtualClient {
    pacing: Pacing,
    due_ms: i64,
    work_left: u64,
}

/// Runs one rehearsal with `strategy` on a mock target, leaving the mock's clock running
/// afterwards.
pub async fn rehearse(
    target: &Target,
    options: &RehearsalOptions,
    strategy: Strategy,
) -> Result<RehearsalSummary> {
    let admin = target.require_admin("a rehearsal (it moves the clock)")?;
    let limits = admin.call(Method::GET, "/rate-limits", None).await?;
    let clock = admin.call(Method::GET, "/clock", None).await?;
    let now = clock["now"].as_str().unwrap_or_default().to_owned();
    let start_ms = chrono::DateTime::parse_from_rfc3339(&now)
        .map_err(|_| HarnessError::Answered {
            request: "GET /__admin/clock".to_owned(),
            status: 200,
            body: clock.clone(),
        })?
        .timestamp_millis();
    admin
        .call(
            Method::PUT,
            "/clock",
            Some(&json!({"now": now, "frozen": true})),
        )
        .await?;
    let result = drive(target, admin, options, strategy, start_ms).await;
    // Let time run again whatever happened, so the mock is usable afterwards.
    admin
        .call(Method::PUT, "/clock", Some(&json!({"frozen": false})))
        .await?;
    let (observations, latencies, finished_ms) = result?;
    Ok(summarize(
        options,
        strategy,
        &limits,
        start_ms,
        &observations,
        latencies,
        finished_ms,
    ))
}

type Drive = (Vec<Observation>, Vec<f64>, Option<i64>);

async fn drive(
    target: &Target,
    admin: &AdminApi,
    options: &RehearsalOptions,
    strategy: Strategy,
    start_ms: i64,
) -> Result<Drive> {
    let client = api_client(target).await?;
    let client_id = target.client_config().client_id.clone();
    let tick = i64::try_from(options.tick_ms.max(1)).unwrap_or(1000);
    let mut clients: Vec<VirtualClient> = (0..options.clients.max(1))
        .map(|i| VirtualClient {
            pacing: match strategy {
                Strategy::Polite => Pacing::polite(options.seed.wrapping_add(i as u64), 250),
                Strategy::Naive => Pacing::Naive {
                    retry_ms: options.tick_ms,
                },
            },
            due_ms: start_ms,
            work_left: options.work_per_client,
        })
        .collect();
    let end_ms = start_ms + i64::try_from(options.seconds).unwrap_or(i64::MAX / 2000) * 1000;
    let mut now_ms = start_ms;
    // Polite clients share the app's "not before" time; naive ones ignore it.
    let mut app_blocked_until = start_ms;
    let mut observations = Vec::new();
    let mut latencies = Vec::new();
    let (mut admitted, mut throttled) = (0, 0);
    while now_ms < end_ms {
        let app_free = strategy == Strategy::Naive || app_blocked_until <= now_ms;
        let due: Vec<usize> = (0..clients.len())
            .filter(|&i| app_free && clients[i].work_left > 0 && clients[i].due_ms <= now_ms)
            .collect();
        if clients.iter().all(|c| c.work_left == 0) {
            return Ok((observations, latencies, Some(now_ms)));
        }
        let sends = due.iter().map(|_| async {
            let started = Instant::now();
            let response = client
                .request(Method::GET, &options.endpoint, &[], &RequestBody::Empty)
                .await;
            (response, started.elapsed().as_secs_f64() * 1000.0)
        });
        let answers = join_all(sends).await;
        for (&index, (response, latency)) in due.iter().zip(answers) {
            let response = response?;
            let headers = RateHeaders::from_response(response.status, &response.headers);
            latencies.push(latency);
            observations.push(Observation {
                at_ms: now_ms,
                client_id: Some(client_id.clone()),
                status: headers.status,
                retry_after: headers.retry_after.map(|v| v as i64),
                ..Observation::default()
            });
            let client = &mut clients[index];
            if headers.status == 429 {
                throttled += 1;
            } else {
                admitted += 1;
                client.work_left = client.work_left.saturating_sub(1);
            }
            let delay =
                i64::try_from(client.pacing.delay_ms(&headers, now_ms)).unwrap_or(i64::MAX / 2);
            client.due_ms = now_ms + delay.max(tick);
            if delay > 0 {
                app_blocked_until = app_blocked_until.max(now_ms + delay);
            }
        }
        if let Some(progress) = options.progress {
            progress(admitted, throttled, due.len() as u64);
        }
        admin.advance_clock(tick as f64 / 1000.0).await?;
        now_ms += tick;
    }
    let finished = clients.iter().all(|c| c.work_left == 0).then_some(now_ms);
    Ok((observations, latencies, finished))
}

fn summarize(
    options: &RehearsalOptions,
    strategy: Strategy,
    limits: &Value,
    start_ms: i64,
    observations: &[Observation],
    mut latencies: Vec<f64>,
    finished_ms: Option<i64>,
) -> RehearsalSummary {
    let last_second = observations
        .last()
        .map_or(0, |o| (o.at_ms - start_ms) / 1000);
    let mut series: Vec<SecondCounts> = (0..=last_second)
        .map(|second| SecondCounts {
            second: second as u64,
            ..SecondCounts::default()
        })
        .collect();
    for observation in observations {
        let slot = &mut series[((observation.at_ms - start_ms) / 1000) as usize];
        if observation.status == 429 {
            slot.throttled += 1;
        } else {
            slot.admitted += 1;
        }
    }
    let admitted_times: Vec<&Observation> =
        observations.iter().filter(|o| o.status != 429).collect();
    let windows = [("spike", 10u64), ("hourly", 3600)]
        .into_iter()
        .filter_map(|(name, seconds)| {
            let limit = limits[name].as_u64().filter(|&l| l > 0)?;
            let max_admitted = audit::longest_burst(&admitted_times, seconds as i64 * 1000) as u64;
            Some(WindowReport {
                name,
                seconds,
                limit,
                max_admitted,
            })
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * p).round() as usize]
        }
    };
    let violations = audit::audit(observations, None)
        .iter()
        .map(|a| a.violations.len())
        .sum();
    RehearsalSummary {
        strategy,
        clients: options.clients,
        attempted: observations.len() as u64,
        admitted: admitted_times.len() as u64,
        throttled: (observations.len() - admitted_times.len()) as u64,
        series,
        windows,
        latency_ms: Latency {
            p50: percentile(0.5),
            p90: percentile(0.9),
            p99: percentile(0.99),
            max: latencies.last().copied().unwrap_or(0.0),
        },
        finished_in_seconds: finished_ms.map(|at| (at - start_ms) as f64 / 1000.0),
        violations,
    }
}

/// The limit the chart draws: the shortest active window's limit spread over one second (the
/// spike window when it is on, since that is the one bursts run into).
pub fn limit_per_second(summary: &RehearsalSummary) -> Option<f64> {
    summary
        .windows
        .iter()
        .min_by_key(|w| w.seconds)
        .map(|w| w.limit as f64 / w.seconds as f64)
}

/// The harness client for the rehearsed app, sending the first company it sees as
/// `Procore-Company-Id`. It re-authenticates by itself if the token expires mid-rehearsal (an
/// hour of mock time is only seconds here) and never retries a 429: pacing is the rehearsal's.
/// Finding the company waits out 429s a previous run left behind.
async fn api_client(target: &Target) -> Result<ProcoreClient> {
    let discovery = target.client(None);
    target.authenticate(&discovery).await?;
    let companies = target.get_all(&discovery, "/rest/v1.0/companies").await?;
    let company = companies
        .first()
        .and_then(|c| c["id"].as_u64())
        .ok_or_else(|| {
            HarnessError::Discovery(format!(
                "the app `{}` sees no company",
                target.client_config().client_id
            ))
        })?;
    let client = target.client(Some(company));
    target.authenticate(&client).await?;
    Ok(client)
}
