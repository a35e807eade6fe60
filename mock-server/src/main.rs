//! The `procore-mock` binary: parse flags, load data, bind, serve until SIGINT or SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use procore_mock::{server, AppState, Clock, Config, Fixture};
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
    println!("procore-mock listening on http://{address}");
    server::run(listener, state, shutdown_signal()).await?;
    tracing::info!("procore-mock stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
