//! The `procore-contract` command: run scenario files, random lifecycles, rate-limit
//! rehearsals, client audits and coverage reports against the embedded mock, a running mock,
//! or a sandbox. Every subcommand opens its target through `procore_contract::target`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use procore_contract::admin::{JournalFilter, Since};
use procore_contract::conformance::SchemaCheck;
use procore_contract::coverage;
use procore_contract::lifecycle::{self, LifecycleOptions};
use procore_contract::rehearsal::{self, audit, chart, RehearsalOptions, Strategy};
use procore_contract::scenario::source::{DEFAULT_DIR, SCENARIOS_ENV};
use procore_contract::scenario::{self, report, Runner, ScenarioSource};
use procore_contract::target::{ResetPolicy, Target, TargetArgs, TargetSpec};

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
    Run(RunArgs),
    /// Random user lifecycles checked against a reference model, shrunk on failure.
    Lifecycle(LifecycleArgs),
    /// Drive virtual clients sharing one app into the rate limits, on the mock's clock.
    Rehearse(RehearseArgs),
    /// Grade clients' rate-limit manners from a running mock's request journal.
    Audit(AuditArgs),
    /// Which statuses a client's traffic met per operation, and what it never met.
    Coverage(JournalArgs),
}

/// `--reset`: when a mock target goes back to its loaded fixture.
#[derive(Args)]
struct ResetArg {
    /// `each` (default on mocks), `once` or `never` (the only choice on a sandbox). A bare
    /// `--reset` is the deprecated flag and means `each`.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "bare")]
    reset: Option<ResetPolicy>,
}

impl ResetArg {
    fn policy(&self) -> Option<ResetPolicy> {
        if self.reset == Some(ResetPolicy::Bare) {
            eprintln!("procore-contract: a bare `--reset` is deprecated; it means `--reset each` (also the default on mocks)");
        }
        self.reset
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    reset: ResetArg,
    /// A scenario file, or a directory of them [default: ./scenarios if it exists, else the
    /// scenarios built into procore-contract].
    #[arg(long, env = SCENARIOS_ENV)]
    scenarios: Option<PathBuf>,
    /// Only scenarios whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Also write JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Check every 429 as a step's answer instead of waiting it out and retrying.
    #[arg(long)]
    no_retry_429: bool,
    /// Also check every answer against Procore's published schema (embedded) and report
    /// where answers differ from it; the exit code still reflects the scenarios only.
    #[arg(long)]
    check_schema: bool,
}

#[derive(Args)]
struct LifecycleArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    reset: ResetArg,
    /// Cases to generate.
    #[arg(long, default_value_t = 64)]
    cases: u32,
    /// Longest sequence of operations in a case.
    #[arg(long, default_value_t = 24)]
    max_steps: usize,
    /// Seed (printed with every failure, to replay it).
    #[arg(long)]
    seed: Option<u64>,
    /// Run every sequence on this second target too and report the first difference (a mock
    /// target logs in as the default app; a sandbox with the same credentials).
    #[arg(long)]
    compare: Option<TargetSpec>,
}

#[derive(Args)]
struct RehearseArgs {
    #[command(flatten)]
    target: TargetArgs,
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
}

