//! `procore-contract`: runs scenario files against a target and reports.
//!
//! Thin: parse flags, resolve the target, load scenarios, run, print, exit 0 only if every
//! scenario that ran passed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use procore_contract::scenario::report::{self, Summary};
use procore_contract::scenario::runner::{new_run_id, Runner};
use procore_contract::scenario::{self};
use procore_contract::target::{Target, TargetSpec};

#[derive(Parser)]
#[command(
    name = "procore-contract",
    version,
    about = "Contract tests for Procore integrations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files against a target.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// `embedded` (an in-process mock), a running mock's URL, or `sandbox` (from PROCORE_*).
    #[arg(long, default_value = "embedded")]
    target: TargetSpec,
    /// Directory of scenario files.
    #[arg(long, default_value = "scenarios")]
    scenarios: PathBuf,
    /// Only scenarios whose name or a tag contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Reset a running mock (`POST /__admin/reset`) before the run.
    #[arg(long)]
    reset: bool,
    /// The token of a mock started with `--admin-token` (for `--reset` and mock-only steps).
    #[arg(long, env = "PROCORE_MOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Allow api.procore.com / login.procore.com as a sandbox (scenarios write data).
    #[arg(long)]
    allow_production: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Run(args) = Cli::parse().command;
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("procore-contract: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<bool> {
    let mut scenarios = scenario::load_dir(&args.scenarios)?;
    if let Some(filter) = &args.filter {
        scenarios.retain(|s| {
            s.name.contains(filter.as_str()) || s.tags.iter().any(|t| t.contains(filter.as_str()))
        });
    }
    anyhow::ensure!(
        !scenarios.is_empty(),
        "no scenario in {} matches",
        args.scenarios.display()
    );
    let mut target = Target::resolve(&args.target, args.allow_production)?;
    if args.admin_token.is_some() {
        target = target.with_admin_token(args.admin_token);
    }
    if args.reset {
        anyhow::ensure!(
            target.mock,
            "--reset needs a mock target, not {}",
            target.name
        );
        target.reset().await?;
    }
    let runner = Runner::connect(&target, new_run_id())
        .await
        .with_context(|| format!("target {}", target.name))?;
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(scenarios.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in &scenarios {
        progress.set_message(scenario.name.clone());
        results.push(runner.run(scenario).await);
        progress.inc(1);
    }
    progress.finish_and_clear();
    print!("{}", report::text(&target.name, &results));
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&target.name, &results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Summary::of(&results).failed == 0)
}
