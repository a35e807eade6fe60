//! One client connection: HTTP/1.1 served by hyper, with the timeouts and error answers hyper
//! does not give on its own.
//!
//! A connection is in one of three phases, judged from what has passed through it:
//! - **busy**: a request has been handed to the app and its response is not yet sent. No
//!   connection timeout applies; a body that is slow to arrive is the app's to time out
//!   ([`crate::http::body::read_limited`], 408), and a handler may take as long as it needs.
//! - **idle**: the last response is sent and nothing of a next request has arrived. Closed
//!   after the idle (keep-alive) timeout.
//! - **head**: bytes of a request have arrived, but not yet its whole head (request line and
//!   headers). A new connection starts here. Closed if the head is not complete within the
//!   header-read timeout, counted from its first byte, so a client trickling a header one byte
//!   at a time cannot hold the connection.
//!
//! hyper answers requests it cannot parse itself (400, 414 for a long URI, 431 for large
//! headers) with an empty body; `TimedStream` rewrites such an answer into our JSON error
//! shape, which it recognises as a response written while no request was handed to the app.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The connection timeouts (see the module docs for when each applies).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// From a request head's first byte to its last.
    pub header_read: Duration,
    /// Between a response and the next request's first byte.
    pub idle: Duration,
}

/// Serves `app` on `stream` until the client leaves, a timeout closes it, or the graceful
/// shutdown `watcher` belongs to begins (then after the request in flight, if any, is answered).
pub async fn serve(stream: TcpStream, app: Router, timeouts: Timeouts, watcher: Watcher) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(TimedStream::new(stream, activity.clone(), timeouts));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let turn = Turn::begin(&activity);
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            Ok::<_, std::convert::Infallible>(response.map(|body| TurnBody { body, _turn: turn }))
        }
    });
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    if let Err(err) = watcher.watch(connection).await {
        tracing::debug!(%err, "connection closed");
    }
}

/// What the app is doing on a connection, shared by the service (which starts and ends
/// turns) and the stream (which reads it to pick its phase).
#[derive(Debug)]
struct Activity {
    /// Requests handed to the app whose response is not fully sent.
    in_flight: AtomicUsize,
    /// Requests handed to the app so far.
    received: AtomicU64,
    /// When the connection was accepted: what `last_sent` counts from.
    opened: Instant,
    /// Nanoseconds from `opened` to when the last response was all sent: the idle timeout
    /// counts from there, however late the stream notices that the turn ended.
    last_sent: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            received: AtomicU64::new(0),
            opened: Instant::now(),
            last_sent: AtomicU64::new(0),
        }
    }

    fn last_sent(&self) -> Instant {
        self.opened + Duration::from_nanos(self.last_sent.load(Ordering::Acquire))
    }
}

/// One request's time with the app: from being handed to it until its response is sent.
struct Turn(Arc<Activity>);

impl Turn {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.received.fetch_add(1, Ordering::AcqRel);
        Turn(activity.clone())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        // No wake-up for the read side: its timer is always armed, and when it fires the stream
        // sees the turn ended and counts the idle timeout from here. (Waking it costs every
        // request a second scheduling of the connection's task.)
        let sent = self.0.opened.elapsed().as_nanos();
        self.0
            .last_sent
            .store(u64::try_from(sent).unwrap_or(u64::MAX), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that ends its request's turn when hyper drops it: once it has all been
/// sent, or the connection is gone. Its length is the body's own (a wrapper that hid it would
/// make hyper write even a short answer in more than one go).
struct TurnBody {
    body: Body,
    _turn: Turn,
}

impl HttpBody for TurnBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Busy,
    Idle,
    Head,
}

/// The client's socket, closed (a `TimedOut` read error, on which hyper drops the connection)
/// when the idle or header-read timeout of its phase passes.
struct TimedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    phase: Phase,
    /// `activity.received` when the phase was last judged: a change means a new request.
    seen: u64,
    /// When the phase times out; none while busy.
    due: Option<Instant>,
    /// The timer, armed at or before `due`: moving a timer later on every request costs a
    /// timer-wheel update each time, so it is only ever moved earlier, and re-armed when it
    /// fires before `due`.
    timer: Pin<Box<Sleep>>,
    /// Our JSON answer in place of hyper's own error answer, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl TimedStream {
    fn new(inner: TcpStream, activity: Arc<Activity>, timeouts: Timeouts) -> Self {
        Self {
            inner,
            activity,
            timeouts,
            phase: Phase::Head,
            seen: 0,
            due: Some(Instant::now() + timeouts.header_read),
            timer: Box::pin(tokio::time::sleep(timeouts.header_read)),
            replacement: None,
        }
    }

