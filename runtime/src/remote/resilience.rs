//! How a remote backend behaves when its runtime misbehaves: unary calls are retried with
//! exponential backoff and full jitter when the remote was unreachable or busy (nothing ran
//! there), and a circuit breaker fails calls fast while the remote keeps failing, letting one
//! probe through after a cooldown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{RemoteFailure, RuntimeError};
use crate::metrics::engine;
use crate::trace;

/// Retries of one unary call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The first backoff; each later one doubles, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in `[0, min(max, base·2^attempt)]`, so clients that failed together
    /// do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .min(self.max_delay);
        ceiling.mul_f64(rand::rng().random::<f64>())
    }
}

/// Only failures where the remote did no work are safe to repeat.
fn retryable(error: &RuntimeError) -> bool {
    matches!(
        error,
        RuntimeError::Remote {
            failure: RemoteFailure::Unreachable | RemoteFailure::Busy,
            ..
        }
    )
}

/// Failures that say the remote is unwell (a rejected request or a busy remote does not).
fn unhealthy(error: &RuntimeError) -> bool {
    matches!(
        error,
        RuntimeError::Remote {
            failure: RemoteFailure::Unreachable | RemoteFailure::TimedOut | RemoteFailure::Failed,
            ..
        }
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls fail fast until the cooldown ends.
    Open,
    /// One probe call is let through; its outcome closes or re-opens the circuit.
    HalfOpen,
}

impl BreakerState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

#[derive(Debug)]
struct Breaker {
    state: BreakerState,
    consecutive_failures: u32,
    open_until: Instant,
    probe_in_flight: bool,
}

/// Opens after `failures_to_open` unhealthy outcomes in a row.
#[derive(Debug)]
pub struct CircuitBreaker {
    failures_to_open: u32,
    cooldown: Duration,
    inner: Mutex<Breaker>,
}

impl CircuitBreaker {
    pub fn new(failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            failures_to_open: failures_to_open.max(1),
            cooldown,
            inner: Mutex::new(Breaker {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                open_until: Instant::now(),
                probe_in_flight: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // The state stays consistent across a panic (plain fields), so a poisoned lock is used.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state now (an open circuit past its cooldown reads as half-open).
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.state {
            BreakerState::Open if Instant::now() >= inner.open_until => BreakerState::HalfOpen,
            state => state,
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    /// May a call go out now? When not, how long until it may. The pass must be given back
    /// with its outcome; dropped without one (the caller went away), it frees the probe slot.
    fn admit(&self) -> Result<Pass<'_>, Duration> {
        let mut inner = self.lock();
        let now = Instant::now();
        let probe = match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open if now < inner.open_until => return Err(inner.open_until - now),
            BreakerState::Open | BreakerState::HalfOpen => {
                if inner.probe_in_flight {
                    return Err(self.cooldown);
                }
                inner.state = BreakerState::HalfOpen;
                inner.probe_in_flight = true;
                true
            }
        };
        Ok(Pass {
            breaker: self,
            probe,
            done: false,
        })
    }

    fn record(&self, probe: bool, healthy: bool) {
        let mut inner = self.lock();
        if probe {
            inner.probe_in_flight = false;
        }
        if healthy {
            inner.state = BreakerState::Closed;
            inner.consecutive_failures = 0;
            return;
        }
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        if inner.state == BreakerState::HalfOpen
            || inner.consecutive_failures >= self.failures_to_open
        {
            inner.state = BreakerState::Open;
            inner.open_until = Instant::now() + self.cooldown;
        }
    }
}

/// One call let through the breaker.
struct Pass<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    done: bool,
}

impl Pass<'_> {
    fn record(mut self, healthy: bool) {
        self.done = true;
        self.breaker.record(self.probe, healthy);
    }
}

impl Drop for Pass<'_> {
    /// A call cancelled by its caller says nothing of the remote's health; a cancelled probe
    /// frees its slot so the next call probes instead (otherwise the circuit would stay
    /// half-open, refusing everything, until restart).
    fn drop(&mut self) {
        if self.probe && !self.done {
            self.breaker.lock().probe_in_flight = false;
        }
    }
}

/// Retries and the circuit breaker of one backend.
#[derive(Debug)]
pub struct Resilience {
    pub retry: RetryPolicy,
    pub breaker: CircuitBreaker,
    /// Named in errors.
    backend: String,
    in_flight: Arc<AtomicUsize>,
}

