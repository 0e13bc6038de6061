//! A client of IBM TGIS (`fmaas.GenerationService` over gRPC): one model per server, the
//! parameters and results of Caikit's text generation almost field for field.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::OnceCell;
use tonic::transport::{Channel, Endpoint};

use super::fmaas;
use super::fmaas::generation_service_client::GenerationServiceClient;
use super::resilience::{CircuitBreaker, Resilience};
use super::{Forwarded, RemoteClient, RemoteEndpoint, remote_error, with_idle_timeout};
use crate::error::{RemoteFailure, RuntimeError};

pub struct TgisClient {
    endpoint: RemoteEndpoint,
    /// Parsed once, at start-up.
    target: Endpoint,
    resilience: Resilience,
    /// Connected on first use, inside the async runtime; reconnects by itself after the remote
    /// restarts.
    client: OnceCell<GenerationServiceClient<Channel>>,
    name: String,
}

pub type ResponseStream = BoxStream<'static, Result<fmaas::GenerationResponse, RuntimeError>>;

impl TgisClient {
    pub fn new(endpoint: RemoteEndpoint) -> Result<Self, RuntimeError> {
        // Parsed now so a bad URL fails at start-up, not on the first call.
        let target = endpoint.grpc("TGIS")?;
        let name = format!("TGIS at {}", endpoint.url);
        let breaker = CircuitBreaker::new(endpoint.circuit_failures, endpoint.circuit_cooldown);
        Ok(Self {
            resilience: Resilience::new(name.clone(), endpoint.retry, breaker),
            name,
            endpoint,
            target,
            client: OnceCell::new(),
        })
    }

    async fn client(&self) -> Result<GenerationServiceClient<Channel>, RuntimeError> {
        let client = self
            .client
            .get_or_init(|| async {
                GenerationServiceClient::new(self.target.clone().connect_lazy())
            })
            .await;
        Ok(client.clone())
    }

    fn error(&self, failure: RemoteFailure, message: impl Into<String>) -> RuntimeError {
        remote_error(&self.name, failure, message)
    }

    fn status_error(&self, status: tonic::Status) -> RuntimeError {
        status_error(&self.name, status)
    }

    fn timed_out(&self, what: &str, after: Duration) -> RuntimeError {
        self.error(
            RemoteFailure::TimedOut,
            format!("no {what} within {} ms", after.as_millis()),
        )
    }

    /// One generation (`Generate` with a single request).
    pub async fn generate(
        &self,
        request: fmaas::BatchedGenerationRequest,
        forwarded: &Forwarded,
    ) -> Result<fmaas::GenerationResponse, RuntimeError> {
        self.resilience
            .unary(|| {
                let request = request.clone();
                async move {
                    let mut client = self.client().await?;
                    let call = client.generate(forwarded.grpc_request(request));
                    let response = self.unary(call).await?;
                    self.only(response.responses, "Generate")
                }
            })
            .await
    }

    /// A streamed generation. Each message must arrive within the idle timeout; dropping the
    /// stream cancels the call on the remote.
    pub async fn generate_stream(
        &self,
        request: fmaas::SingleGenerationRequest,
        forwarded: &Forwarded,
    ) -> Result<ResponseStream, RuntimeError> {
        // Starting the stream may be retried: no token has reached the caller yet.
        let stream = self
            .resilience
            .unary(|| {
                let request = request.clone();
                async move {
                    let mut client = self.client().await?;
                    let call = client.generate_stream(forwarded.grpc_request(request));
                    self.unary(call).await
                }
            })
            .await?;
        let idle = self.endpoint.stream_idle_timeout;
        let (name, idle_error) = (self.name.clone(), self.timed_out("message", idle));
        let mapped = stream.map(move |item| item.map_err(|status| status_error(&name, status)));
        Ok(with_idle_timeout(mapped, idle, idle_error).boxed())
    }

    /// Tokenizes one text, with token strings and offsets.
    pub async fn tokenize(
        &self,
        request: fmaas::BatchedTokenizeRequest,
        forwarded: &Forwarded,
    ) -> Result<fmaas::TokenizeResponse, RuntimeError> {
        self.resilience
            .unary(|| {
                let request = request.clone();
                async move {
                    let mut client = self.client().await?;
                    let call = client.tokenize(forwarded.grpc_request(request));
                    let response = self.unary(call).await?;
                    self.only(response.responses, "Tokenize")
                }
            })
            .await
    }

    /// A call within the request timeout (for a stream: until it starts).
    async fn unary<R>(
        &self,
        call: impl Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    ) -> Result<R, RuntimeError> {
        let timeout = self.endpoint.request_timeout;
        let response = tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| self.timed_out("answer", timeout))?
            .map_err(|s| self.status_error(s))?;
        Ok(response.into_inner())
    }

    /// The one answer to the one request sent.
    fn only<T>(&self, answers: Vec<T>, rpc: &str) -> Result<T, RuntimeError> {
        answers
            .into_iter()
            .next()
            .ok_or_else(|| self.error(RemoteFailure::Failed, format!("{rpc} answered no response")))
    }
}

/// A gRPC status from the remote (or from the connection to it), classified.
fn status_error(backend: &str, status: tonic::Status) -> RuntimeError {
    use tonic::Code;
    let failure = match status.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
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

impl RemoteClient for TgisClient {
    fn name(&self) -> &str {
        &self.name
    }

    fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// `ModelInfo`: answered by every TGIS without running the model.
    fn probe(&self) -> futures::future::BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let request = fmaas::ModelInfoRequest {
                model_id: String::new(),
            };
            let call = client.model_info(Forwarded::default().grpc_request(request));
            self.unary(call).await.map(drop)
        })
    }
}
