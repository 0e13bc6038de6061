//! The gRPC side of every remote protocol (TGIS, KServe v2): a channel opened on first use,
//! calls bounded by the request timeout, and gRPC statuses classified once.

use std::future::Future;
use std::time::Duration;

use tokio::sync::OnceCell;
use tonic::transport::{Channel, Endpoint};

use super::{RemoteEndpoint, remote_error};
use crate::error::{RemoteFailure, RuntimeError};

pub(crate) struct GrpcTarget {
    /// Parsed once, at start-up.
    target: Endpoint,
    /// Opened on first use, inside the async runtime; reconnects by itself after the remote
    /// restarts.
    channel: OnceCell<Channel>,
    request_timeout: Duration,
    name: String,
}

impl GrpcTarget {
    /// `protocol` names the remote in errors ("TGIS at http://…").
    pub(crate) fn new(protocol: &str, endpoint: &RemoteEndpoint) -> Result<Self, RuntimeError> {
        // Parsed now so a bad URL or certificate fails at start-up, not on the first call.
        let target = endpoint.grpc(protocol)?;
        Ok(Self {
            target,
            channel: OnceCell::new(),
            request_timeout: endpoint.request_timeout,
            name: format!("{protocol} at {}", endpoint.url),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) async fn channel(&self) -> Channel {
        self.channel
            .get_or_init(|| async { self.target.clone().connect_lazy() })
            .await
            .clone()
    }

    pub(crate) fn error(&self, failure: RemoteFailure, message: impl Into<String>) -> RuntimeError {
        remote_error(&self.name, failure, message)
    }

    pub(crate) fn timed_out(&self, what: &str, after: Duration) -> RuntimeError {
        self.error(
            RemoteFailure::TimedOut,
            format!("no {what} within {} ms", after.as_millis()),
        )
    }

    /// A call within the request timeout (for a stream: until it starts).
    pub(crate) async fn unary<R>(
        &self,
        call: impl Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    ) -> Result<R, RuntimeError> {
        let timeout = self.request_timeout;
        let response = tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| self.timed_out("answer", timeout))?
            .map_err(|s| status_error(&self.name, s))?;
        Ok(response.into_inner())
    }
}

/// A gRPC status from the remote (or from the connection to it), classified as its HTTP
/// counterpart would be: a request the remote cannot serve (bad argument, unknown model) is
/// the caller's to fix.
pub(crate) fn status_error(backend: &str, status: tonic::Status) -> RuntimeError {
    use tonic::Code;
    let failure = match status.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange | Code::NotFound => {
            RemoteFailure::Rejected
        }
        Code::ResourceExhausted => RemoteFailure::Busy,
        Code::Unavailable => RemoteFailure::Unreachable,
        Code::DeadlineExceeded => RemoteFailure::TimedOut,
        _ => RemoteFailure::Failed,
    };
    let mut message = status.message().to_string();
    if let Some(source) = std::error::Error::source(&status) {
        message = format!("{message} ({source})");
    }
    remote_error(backend, failure, message)
}
