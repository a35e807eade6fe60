//! What both benchmark binaries share: the runtime their load generators run on, and running
//! only the parts named after `--`.

use std::future::Future;
use std::pin::Pin;

/// One part of a benchmark: the name `--` picks it by, and how to run it.
pub type Part = (&'static str, fn() -> Pin<Box<dyn Future<Output = ()>>>);

/// Runs, in order, the parts whose name contains the first argument after `--` (all of them
/// when none is given), on a one-thread runtime: the servers measured run on their own, so
/// the load generator takes as little of the two cores as it can.
pub fn run_parts(parts: &[Part]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the load generator");
    let only = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    runtime.block_on(async {
        for (name, run) in parts {
            if only.as_deref().is_none_or(|only| name.contains(only)) {
                run().await;
            }
        }
    });
}

/// A token for the default data's OAuth app, from the mock at `base`.
pub async fn token(base: &str) -> String {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "procore-mock-client"),
            ("client_secret", "procore-mock-secret"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token body");
    body["access_token"].as_str().expect("a token").to_owned()
}
