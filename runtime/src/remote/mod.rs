//! Clients of remote model runtimes. Each speaks one protocol and reports failures as
//! [`RuntimeError::Remote`](crate::RuntimeError::Remote), so the gateway maps them one way.

pub(crate) mod grpc;
pub mod http;
pub mod kserve;
pub mod openai;
pub mod resilience;
pub mod sse;
pub mod tei;
pub mod tgis;
pub mod tls;

/// The generated TGIS (`fmaas`) messages, client and server.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod fmaas {
    tonic::include_proto!("fmaas");
}

/// The generated KServe v2 (Open Inference Protocol) messages, client and server.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod inference {
    tonic::include_proto!("inference");
}

use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::error::{RemoteFailure, RuntimeError};
use crate::trace::TraceHeaders;

/// What every remote call carries from the caller's request, so a remote's logs and traces
/// join the gateway's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// Sent as `x-request-id`.
    pub request_id: String,
    /// The caller's trace context; see [`TraceHeaders::outgoing`] for what is sent.
    pub trace: TraceHeaders,
}

impl Forwarded {
    /// `message` as a gRPC request carrying these headers as metadata.
    pub fn grpc_request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        if let Ok(value) = self.request_id.parse() {
            metadata.insert("x-request-id", value);
        }
        let trace = TraceHeaders::outgoing(&self.trace);
        for (name, value) in [
            ("traceparent", trace.traceparent),
            ("tracestate", trace.tracestate),
        ] {
            if let Some(Ok(value)) = value.map(|v| v.parse()) {
                metadata.insert(name, value);
            }
        }
        request
    }
}

/// What every protocol's client offers besides its calls.
pub trait RemoteClient {
    /// How errors name this backend ("TGIS at http://…").
    fn name(&self) -> &str;
    /// Its retries and circuit breaker.
    fn resilience(&self) -> &resilience::Resilience;
    /// One cheap call that shows the remote is up and serving (no retries, no circuit).
    fn probe(&self) -> futures::future::BoxFuture<'_, Result<(), RuntimeError>>;
}

/// Where a remote runtime is and how long taskgate waits for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteEndpoint {
    /// `http://host:port`.
    pub url: String,
    pub connect_timeout: Duration,
    /// Limit for a unary call, and for a stream to start.
    pub request_timeout: Duration,
    /// Limit on the silence between two messages of a stream.
    pub stream_idle_timeout: Duration,
    pub retry: resilience::RetryPolicy,
    /// Unhealthy outcomes in a row that open the circuit.
    pub circuit_failures: u32,
    /// How long an open circuit fails calls fast before letting a probe through.
    pub circuit_cooldown: Duration,
    pub tls: tls::TlsFiles,
}

impl RemoteEndpoint {
    /// A gRPC endpoint for this remote (TLS when the URL is https or TLS files are given),
    /// checked now so a bad URL or certificate fails at start-up.
    pub fn grpc(&self, protocol: &str) -> Result<tonic::transport::Endpoint, RuntimeError> {
        let invalid = |e: tonic::transport::Error| {
            RuntimeError::Unavailable(format!("invalid {protocol} endpoint '{}': {e}", self.url))
        };
        let mut endpoint = tonic::transport::Endpoint::from_shared(self.url.clone())
            .map_err(invalid)?
            .connect_timeout(self.connect_timeout);
        if self.url.starts_with("https://") || !self.tls.is_empty() {
            endpoint = endpoint.tls_config(self.tls.grpc()).map_err(invalid)?;
        }
        Ok(endpoint)
    }
}

pub(crate) fn remote_error(
    backend: &str,
    failure: RemoteFailure,
    message: impl Into<String>,
) -> RuntimeError {
    RuntimeError::Remote {
        backend: backend.to_string(),
        failure,
        message: message.into(),
    }
}

/// Ends the stream with `error` when no item arrives within `idle`. `running` stays held until
/// the stream ends or is dropped, so health checks see the call as in flight.
pub(crate) fn with_idle_timeout<S, T>(
    stream: S,
    idle: Duration,
    error: RuntimeError,
    running: resilience::InFlight,
) -> impl Stream<Item = Result<T, RuntimeError>>
where
    S: Stream<Item = Result<T, RuntimeError>> + Unpin,
{
    futures::stream::unfold(Some((stream, running)), move |state| {
        let error = error.clone();
        async move {
            let (mut stream, running) = state?;
            match tokio::time::timeout(idle, stream.next()).await {
                Ok(next) => next.map(|item| (item, Some((stream, running)))),
                Err(_) => Some((Err(error), None)),
            }
        }
    })
}
