//! The header and idle deadlines of one connection. hyper measures a single timeout from the
//! end of one response to the end of the next request head, so a keep-alive connection could
//! not wait for its next request longer than a client may take to send a head: either pools
//! lose their connections after a few seconds, or slow heads hold sockets for a minute. This
//! clock keeps them apart:
//! - the first request head must arrive within the header timeout of the connection opening;
//! - a later head within the header timeout of its first byte;
//! - a connection with no call open is closed after the idle timeout (HTTP/2 included, with a
//!   GOAWAY, so a client reconnects instead of seeing a reset).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The two deadlines a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct ClockTimeouts {
    pub header: Duration,
    pub idle: Duration,
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// A request head did not arrive in time: close at once.
    Header,
    /// No call for the idle timeout: close gracefully.
    Idle,
}

/// What one connection is doing, shared by its reader, its calls and its watcher.
#[derive(Debug)]
pub struct ConnectionClock {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    calls_open: usize,
    /// When the last call ended, or when the connection opened.
    idle_since: Instant,
    /// The first byte read since the connection went idle: a request head is on its way.
    head_started: Option<Instant>,
    served: bool,
    /// HTTP/2 multiplexes calls and pings over one connection; its bytes say nothing of heads.
    http2: bool,
    first_read: bool,
}

/// The HTTP/2 connection preface starts with this.
const HTTP2_PREFACE: &[u8] = b"PRI ";

impl ConnectionClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                calls_open: 0,
                idle_since: Instant::now(),
                head_started: None,
                served: false,
                http2: false,
                first_read: true,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: every update is a
        // single assignment.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call begins; the returned guard ends it when dropped (after its answer's last byte).
    pub fn call_started(self: &Arc<Self>, http2: bool) -> CallOpen {
        {
            let mut state = self.state();
            state.calls_open += 1;
            state.served = true;
            state.http2 |= http2;
            state.head_started = None;
        }
        self.changed.notify_waiters();
        CallOpen(self.clone())
    }

    fn call_ended(&self) {
        {
            let mut state = self.state();
            state.calls_open = state.calls_open.saturating_sub(1);
            if state.calls_open == 0 {
                state.idle_since = Instant::now();
                state.head_started = None;
            }
        }
        self.changed.notify_waiters();
    }

    fn bytes_read(&self, bytes: &[u8]) {
        let mut state = self.state();
        if std::mem::take(&mut state.first_read) && bytes.starts_with(HTTP2_PREFACE) {
            state.http2 = true;
        }
        if state.calls_open == 0 && state.head_started.is_none() && !state.http2 {
            state.head_started = Some(Instant::now());
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// The deadline that applies now, if any.
    fn deadline(&self, timeouts: ClockTimeouts) -> Option<(Instant, Expired)> {
        let state = self.state();
        if state.calls_open > 0 {
            return None;
        }
        Some(match (state.http2, state.served, state.head_started) {
            (true, ..) => (state.idle_since + timeouts.idle, Expired::Idle),
            (false, false, _) => (state.idle_since + timeouts.header, Expired::Header),
            (false, true, Some(started)) => (started + timeouts.header, Expired::Header),
            (false, true, None) => (state.idle_since + timeouts.idle, Expired::Idle),
        })
    }

    /// Resolves when a deadline passes.
    pub async fn expired(&self, timeouts: ClockTimeouts) -> Expired {
        loop {
            // Registered before the state is read, so a change in between is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(timeouts) {
                None => changed.await,
                Some((at, expired)) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {
                        if self.deadline(timeouts).is_some_and(|(now_at, _)| now_at <= Instant::now()) {
                            return expired;
                        }
                    }
                    () = &mut changed => {}
                },
            }
        }
    }
}

/// An open call; dropping it ends the call on the clock.
#[derive(Debug)]
pub struct CallOpen(Arc<ConnectionClock>);

impl Drop for CallOpen {
    fn drop(&mut self) {
        self.0.call_ended();
    }
}

/// A connection's byte stream, reporting what it reads to the clock.
pub struct Watched<S> {
    inner: S,
    clock: Arc<ConnectionClock>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, clock: Arc<ConnectionClock>) -> Self {
        Self { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.clock.bytes_read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// An answer's body that keeps its call open until the last byte is sent or the body dropped.
pub struct TrackedBody<B> {
    inner: B,
    _open: CallOpen,
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, open: CallOpen) -> Self {
        Self { inner, _open: open }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: ClockTimeouts = ClockTimeouts {
        header: Duration::from_millis(100),
        idle: Duration::from_millis(400),
    };

    /// A loaded machine may wake a timer late, never early.
    fn took(since: Instant, at_least: Duration) {
        let elapsed = since.elapsed();
        assert!(
            elapsed >= at_least && elapsed < at_least + Duration::from_millis(250),
            "{elapsed:?} for {at_least:?}"
        );
    }

    #[tokio::test]
    async fn the_first_head_must_arrive_within_the_header_timeout() {
        let clock = ConnectionClock::new();
        let opened = Instant::now();
        assert_eq!(clock.expired(TIMEOUTS).await, Expired::Header);
        took(opened, TIMEOUTS.header);
    }

    #[tokio::test]
    async fn between_calls_the_idle_timeout_applies_until_a_head_starts() {
        let clock = ConnectionClock::new();
        drop(clock.call_started(false));
        let idle = Instant::now();
        assert_eq!(clock.expired(TIMEOUTS).await, Expired::Idle);
        took(idle, TIMEOUTS.idle);

        drop(clock.call_started(false));
        tokio::time::sleep(Duration::from_millis(200)).await;
        clock.bytes_read(b"GET / HT");
        let started = Instant::now();
        assert_eq!(clock.expired(TIMEOUTS).await, Expired::Header);
        took(started, TIMEOUTS.header);
    }

    #[tokio::test]
    async fn an_open_call_holds_no_deadline_and_its_end_restarts_idle() {
        let clock = ConnectionClock::new();
        let open = clock.call_started(false);
        let watcher = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.expired(TIMEOUTS).await })
        };
        // Body bytes of an open call are not a new head.
        clock.bytes_read(b"{\"a\": 1}");
        tokio::time::sleep(TIMEOUTS.idle * 2).await;
        assert!(!watcher.is_finished());
        drop(open);
        let ended = Instant::now();
        assert_eq!(watcher.await.unwrap(), Expired::Idle);
        took(ended, TIMEOUTS.idle);
    }

    #[tokio::test]
    async fn http2_is_idle_whatever_its_pings_and_before_its_first_call() {
        let clock = ConnectionClock::new();
        clock.bytes_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        let opened = Instant::now();
        let watcher = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.expired(TIMEOUTS).await })
        };
        tokio::time::sleep(TIMEOUTS.header * 2).await;
        clock.bytes_read(b"ping frame");
        assert_eq!(watcher.await.unwrap(), Expired::Idle);
        took(opened, TIMEOUTS.idle);
    }
}
