//! The `procore-contract` command: run scenario files, random lifecycles, rate-limit
//! rehearsals and client audits against the embedded mock, a running mock, or a sandbox.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use procore_contract::lifecycle::targets::{EmbeddedTarget, RunningMockTarget, SandboxTarget};
use procore_contract::lifecycle::{self, CaseTarget, LifecycleOptions};
use procore_contract::rehearsal::{self, audit, chart, RehearsalOptions, Strategy};
use procore_contract::scenario::{self, report, Runner, Scenario};
use procore_contract::target::{Target, TargetSpec, MOCK_CLIENT};
use procore_mock::{MockServer, Profile};

#[derive(Parser)]
#[command(
    name = "procore-contract",
    version,
    about = "Contract tests for Procore user-management integrations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files; exit 0 only if every scenario passes.
    Run {
        /// `embedded` (default), `sandbox`, or the base URL of a running mock.
        #[arg(long, default_value = "embedded")]
        target: TargetSpec,
        /// Directory of scenario files.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Only scenarios whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Reset a running mock (`POST /__admin/reset`) before the run.
        #[arg(long)]
        reset: bool,
        /// Allow a sandbox target on Procore's production hosts.
        #[arg(long)]
        allow_production: bool,
        /// The token of a mock started with `--admin-token` (for resets and mock-only steps).
        #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Random user lifecycles checked against a reference model, shrunk on failure.
    Lifecycle {
        /// `embedded` (default), `sandbox`, or the base URL of a running mock.
        #[arg(long, default_value = "embedded")]
        target: TargetSpec,
        /// Cases to generate.
        #[arg(long, default_value_t = 64)]
        cases: u32,
        /// Longest sequence of operations in a case.
        #[arg(long, default_value_t = 24)]
        max_steps: usize,
        /// Seed (printed with every failure, to replay it).
        #[arg(long)]
        seed: Option<u64>,
        /// Run every sequence on this second target too and report the first difference.
        #[arg(long)]
        compare: Option<TargetSpec>,
        /// The token of running mocks started with `--admin-token`.
        #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Allow a sandbox target on Procore's production hosts.
        #[arg(long)]
        allow_production: bool,
    },
    /// Drive virtual clients sharing one app into the rate limits, on the mock's clock.
    Rehearse {
        /// `embedded` (default) or the base URL of a running mock.
        #[arg(long, default_value = "embedded")]
        target: TargetSpec,
        /// Concurrent virtual clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Longest rehearsal, in mock seconds.
        #[arg(long, default_value_t = 120)]
        seconds: u64,
        /// Successful requests each client needs.
        #[arg(long, default_value_t = 20)]
        work: u64,
        /// `polite`, `naive` or `both`.
        #[arg(long, value_enum, default_value_t = StrategyChoice::Both)]
        strategy: StrategyChoice,
        /// The path every request GETs.
        #[arg(long, default_value = "/rest/v1.0/me")]
        endpoint: String,
        /// Set the mock's hourly limit first.
        #[arg(long)]
        hourly: Option<u64>,
        /// Set the mock's 10-second spike limit first.
        #[arg(long)]
        spike: Option<u64>,
        /// Where to write summary.json and chart.svg per strategy.
        #[arg(long, default_value = "rehearsal")]
        out: PathBuf,
        /// Seed of the polite clients' jitter.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The token of a running mock started with `--admin-token`.
        #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Grade clients' rate-limit manners from a running mock's request journal.
    Audit {
        /// Base URL of the running mock.
        #[arg(long)]
        target: String,
        /// Only this OAuth client.
        #[arg(long)]
        client_id: Option<String>,
        /// Report violations without failing.
        #[arg(long)]
        no_fail: bool,
        /// The token of a mock started with `--admin-token`.
        #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StrategyChoice {
    Polite,
    Naive,
    Both,
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("procore-contract: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs a command; `Ok(false)` means it ran and found failures.
fn dispatch(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Run {
            target,
            scenarios,
            filter,
            junit,
            reset,
            allow_production,
            admin_token,
        } => runtime()?.block_on(run_scenarios(
            target,
            scenarios,
            filter,
            junit,
            reset,
            allow_production,
            admin_token,
        )),
        Command::Lifecycle {
            target,
            cases,
            max_steps,
            seed,
            compare,
            allow_production,
            admin_token,
        } => {
            let seed = seed.unwrap_or_else(|| {
                u64::from(std::process::id()) ^ chrono::Utc::now().timestamp_subsec_nanos() as u64
            });
            let mut first = case_target(&target, allow_production, &admin_token)?;
            let mut second = compare
                .as_ref()
                .map(|spec| case_target(spec, allow_production, &admin_token))
                .transpose()?;
            let options = LifecycleOptions {
                cases,
                max_steps,
                seed,
                regressions: None,
            };
            let second = second
                .as_mut()
                .map(|target| -> &mut dyn CaseTarget { target.as_mut() });
            let report = lifecycle::run(first.as_mut(), second, &options);
            println!("{} cases ran (seed {})", report.cases_run, report.seed);
            if let Some(failure) = &report.failure {
                println!("{failure}");
            }
            Ok(report.passed())
        }
        Command::Rehearse {
            target,
            clients,
            seconds,
            work,
            strategy,
            endpoint,
            hourly,
            spike,
            out,
            seed,
            admin_token,
        } => runtime()?.block_on(rehearse(
            target,
            clients,
            seconds,
            work,
            strategy,
            endpoint,
            hourly,
            spike,
            out,
            seed,
            admin_token,
        )),
        Command::Audit {
            target,
            client_id,
            no_fail,
            admin_token,
        } => runtime()?.block_on(audit_journal(target, client_id, no_fail, admin_token)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn run_scenarios(
    spec: TargetSpec,
    dir: PathBuf,
    filter: Option<String>,
    junit: Option<PathBuf>,
    reset: bool,
    allow_production: bool,
    admin_token: Option<String>,
) -> anyhow::Result<bool> {
    let mut scenarios = Scenario::load_dir(&dir)?;
    if let Some(filter) = &filter {
        scenarios.retain(|s| s.name.contains(filter.as_str()));
    }
    if scenarios.is_empty() {
        bail!("no scenarios to run in {}", dir.display());
    }
    let target = Target::open(&spec, allow_production)
        .map_err(anyhow::Error::msg)?
        .with_admin_token(admin_token);
    if reset {
        target.reset().await.map_err(anyhow::Error::msg)?;
    }
    let runner = Runner::connect(target).await.map_err(anyhow::Error::msg)?;
    let bar = progress_bar(
        scenarios.len() as u64,
        "{bar:30} {pos}/{len} scenarios {msg}",
    );
    let results = scenario::run_all(&runner, &scenarios, |result| {
        if let Some(bar) = &bar {
            bar.set_message(result.name.clone());
            bar.inc(1);
        }
    })
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print!("{}", report::text(&results));
    if let Some(path) = junit {
        std::fs::write(&path, report::junit(&results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report::totals(&results).failed == 0)
}

fn case_target(
    spec: &TargetSpec,
    allow_production: bool,
    admin_token: &Option<String>,
) -> anyhow::Result<Box<dyn CaseTarget>> {
    Ok(match spec {
        TargetSpec::Embedded => Box::new(EmbeddedTarget::new(Profile::Documented)),
        TargetSpec::Url(base) => {
            Box::new(RunningMockTarget::new(base.clone(), admin_token.clone()))
        }
        TargetSpec::Sandbox => {
            Box::new(SandboxTarget::from_env(allow_production).map_err(anyhow::Error::msg)?)
        }
    })
}

#[allow(clippy::too_many_arguments)]
async fn rehearse(
    spec: TargetSpec,
    clients: usize,
    seconds: u64,
    work: u64,
    choice: StrategyChoice,
    endpoint: String,
    hourly: Option<u64>,
    spike: Option<u64>,
    out: PathBuf,
    seed: u64,
    admin_token: Option<String>,
) -> anyhow::Result<bool> {
    let (_server, base) = match spec {
        TargetSpec::Embedded => {
            let server = MockServer::start();
            let base = server.url().to_owned();
            (Some(server), base)
        }
        TargetSpec::Url(base) => (None, base),
        TargetSpec::Sandbox => bail!("a rehearsal moves the target's clock: it runs on mocks only"),
    };
    let http = rehearsal::admin_client(admin_token.as_deref()).map_err(anyhow::Error::msg)?;
    if hourly.is_some() || spike.is_some() {
        let mut limits = serde_json::Map::new();
        if let Some(h) = hourly {
            limits.insert("hourly".to_owned(), h.into());
        }
        if let Some(s) = spike {
            limits.insert("spike".to_owned(), s.into());
        }
        let response = http
            .put(format!("{base}/__admin/rate-limits"))
            .json(&limits)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("setting the rate limits answered {}", response.status());
        }
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let strategies = match choice {
        StrategyChoice::Polite => vec![Strategy::Polite],
        StrategyChoice::Naive => vec![Strategy::Naive],
        StrategyChoice::Both => vec![Strategy::Polite, Strategy::Naive],
    };
    for strategy in strategies {
        let options = RehearsalOptions {
            base_url: base.clone(),
            client_id: MOCK_CLIENT.0.to_owned(),
            client_secret: MOCK_CLIENT.1.to_owned(),
            clients,
            seconds,
            work_per_client: work,
            endpoint: endpoint.clone(),
            tick_ms: 250,
            seed,
            admin_token: admin_token.clone(),
            progress: std::io::stderr()
                .is_terminal()
                .then_some(show_progress as fn(u64, u64, u64)),
        };
        let summary = rehearsal::rehearse(&options, strategy)
            .await
            .map_err(anyhow::Error::msg)?;
        eprint!("\r\x1b[2K");
        let name = serde_json::to_value(strategy)?
            .as_str()
            .unwrap_or("run")
            .to_owned();
        std::fs::write(
            out.join(format!("{name}-summary.json")),
            serde_json::to_string_pretty(&summary)?,
        )?;
        let svg = chart::render(
            &format!("{name}: {clients} clients sharing one app"),
            &summary.series,
            rehearsal::limit_per_second(&summary),
        );
        std::fs::write(out.join(format!("{name}-chart.svg")), svg)?;
        println!("{}", summary.closing_line());
    }
    Ok(true)
}

fn show_progress(admitted: u64, throttled: u64, in_flight: u64) {
    eprint!("\radmitted {admitted}  throttled {throttled}  in flight {in_flight}   ");
}

async fn audit_journal(
    base: String,
    client_id: Option<String>,
    no_fail: bool,
    admin_token: Option<String>,
) -> anyhow::Result<bool> {
    let base = base.trim_end_matches('/');
    let http = rehearsal::admin_client(admin_token.as_deref()).map_err(anyhow::Error::msg)?;
    let journal: serde_json::Value = http
        .get(format!("{base}/__admin/requests"))
        .send()
        .await
        .context("reading the mock's request journal")?
        .error_for_status()?
        .json()
        .await?;
    let audits = audit::audit(&audit::observations(&journal), client_id.as_deref());
    if audits.is_empty() {
        println!("no authenticated requests in the journal");
    }
    for client in &audits {
        println!(
            "{}: {} requests, {} throttled (429), {} violations, longest burst {} in 1 s: {}",
            client.client_id,
            client.requests,
            client.throttled,
            client.violations.len(),
            client.longest_burst,
            client.verdict
        );
        for violation in client.violations.iter().take(10) {
            println!(
                "  at {} ms: {} ({} ms early)",
                violation.at_ms, violation.rule, violation.early_by_ms
            );
        }
    }
    let violations: usize = audits.iter().map(|a| a.violations.len()).sum();
    Ok(no_fail || violations == 0)
}

fn progress_bar(length: u64, template: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}