/// The in-flight count of the server at `url`, shared by every client of it alive.
fn endpoint_counter(url: &str) -> Arc<AtomicUsize> {
    static COUNTERS: OnceLock<Mutex<HashMap<String, Weak<AtomicUsize>>>> = OnceLock::new();
    let mut counters = COUNTERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    counters.retain(|_, counter| counter.strong_count() > 0);
    let counter = counters
        .get(url)
        .and_then(Weak::upgrade)
        .unwrap_or_default();
    counters.insert(url.to_string(), Arc::downgrade(&counter));
    counter
}

/// Counts one call to the remote as running until dropped (streams hold it to their end).
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Resilience {
    pub fn new(backend: impl Into<String>, retry: RetryPolicy, breaker: CircuitBreaker) -> Self {
        Self {
            retry,
            breaker,
            backend: backend.into(),
            in_flight: Arc::default(),
        }
    }

    /// Marks a call as running until the guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    /// Calls (and streams) to this remote running now.
    pub fn calls_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The retries and circuit an endpoint's settings ask for. Calls in flight are counted
    /// per endpoint URL: models served by one remote server share its count.
    pub fn for_endpoint(backend: impl Into<String>, endpoint: &super::RemoteEndpoint) -> Self {
        let breaker = CircuitBreaker::new(endpoint.circuit_failures, endpoint.circuit_cooldown);
        Self {
            in_flight: endpoint_counter(&endpoint.url),
            ..Self::new(backend, endpoint.retry, breaker)
        }
    }

    fn open_error(&self, retry_in: Duration) -> RuntimeError {
        RuntimeError::Remote {
            backend: self.backend.clone(),
            failure: RemoteFailure::Unreachable,
            message: format!(
                "circuit open after repeated failures; next attempt in {} ms",
                retry_in.as_millis().max(1)
            ),
        }
    }

    /// Runs `call` once through the breaker (for stream starts: a started stream is never
    /// retried, since the caller may already have seen tokens). The attempt is a client span:
    /// `call` builds its request inside it, so the `traceparent` it sends names this span.
    pub async fn once<T, F>(&self, call: F) -> Result<T, RuntimeError>
    where
        F: Future<Output = Result<T, RuntimeError>>,
    {
        let metrics = engine();
        let pass = match self.breaker.admit() {
            Ok(pass) => pass,
            Err(wait) => {
                metrics.backend_errors.inc(&[&self.backend, "circuit_open"]);
                return Err(self.open_error(wait));
            }
        };
        let span = tracing::info_span!(
            target: trace::TARGET,
            "remote call",
            otel.kind = "client",
            taskgate.backend = %self.backend,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let _running = self.in_flight();
        let started = Instant::now();
        let result = call.instrument(span.clone()).await;
        pass.record(!result.as_ref().err().is_some_and(unhealthy));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(RuntimeError::Remote { failure, .. }) => failure.name(),
            Err(_) => "failed",
        };
        if outcome != "ok" {
            metrics.backend_errors.inc(&[&self.backend, outcome]);
            span.record("error.type", outcome);
            span.record("otel.status_code", "ERROR");
        }
        metrics
            .backend_request_seconds
            .observe(&[&self.backend, outcome], started.elapsed().as_secs_f64());
        result
    }

    /// Runs a unary call through the breaker, retrying what is safe to retry.
    pub async fn unary<T, F, Fut>(&self, mut call: F) -> Result<T, RuntimeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RuntimeError>>,
    {
        let mut attempt = 0;
        loop {
            let result = self.once(call()).await;
            match result {
                Err(error) if retryable(&error) && attempt < self.retry.retries => {
                    engine().backend_retries.inc(&[&self.backend]);
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: RemoteFailure) -> RuntimeError {
        RuntimeError::Remote {
            backend: "b".into(),
            failure: kind,
            message: "m".into(),
        }
    }

    #[test]
    fn backoff_grows_and_stays_under_its_cap() {
        let policy = RetryPolicy {
            retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..100 {
            assert!(policy.backoff(0) <= Duration::from_millis(100));
            assert!(policy.backoff(1) <= Duration::from_millis(200));
            assert!(policy.backoff(40) <= Duration::from_millis(300));
        }
    }

    #[tokio::test]
    async fn the_circuit_opens_fails_fast_and_closes_after_a_good_probe() {
        let breaker = CircuitBreaker::new(2, Duration::from_millis(100));
        breaker.admit().unwrap().record(false);
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.admit().unwrap().record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(breaker.admit().is_err(), "open: fail fast");
        tokio::time::sleep(Duration::from_millis(110)).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let probe = breaker.admit().expect("one probe");
        assert!(breaker.admit().is_err(), "only one probe at a time");
        probe.record(true);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.consecutive_failures(), 0);
    }

    #[tokio::test]
    async fn a_failed_probe_reopens_the_circuit() {
        let breaker = CircuitBreaker::new(1, Duration::from_millis(50));
        breaker.admit().unwrap().record(false);
        tokio::time::sleep(Duration::from_millis(60)).await;
        breaker.admit().unwrap().record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[tokio::test]
    async fn a_cancelled_probe_frees_its_slot() {
        let resilience = Resilience::new(
            "b",
            RetryPolicy {
                retries: 0,
                ..RetryPolicy::default()
            },
            CircuitBreaker::new(1, Duration::from_millis(20)),
        );
        let failed: Result<(), _> = resilience
            .once(async { Err(failure(RemoteFailure::Unreachable)) })
            .await;
        assert!(failed.is_err());
        tokio::time::sleep(Duration::from_millis(30)).await;
        // The probe's caller gives up mid-call: the future is dropped before any outcome.
        let probe = resilience.once(std::future::pending::<Result<(), RuntimeError>>());
        let cancelled = tokio::time::timeout(Duration::from_millis(10), probe).await;
        assert!(cancelled.is_err());
        assert_eq!(resilience.breaker.state(), BreakerState::HalfOpen);
        // The next call is the probe, and a good one closes the circuit.
        let next = resilience.once(async { Ok::<_, RuntimeError>(7) }).await;
        assert_eq!(next.unwrap(), 7);
        assert_eq!(resilience.breaker.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_rejected_request_does_not_count_against_the_circuit() {
        let resilience = Resilience::new(
            "b",
            RetryPolicy::default(),
            CircuitBreaker::new(1, Duration::from_secs(10)),
        );
        for _ in 0..3 {
            let rejected: Result<(), _> = resilience
                .once(async { Err(failure(RemoteFailure::Rejected)) })
                .await;
            assert!(rejected.is_err());
        }
        assert_eq!(resilience.breaker.state(), BreakerState::Closed);
        assert_eq!(resilience.breaker.consecutive_failures(), 0);
    }

    #[tokio::test]
    async fn unreachable_is_retried_rejected_is_not() {
        let resilience = Resilience::new(
            "b",
            RetryPolicy::default(),
            CircuitBreaker::new(10, Duration::from_secs(1)),
        );
        let mut calls = 0;
        let result = resilience
            .unary(|| {
                calls += 1;
                let outcome = if calls < 3 {
                    Err(failure(RemoteFailure::Unreachable))
                } else {
                    Ok(calls)
                };
                async move { outcome }
            })
            .await;
        assert_eq!(result.unwrap(), 3, "two retries, then success");

        let mut calls = 0;
        let result: Result<(), _> = resilience
            .unary(|| {
                calls += 1;
                async { Err(failure(RemoteFailure::Rejected)) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 1, "a rejected request is the caller's to fix");
        assert_eq!(
            resilience.breaker.state(),
            BreakerState::Closed,
            "nor is it the remote's fault"
        );
    }

    #[tokio::test]
    async fn an_open_circuit_answers_without_calling() {
        let resilience = Resilience::new(
            "TGIS at x",
            RetryPolicy {
                retries: 0,
                ..Default::default()
            },
            CircuitBreaker::new(1, Duration::from_secs(5)),
        );
        let _ = resilience
            .once(async { Err::<(), _>(failure(RemoteFailure::TimedOut)) })
            .await;
        let mut called = false;
        let error = resilience
            .once(async {
                called = true;
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(!called);
        assert!(error.to_string().contains("circuit open"), "{error}");
    }

    #[tokio::test]
    async fn calls_count_as_in_flight_until_they_end() {
        let resilience = Resilience::new(
            "b",
            RetryPolicy::default(),
            CircuitBreaker::new(3, Duration::from_secs(1)),
        );
        let during = resilience
            .once(async { Ok::<_, RuntimeError>(resilience.calls_in_flight()) })
            .await
            .unwrap();
        assert_eq!(during, 1);
        assert_eq!(resilience.calls_in_flight(), 0);
        let stream = resilience.in_flight();
        let another = resilience.in_flight();
        assert_eq!(resilience.calls_in_flight(), 2);
        drop(stream);
        drop(another);
        assert_eq!(resilience.calls_in_flight(), 0);
    }

    #[test]
    fn clients_of_one_server_share_its_count() {
        let first = endpoint_counter("http://127.0.0.1:1");
        let second = endpoint_counter("http://127.0.0.1:1");
        let other = endpoint_counter("http://127.0.0.1:2");
        first.fetch_add(1, Ordering::Relaxed);
        assert_eq!(second.load(Ordering::Relaxed), 1);
        assert_eq!(other.load(Ordering::Relaxed), 0);
    }
}
