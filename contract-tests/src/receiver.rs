//! A webhook receiver on a loopback port: it answers every request with one status and records
//! each delivery's headers and JSON body, so scenarios and lifecycles can check what the target
//! delivered. It stops when dropped.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::{HarnessError, Result};

/// One delivery as the receiver got it.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    /// Request headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`null` when it was not JSON).
    pub body: Value,
}

/// A running receiver.
#[derive(Debug)]
pub struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Delivered>>>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Starts a receiver on `127.0.0.1` that answers `status` to every request.
    pub async fn start(status: u16) -> Result<Self> {
        let failed = |e: &dyn std::fmt::Display| {
            HarnessError::Config(format!("cannot start a webhook receiver: {e}"))
        };
        let status = StatusCode::from_u16(status).map_err(|e| failed(&e))?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let delivered = Delivered {
                    headers: headers
                        .iter()
                        .map(|(name, value)| {
                            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                            (name.as_str().to_owned(), value)
                        })
                        .collect(),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                };
                if let Ok(mut log) = log.lock() {
                    log.push(delivered);
                }
                status
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| failed(&e))?;
        let address = listener.local_addr().map_err(|e| failed(&e))?;
        let url = format!("http://{address}/webhooks");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(Self {
            url,
            received,
            _stop: stop,
        })
    }

    /// The URL to register as a hook's `destination_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The deliveries received since the last call, oldest first.
    pub fn take(&self) -> Vec<Delivered> {
        self.received
            .lock()
            .map(|mut log| std::mem::take(&mut *log))
            .unwrap_or_default()
    }
}
