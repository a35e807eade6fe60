//! Serving: [`run`] serves the app on a listener until a shutdown future resolves, and
//! [`MockServer`] runs a whole server on its own thread for tests and embedding.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{Config, Profile};
use crate::control::journal::JournalEntry;
use crate::control::matcher::RequestMatcher;
use crate::delivery::FlushReport;
use crate::fixtures::Fixture;
use crate::http::connection::{self, Timeouts};
use crate::state::AppState;

/// Serves the mock on `listener` (and delivers webhooks) until `shutdown` resolves. Then it
/// stops accepting, lets the requests in flight finish for up to `--shutdown-grace` (a stalled
/// client cannot hold the shutdown up longer), and writes the state file when one is
/// configured.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = state.config();
    let timeouts = Timeouts {
        header_read: config.header_read_timeout,
        idle: config.idle_timeout,
    };
    let grace = config.shutdown_grace;
    let app = crate::app(state.clone());
    // Webhook deliveries go on beside the requests, for as long as the server serves.
    let deliveries = tokio::spawn(crate::delivery::run(state.clone()));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection::serve(stream, app.clone(), timeouts, graceful.watcher()));
                }
                // Out of file descriptors and the like: the condition passes as connections
                // close, so keep serving (after a pause, not to spin on the error).
                Err(err) => {
                    tracing::warn!(%err, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    deliveries.abort();
    let open = graceful.count();
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            grace_secs = grace.as_secs_f64(),
            "stopped waiting for requests still in flight after the grace period"
        );
    }
    let saved = tokio::task::spawn_blocking(move || {
        state
            .save_state_file()
            .map(|path| path.map(std::path::Path::to_path_buf))
    })
    .await
    .map_err(std::io::Error::other)??;
    if let Some(path) = saved {
        tracing::info!(path = %path.display(), "state saved");
    }
    Ok(())
}

/// Deletes the temporary files that saves of the state file at `path` killed mid-way (a
/// `kill -9`) left beside it, and logs each one removed. The binary calls it at start, before
/// loading the state file. A temporary is removed only when its name is exactly one that a
/// save of this state file gives and the process that wrote it is gone (known on Linux only:
/// elsewhere each is logged and left), so another mock saving to the same file meanwhile
/// keeps its own. Never fails: at worst a file stays, with a warning. Blocks briefly (it reads
/// one directory).
pub fn clear_abandoned_saves(path: &std::path::Path) {
    let leftovers = match crate::control::persistence::remove_abandoned_temporaries(path) {
        Ok(leftovers) => leftovers,
        Err(err) => {
            tracing::warn!(%err, state_file = %path.display(), "could not look for temporary files of interrupted saves");
            return;
        }
    };
    for removed in &leftovers.removed {
        tracing::info!(path = %removed.display(), "removed the temporary file of a save that was interrupted");
    }
    for kept in &leftovers.kept {
        tracing::info!(path = %kept.display(), "left a temporary file of a save whose process may still be running");
    }
    for (failed, err) in &leftovers.failed {
        tracing::warn!(path = %failed.display(), %err, "could not remove the temporary file of an interrupted save");
    }
}

