//! A client of IBM TGIS (`fmaas.GenerationService` over gRPC): one model per server, the
//! parameters and results of Caikit's text generation almost field for field.

use futures::StreamExt;
use futures::stream::BoxStream;
use tonic::transport::Channel;

use super::fmaas;
use super::fmaas::generation_service_client::GenerationServiceClient;
use super::grpc::{GrpcTarget, status_error};
use super::resilience::Resilience;
use super::{Forwarded, RemoteClient, RemoteEndpoint, with_idle_timeout};
use crate::error::{RemoteFailure, RuntimeError};

pub struct TgisClient {
    endpoint: RemoteEndpoint,
    grpc: GrpcTarget,
    resilience: Resilience,
}

pub type ResponseStream = BoxStream<'static, Result<fmaas::GenerationResponse, RuntimeError>>;

impl TgisClient {
    pub fn new(endpoint: RemoteEndpoint) -> Result<Self, RuntimeError> {
        let grpc = GrpcTarget::new("TGIS", &endpoint)?;
        Ok(Self {
            resilience: Resilience::for_endpoint(grpc.name(), &endpoint),
            grpc,
            endpoint,
        })
    }

    async fn client(&self) -> GenerationServiceClient<Channel> {
        GenerationServiceClient::new(self.grpc.channel().await)
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
                    let mut client = self.client().await;
                    let call = client.generate(forwarded.grpc_request(request));
                    let response = self.grpc.unary(call).await?;
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
                    let mut client = self.client().await;
                    let call = client.generate_stream(forwarded.grpc_request(request));
                    self.grpc.unary(call).await
                }
            })
            .await?;
        let idle = self.endpoint.stream_idle_timeout;
        let (name, idle_error) = (
            self.name().to_string(),
            self.grpc.timed_out("message", idle),
        );
        let mapped = stream.map(move |item| item.map_err(|status| status_error(&name, status)));
        let running = self.resilience.in_flight();
        Ok(with_idle_timeout(mapped, idle, idle_error, running).boxed())
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
                    let mut client = self.client().await;
                    let call = client.tokenize(forwarded.grpc_request(request));
                    let response = self.grpc.unary(call).await?;
                    self.only(response.responses, "Tokenize")
                }
            })
            .await
    }

    /// The one answer to the one request sent.
    fn only<T>(&self, answers: Vec<T>, rpc: &str) -> Result<T, RuntimeError> {
        answers.into_iter().next().ok_or_else(|| {
            self.grpc
                .error(RemoteFailure::Failed, format!("{rpc} answered no response"))
        })
    }
}

impl RemoteClient for TgisClient {
    fn name(&self) -> &str {
        self.grpc.name()
    }

    fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// `ModelInfo`: answered by every TGIS without running the model.
    fn probe(&self) -> futures::future::BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let mut client = self.client().await;
            let request = fmaas::ModelInfoRequest {
                model_id: String::new(),
            };
            let call = client.model_info(Forwarded::default().grpc_request(request));
            self.grpc.unary(call).await.map(drop)
        })
    }
}