    /// Notes a request handed to the app since the last look: the connection is busy.
    fn catch_up(&mut self) {
        let received = self.activity.received.load(Ordering::Acquire);
        if received != self.seen {
            self.seen = received;
            self.phase = Phase::Busy;
            self.due = None;
        }
    }

    fn busy(&self) -> bool {
        self.activity.in_flight.load(Ordering::Acquire) > 0
    }

    /// Enters `phase`, which began at `since`.
    fn enter(&mut self, phase: Phase, since: Instant) {
        self.phase = phase;
        self.due = match phase {
            Phase::Head => Some(since + self.timeouts.header_read),
            Phase::Idle => Some(since + self.timeouts.idle),
            Phase::Busy => None,
        };
        if let Some(due) = self.due {
            if due < self.timer.deadline() {
                self.timer.as_mut().reset(due);
            }
        }
    }

    /// Brings the phase up to date with the app: busy while a request is with it, idle from
    /// when its last response was sent.
    fn judge(&mut self) {
        self.catch_up();
        if self.phase == Phase::Busy && !self.busy() {
            let sent = self.activity.last_sent();
            self.enter(Phase::Idle, sent);
        }
    }

    /// `Ready` once the phase's timeout has passed; otherwise keeps the timer armed for it
    /// (with the current task's waker).
    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            ready!(self.timer.as_mut().poll(cx));
            self.judge();
            let now = Instant::now();
            match self.due {
                Some(due) if due <= now => return Poll::Ready(()),
                Some(due) => self.timer.as_mut().reset(due),
                // Busy: no timeout applies, but look again later, as the turn may end unseen.
                None => self.timer.as_mut().reset(now + self.timeouts.idle),
            }
        }
    }

    /// Writes our replacement answer; `Ready(Ok)` once it has all gone out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                return Poll::Ready(Ok(()));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Whether `head` is hyper's own answer to a request it could not parse: a response
    /// written while no request has been handed to the app since the last one was answered.
    fn is_hyper_error_answer(&mut self, head: &[u8]) -> bool {
        self.catch_up();
        self.phase != Phase::Busy && head.starts_with(b"HTTP/1.")
    }
}

/// Our JSON answer for the status of hyper's error answer `head` (`HTTP/1.1 431 ...`).
fn json_error_answer(head: &[u8]) -> Vec<u8> {
    let status = head
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let message = match status {
        StatusCode::URI_TOO_LONG => "The request URI is too long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "The request headers are too large",
        _ => "The request could not be read as HTTP/1.1",
    };
    let body = serde_json::json!({ "message": message }).to_string();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

impl AsyncRead for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.catch_up();
        let busy = this.busy();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && !busy && this.phase != Phase::Head {
                    this.enter(Phase::Head, Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                this.judge();
                ready!(this.poll_timeout(cx));
                let what = match this.phase {
                    Phase::Head => "the request head did not arrive within the header-read timeout",
                    _ => "the connection was idle for longer than the idle timeout",
                };
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
            }
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_none() && this.is_hyper_error_answer(buf) {
            this.replacement = Some((json_error_answer(buf), 0));
        }
        if this.replacement.is_some() {
            ready!(this.poll_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total = bufs.iter().map(|buf| buf.len()).sum();
        let head = bufs.iter().find(|buf| !buf.is_empty());
        if this.replacement.is_none() && head.is_some_and(|head| this.is_hyper_error_answer(head)) {
            let head = head.map_or(&[][..], |head| &head[..]);
            this.replacement = Some((json_error_answer(head), 0));
        }
        if this.replacement.is_some() {
            ready!(this.poll_replacement(cx))?;
            return Poll::Ready(Ok(total));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