/// The part of a running mock's journal to read.
#[derive(Args)]
struct JournalArgs {
    /// Base URL of the running mock.
    #[arg(long)]
    target: String,
    /// Only this OAuth client's requests.
    #[arg(long)]
    client_id: Option<String>,
    /// Only requests from this point: an RFC 3339 time on the mock clock or a journal id.
    #[arg(long)]
    since: Option<Since>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The token of a mock started with `--admin-token`.
    #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    journal: JournalArgs,
    /// Report violations without failing.
    #[arg(long)]
    no_fail: bool,
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
        Command::Run(args) => runtime()?.block_on(run_scenarios(args)),
        Command::Lifecycle(args) => run_lifecycle(args),
        Command::Rehearse(args) => runtime()?.block_on(rehearse(args)),
        Command::Audit(args) => runtime()?.block_on(audit_journal(args)),
        Command::Coverage(args) => runtime()?.block_on(coverage_report(args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn run_scenarios(args: RunArgs) -> anyhow::Result<bool> {
    let source = ScenarioSource::resolve(args.scenarios);
    let mut scenarios = source.load()?;
    if source == ScenarioSource::BuiltIn {
        eprintln!(
            "procore-contract: no ./{DEFAULT_DIR} here: running {} (--scenarios or {SCENARIOS_ENV} names your own)",
            source.describe()
        );
    }
    if scenarios.is_empty() {
        anyhow::bail!("no scenarios to run in {}", source.describe());
    }
    if let Some(filter) = &args.filter {
        scenarios.retain(|s| s.name.contains(filter.as_str()));
        if scenarios.is_empty() {
            anyhow::bail!(
                "no scenario in {} has `{filter}` in its name",
                source.describe()
            );
        }
    }
    let target = Target::open(&args.target)?.with_reset_policy(args.reset.policy())?;
    let mut runner = Runner::connect(target).await?.retry_429(!args.no_retry_429);
    let schema_check = args
        .check_schema
        .then(|| std::sync::Arc::new(SchemaCheck::new()));
    if let Some(check) = &schema_check {
        runner = runner.check_schema(std::sync::Arc::clone(check));
    }
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
    let reset = runner.target().reset_note("scenario");
    println!("{reset}");
    print!("{}", report::text(&results));
    if let Some(check) = &schema_check {
        print!("{}", check.report());
    }
    if let Some(path) = args.junit {
        std::fs::write(&path, report::junit(&results, &reset))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report::totals(&results).failed == 0)
}

fn run_lifecycle(args: LifecycleArgs) -> anyhow::Result<bool> {
    let seed = args.seed.unwrap_or_else(|| {
        u64::from(std::process::id()) ^ chrono::Utc::now().timestamp_subsec_nanos() as u64
    });
    let policy = args.reset.policy();
    let first = Target::open(&args.target)?.with_reset_policy(policy)?;
    let second = args
        .compare
        .map(|spec| {
            let sandbox = spec == TargetSpec::Sandbox;
            let compare = TargetArgs {
                target: spec,
                client_id: args.target.client_id.clone().filter(|_| sandbox),
                client_secret: args.target.client_secret.clone().filter(|_| sandbox),
                admin_token: args.target.admin_token.clone(),
                allow_production: args.target.allow_production,
                ..TargetArgs::default()
            };
            let policy = policy.filter(|_| !sandbox);
            Target::open(&compare).and_then(|t| t.with_reset_policy(policy))
        })
        .transpose()?;
    let options = LifecycleOptions {
        cases: args.cases,
        max_steps: args.max_steps,
        seed,
        regressions: None,
    };
    let report = lifecycle::run(&first, second.as_ref(), &options);
    println!("{}", first.reset_note("case"));
    println!("{} cases ran (seed {})", report.cases_run, report.seed);
    if let Some(failure) = &report.failure {
        println!("{failure}");
    }
    Ok(report.passed())
}

async fn rehearse(args: RehearseArgs) -> anyhow::Result<bool> {
    if args.target.target == TargetSpec::Sandbox {
        anyhow::bail!("a rehearsal moves the target's clock: it runs on mocks only");
    }
    let target = Target::open(&args.target)?;
    let admin = target.require_admin("a rehearsal")?;
    if args.hourly.is_some() || args.spike.is_some() {
        let mut limits = serde_json::Map::new();
        if let Some(h) = args.hourly {
            limits.insert("hourly".to_owned(), h.into());
        }
        if let Some(s) = args.spike {
            limits.insert("spike".to_owned(), s.into());
        }
        admin
            .call(
                reqwest::Method::PUT,
                "/rate-limits",
                Some(&serde_json::Value::Object(limits)),
            )
            .await?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let strategies = match args.strategy {
        StrategyChoice::Polite => vec![Strategy::Polite],
        StrategyChoice::Naive => vec![Strategy::Naive],
        StrategyChoice::Both => vec![Strategy::Polite, Strategy::Naive],
    };
    let terminal = std::io::stderr().is_terminal();
    for strategy in strategies {
        let options = RehearsalOptions {
            clients: args.clients,
            seconds: args.seconds,
            work_per_client: args.work,
            endpoint: args.endpoint.clone(),
            tick_ms: 250,
            seed: args.seed,
            progress: terminal.then_some(show_progress as fn(u64, u64, u64)),
        };
        let summary = rehearsal::rehearse(&target, &options, strategy).await?;
        if terminal {
            // Clear the progress line; redirected stderr never had one.
            eprint!("\r\x1b[2K");
        }
        let name = serde_json::to_value(strategy)?
            .as_str()
            .unwrap_or("run")
            .to_owned();
        std::fs::write(
            args.out.join(format!("{name}-summary.json")),
            serde_json::to_string_pretty(&summary)?,
        )?;
        let svg = chart::render(
            &format!("{name}: {} clients sharing one app", args.clients),
            &summary.series,
            rehearsal::limit_per_second(&summary),
        );
        std::fs::write(args.out.join(format!("{name}-chart.svg")), svg)?;
        println!("{}", summary.closing_line());
    }
    Ok(true)
}

fn show_progress(admitted: u64, throttled: u64, in_flight: u64) {
    eprint!("\radmitted {admitted}  throttled {throttled}  in flight {in_flight}   ");
}

/// The running mock `args` names, opened through the target layer.
fn journal_target(args: &JournalArgs) -> anyhow::Result<Target> {
    let spec: TargetSpec = args.target.parse().map_err(anyhow::Error::msg)?;
    if !matches!(spec, TargetSpec::Url(_)) {
        anyhow::bail!("--target must be the base URL of a running mock");
    }
    Ok(Target::open(&TargetArgs {
        admin_token: args.admin_token.clone(),
        ..TargetArgs::new(spec)
    })?)
}

/// The journal selection `args` names, read from `target`.
async fn read_journal(
    target: &Target,
    args: &JournalArgs,
) -> anyhow::Result<Vec<procore_contract::admin::JournalEntry>> {
    let filter = JournalFilter {
        client_id: args.client_id.clone(),
        since: args.since.clone(),
    };
    Ok(target
        .require_admin("reading the journal")?
        .journal(&filter)
        .await?)
}

async fn audit_journal(args: AuditArgs) -> anyhow::Result<bool> {
    let target = journal_target(&args.journal)?;
    let journal = read_journal(&target, &args.journal).await?;
    let audits = audit::audit(
        &audit::observations(&journal),
        args.journal.client_id.as_deref(),
    );
    if args.journal.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&audits)?))?;
    } else {
        emit(&audit::text(&audits, 10))?;
    }
    let violations: usize = audits.iter().map(|a| a.violations.len()).sum();
    Ok(args.no_fail || violations == 0)
}

async fn coverage_report(args: JournalArgs) -> anyhow::Result<bool> {
    let target = journal_target(&args)?;
    let journal = read_journal(&target, &args).await?;
    let document = target
        .require_admin("coverage")?
        .openapi()
        .await
        .context("coverage reads the operations from the mock's own OpenAPI document")?;
    let catalogue =
        coverage::Catalogue::from_openapi(&document).context("GET /openapi.json of the mock")?;
    let report = coverage::coverage(&catalogue, &journal);
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        emit(&coverage::text(&report))?;
    }
    Ok(true)
}

/// Writes a report to stdout; a reader that stopped early (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
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
