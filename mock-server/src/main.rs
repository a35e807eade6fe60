//! The `procore-mock` binary: parse flags, load data, bind, serve until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use procore_mock::{AppState, Clock, Config, Fixture};
use tracing_subscriber::EnvFilter;

/// mimalloc: the server allocates and frees small objects on many threads at once, where it
/// is markedly faster than the system allocator (see the README's benchmark figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("procore-mock: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if let Some(state) = &config.state_file {
        procore_mock::clear_abandoned_saves(state);
    }
    let fixture = match (&config.state_file, &config.fixtures) {
        (Some(state), _) if state.exists() => Fixture::from_path(state)?,
        (_, Some(path)) => Fixture::from_path(path)?,
        _ => Fixture::default_data(),
    };
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
    let address = listener.local_addr()?;
    let state = AppState::new(config, fixture, Clock::new());
    // Handlers go in before the ready line: a signal sent the moment a script reads it must
    // shut down gracefully, not kill the process (the serve loop polls its shutdown future
    // only later, on another task).
    let shutdown = shutdown_signal()?;
    println!("procore-mock listening on http://{address}");
    procore_mock::run(listener, state, shutdown).await?;
    tracing::info!("procore-mock stopped");
    Ok(())
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM, with the handlers installed now.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