/// How long the accept loop waits after an accept error before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A running mock on a loopback port, on its own thread and runtime, so it works from sync code
/// (proptest) and from any async runtime. It stops when dropped.
///
/// ```
/// let server = procore_mock::MockServer::start();
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct MockServer {
    address: SocketAddr,
    url: String,
    state: AppState,
    stop: watch::Sender<bool>,
    /// The server's own runtime, where work asked of it from outside (a flush) runs.
    runtime: tokio::runtime::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Starts a server with the built-in default data and the `documented` profile.
    ///
    /// # Panics
    /// When no loopback port can be bound (use [`MockServerBuilder::try_start`] to handle it).
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// A builder to choose the fixture, profile, configuration or clock.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:43121` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's state, for tests that inspect or change it directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The server's clock, to advance or freeze time in tests.
    pub fn clock(&self) -> &Clock {
        self.state.clock()
    }

    /// The requests this server has answered, oldest first, as the journal keeps them (the
    /// last `--journal-size` of them; `Authorization` and OAuth secrets redacted). The same
    /// record `GET /__admin/requests` serves, as Rust values, to verify what a client sent.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let server = procore_mock::MockServer::start();
    /// let mut stream = std::net::TcpStream::connect(server.address()).unwrap();
    /// stream
    ///     .write_all(b"GET /rest/v1.0/me HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n")
    ///     .unwrap();
    /// stream.read_to_string(&mut String::new()).unwrap();
    ///
    /// let requests = server.received_requests();
    /// assert_eq!(requests.len(), 1);
    /// assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("GET", "/rest/v1.0/me"));
    /// assert_eq!(requests[0].status, 401, "no token was sent");
    /// ```
    pub fn received_requests(&self) -> Vec<JournalEntry> {
        self.state.control().journal.entries(|_| true, None)
    }

    /// The journaled requests that `matcher` matches, oldest first: what
    /// `POST /__admin/requests/count` answers, for asserting what an integration did.
    ///
    /// ```
    /// use procore_mock::{MockServer, RequestMatcher};
    ///
    /// let server = MockServer::start();
    /// let deletes = RequestMatcher::new().method("DELETE");
    /// assert!(server.requests_matching(&deletes).is_empty());
    /// ```
    pub fn requests_matching(&self, matcher: &RequestMatcher) -> Vec<JournalEntry> {
        self.state
            .control()
            .journal
            .entries(|entry| matcher.matches(entry), None)
    }

    /// Delivers every webhook event due now and returns once those attempts are done, saying
    /// what is still waiting: what `POST /__admin/webhooks/flush` does, for a test to call
    /// instead of waiting for the delivery worker. It runs on the server's own runtime, so
    /// any async runtime can await it (and sync code can use `futures::executor::block_on`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = procore_mock::MockServer::start();
    /// let left = server.flush_webhooks().await;
    /// assert_eq!(left.pending, 0, "the default data has no hooks");
    /// # }
    /// ```
    pub async fn flush_webhooks(&self) -> FlushReport {
        let state = self.state.clone();
        let flushed = self
            .runtime
            .spawn(async move { crate::delivery::flush(&state).await });
        match flushed.await {
            Ok(report) => report,
            Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
            // Only a runtime shutting down cancels a task, and this server's runs while it lives.
            Err(failed) => unreachable!("the mock's runtime stopped under a flush: {failed}"),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Configures a [`MockServer`] before starting it.
#[derive(Debug, Default)]
pub struct MockServerBuilder {
    config: Config,
    fixture: Option<Fixture>,
    clock: Clock,
}

impl MockServerBuilder {
    /// Uses `config` (its host and port are honoured; port 0 picks a free one).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Serves `profile`.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.config.profile = profile;
        self
    }

    /// Starts from `fixture` instead of the default data.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = Some(fixture);
        self
    }

    /// Runs on `clock` (share a handle to control time from the test).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Starts the server.
    ///
    /// # Panics
    /// When the address cannot be bound.
    pub fn start(self) -> MockServer {
        self.try_start()
            .expect("procore-mock could not bind its listener")
    }

    /// Starts the server, or says why it could not bind.
    pub fn try_start(self) -> std::io::Result<MockServer> {
        let fixture = match self.fixture {
            Some(fixture) => fixture,
            None => Fixture::default_data(),
        };
        let listener = std::net::TcpListener::bind((self.config.host.as_str(), self.config.port))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let state = AppState::new(self.config, fixture, self.clock);
        let (stop, stopped) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("procore-mock")
            .enable_all()
            .build()?;
        let served_state = state.clone();
        let handle = runtime.handle().clone();
        let thread = std::thread::Builder::new()
            .name("procore-mock".to_owned())
            .spawn(move || {
                runtime.block_on(serve_until_stopped(listener, served_state, stopped))
            })?;
        Ok(MockServer {
            address,
            url: format!("http://{address}"),
            state,
            stop,
            runtime: handle,
            thread: Some(thread),
        })
    }
}

async fn serve_until_stopped(
    listener: std::net::TcpListener,
    state: AppState,
    stopped: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(err) => {
            tracing::error!(%err, "procore-mock could not adopt its listener");
            return;
        }
    };
    let mut signal = stopped;
    let shutdown = async move {
        let _ = signal.wait_for(|stop| *stop).await;
    };
    // `run` bounds its own wait for open connections by the configured grace period.
    if let Err(err) = run(listener, state, shutdown).await {
        tracing::error!(%err, "procore-mock stopped with an error");
    }
}
