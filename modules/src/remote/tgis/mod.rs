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
use taskgate_schemas::{ProducerId, Token, TokenizationResults};

use crate::families::generation::{
    Generation, Generator, remote_ended_early, serve_generation_family,
};
use crate::framework::model::LiveMetadata;
use crate::framework::tasks::{TextGeneration, Tokenization};
use crate::remote::settings::{RemoteSettings, Routed};
use crate::{Model, ModelSpec, ModuleError, Predict, TaskError, TaskFuture, TaskInput};
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
        let model = Model::builder(&spec.id, MODULE_NAME, "tgis")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", settings.endpoint.url.clone().into())
            .metadata("model_name", settings.model_name.into())
            .live_metadata(service.circuit.clone())
            .health_check(service.clients.probe());
        Ok(serve_generation_family(model, service.clone())
            .serve::<Tokenization>(service)
            .build())
    }
}

impl TgisGenerator {
    /// Streamed through `GenerateStream`, or (`whole`) one `Generate` call, which the remote's
    /// request timeout bounds as a whole, as it bounds any unary call.
    async fn run(
        self,
        input: TaskInput<TextGeneration>,
        whole: bool,
    ) -> Result<Generation, TaskError> {
        let details = Details::from_parameters(&input.parameters);
        let forwarded = input.forwarded();
        let client = self.clients.pick(&input)?;
        let ended_early = remote_ended_early(client.name());
        let (model_id, params) = (self.model_name, Some(parameters(&input.parameters)));
        let text = fmaas::GenerationRequest { text: input.inputs };
        if whole {
            let request = fmaas::BatchedGenerationRequest {
                model_id,
                requests: vec![text],
                params,
                ..Default::default()
            };
            let response = client.generate(request, &forwarded).await?;
            let event = details.whole(response, producer());
            return Ok(Generation {
                events: futures::stream::iter([Ok(event)]).boxed(),
                ended_early,
            });
        }
        let request = fmaas::SingleGenerationRequest {
            model_id,
            request: Some(text),
            params,
            ..Default::default()
        };
        let responses = client.generate_stream(request, &forwarded).await?;
        let mut shaper = StreamShaper::new(details, producer());
        let events = responses.map(move |item| {
            item.map(|response| shaper.event(response))
                .map_err(Into::into)
        });
        Ok(Generation {
            events: events.boxed(),
            ended_early,
        })
    }
}

impl Generator for TgisGenerator {
    fn start(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        Box::pin(self.clone().run(input, false))
    }

    fn start_whole(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        Box::pin(self.clone().run(input, true))
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
