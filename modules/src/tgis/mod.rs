//! The `tgis` module: text generation and tokenization on a remote IBM TGIS server
//! (`fmaas.GenerationService`), with every Caikit parameter passed through and results in the
//! same shapes as in-process generation. Dropping a call (client gone, deadline) cancels it on
//! the remote.

mod mapping;

use std::sync::Arc;

use futures::StreamExt;
use taskgate_runtime::remote::tgis::TgisClient;
use taskgate_runtime::remote::{RemoteClient, fmaas};
use taskgate_runtime::{RemoteFailure, RuntimeError};
use taskgate_schemas::{
    GeneratedTextResult, GeneratedTextStreamResult, ProducerId, Token, TokenizationResults,
};

use crate::generation_stream::until_finished;
use crate::model::LiveMetadata;
use crate::remote_settings::{RemoteSettings, Routed};
use crate::tasks::{ServerStreamingTextGeneration, TextGeneration, Tokenization};
use crate::{
    Model, ModelSpec, ModuleError, Predict, PredictStream, TaskFuture, TaskInput, TaskStream,
};
use mapping::{Details, StreamShaper, parameters};

pub const MODULE_NAME: &str = "tgis";

pub struct TgisFactory;

#[derive(Clone)]
struct TgisGenerator {
    clients: Routed<TgisClient>,
    circuit: LiveMetadata,
    /// The name TGIS knows the model by (`model_id` in its requests).
    model_name: String,
}

fn producer() -> ProducerId {
    ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
}

impl TgisFactory {
    pub fn build(spec: &ModelSpec, settings: &RemoteSettings) -> Result<Model, ModuleError> {
        let settings = settings.target(spec, "http://host:8033")?;
        let clients = settings.connect(spec, TgisClient::new)?;
        let service = Arc::new(TgisGenerator {
            circuit: clients.circuit_metadata(),
            clients,
            model_name: settings.model_name.clone(),
        });
        Ok(Model::builder(&spec.id, MODULE_NAME, "tgis")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", settings.endpoint.url.clone().into())
            .metadata("model_name", settings.model_name.into())
            .live_metadata(service.circuit.clone())
            .health_check(service.clients.probe())
            .serve::<TextGeneration>(service.clone())
            .serve_stream::<ServerStreamingTextGeneration>(service.clone())
            .serve::<Tokenization>(service)
            .build())
    }
}

impl TgisGenerator {
    fn request(&self, text: String) -> fmaas::GenerationRequest {
        fmaas::GenerationRequest { text }
    }
}

impl Predict<TextGeneration> for TgisGenerator {
    fn predict(&self, input: TaskInput<TextGeneration>) -> TaskFuture<GeneratedTextResult> {
        let this = self.clone();
        Box::pin(async move {
            let details = Details::from_parameters(&input.parameters);
            let forwarded = input.forwarded();
            let client = this.clients.pick(&input)?;
            let request = fmaas::BatchedGenerationRequest {
                model_id: this.model_name.clone(),
                requests: vec![this.request(input.inputs)],
                params: Some(parameters(&input.parameters)),
                ..Default::default()
            };
            let response = client.generate(request, &forwarded).await?;
            Ok(details.result(response, producer()))
        })
    }
}

impl PredictStream<ServerStreamingTextGeneration> for TgisGenerator {
    fn predict_stream(
        &self,
        input: TaskInput<ServerStreamingTextGeneration>,
    ) -> TaskFuture<TaskStream<GeneratedTextStreamResult>> {
        let this = self.clone();
        Box::pin(async move {
            let details = Details::from_parameters(&input.parameters);
            let forwarded = input.forwarded();
            let client = this.clients.pick(&input)?;
            let request = fmaas::SingleGenerationRequest {
                model_id: this.model_name.clone(),
                request: Some(this.request(input.inputs)),
                params: Some(parameters(&input.parameters)),
                ..Default::default()
            };
            let responses = client.generate_stream(request, &forwarded).await?;
            let mut shaper = StreamShaper::new(details, producer());
            let ended_early = RuntimeError::Remote {
                backend: client.name().to_string(),
                failure: RemoteFailure::Failed,
                message: "the stream ended before its finish reason".into(),
            };
            let shaped = responses.map(move |item| {
                item.map(|response| shaper.event(response))
                    .map_err(Into::into)
            });
            Ok(until_finished(shaped, ended_early.into()))
        })
    }
}

impl Predict<Tokenization> for TgisGenerator {
    fn predict(&self, input: TaskInput<Tokenization>) -> TaskFuture<TokenizationResults> {
        let this = self.clone();
        Box::pin(async move {
            let forwarded = input.forwarded();
            let client = this.clients.pick(&input)?;
            let text = input.inputs;
            let request = fmaas::BatchedTokenizeRequest {
                model_id: this.model_name.clone(),
                requests: vec![fmaas::TokenizeRequest { text: text.clone() }],
                return_tokens: true,
                return_offsets: true,
                ..Default::default()
            };
            let response = client.tokenize(request, &forwarded).await?;
            let chars = text.chars().count() as u32;
            let mut results = Vec::with_capacity(response.offsets.len());
            for (token, offset) in response.tokens.into_iter().zip(response.offsets) {
                if offset.start > offset.end || offset.end > chars {
                    return Err(RuntimeError::Remote {
                        backend: client.name().to_string(),
                        failure: RemoteFailure::Failed,
                        message: format!(
                            "token '{token}' has offsets {}..{} outside the {chars}-character text",
                            offset.start, offset.end
                        ),
                    }
                    .into());
                }
                results.push(Token {
                    start: u64::from(offset.start),
                    end: u64::from(offset.end),
                    text: token,
                });
            }
            Ok(TokenizationResults {
                results,
                token_count: u64::from(response.token_count),
            })
        })
    }
}
