//! One delivery attempt: POST the payload to the hook's URL with its headers, and read what the
//! receiver answered, all within the delivery timeout.
//!
//! The timeout covers connecting, sending and reading the answer, so a receiver that hangs or
//! trickles bytes costs one attempt at most the timeout. Only the start of the answer's body is
//! kept ([`RESPONSE_BODY_LIMIT`]); the rest is never read.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::header;

/// Bytes of a receiver's answer kept in the delivery log.
pub const RESPONSE_BODY_LIMIT: usize = 2_048;

/// What came of one attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// The receiver's headers.
    pub headers: BTreeMap<String, String>,
    /// The start of the receiver's body.
    pub body: Option<String>,
    /// Why there is no answer (refused, timed out...).
    pub error: Option<String>,
}

impl Answer {
    /// "Success" is a 2xx within the timeout.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(error: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            ..Self::default()
        }
    }
}

/// The HTTP client deliveries share: no proxy (receivers are usually on loopback), no
/// redirects (Procore does not document following them), its own connection pool.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .user_agent(concat!("procore-mock-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|err| {
            tracing::error!(%err, "the webhook client could not be configured; using defaults");
            reqwest::Client::new()
        })
}

/// POSTs `body` (JSON) to `url` with `headers`, within `timeout`.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    headers: &BTreeMap<String, String>,
    body: Vec<u8>,
    timeout: Duration,
) -> Answer {
    let mut request = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let exchange = async {
        let mut response = request.body(body).send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut kept = Vec::new();
        while kept.len() < RESPONSE_BODY_LIMIT {
            match response.chunk().await? {
                Some(chunk) => kept.extend_from_slice(&chunk),
                None => break,
            }
        }
        kept.truncate(RESPONSE_BODY_LIMIT);
        Ok::<_, reqwest::Error>(Answer {
            status: Some(status),
            headers,
            body: Some(String::from_utf8_lossy(&kept).into_owned()),
            error: None,
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(err)) => Answer::failed(describe(&err)),
        Err(_) => Answer::failed(format!(
            "no answer within the {} ms delivery timeout",
            timeout.as_millis()
        )),
    }
}

/// A client error with its causes, e.g. "error sending request: connection refused".
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
