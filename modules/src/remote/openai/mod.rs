//! The `openai` module: models on an OpenAI-compatible server (vLLM, llama.cpp,
//! llama-cpp-python, TGI). Text generation through `/v1/completions` or
//! `/v1/chat/completions` (streamed as server-sent events), or the embedding tasks through
//! `/v1/embeddings`. Dropping a call closes its upstream request.

mod embeddings;
mod generation;
mod request;
mod settings;

use std::sync::Arc;

use futures::StreamExt;
use taskgate_runtime::remote::RemoteClient;
use taskgate_runtime::remote::openai::{GenerationApi, OpenAiClient};
use taskgate_schemas::ProducerId;

use crate::families::embeddings::serve_embedding_family;
use crate::families::generation::{
    Generation, Generator, remote_ended_early, serve_generation_family,
};
use crate::framework::tasks::TextGeneration;
use crate::remote::settings::Routed;
use crate::{Model, ModelSpec, ModuleError, TaskError, TaskFuture, TaskInput};
use embeddings::OpenAiEmbedder;
use generation::{Shape, events};
use request::{Dialect, body};
pub use settings::{OpenAiApi, OpenAiDialect, OpenAiOptions, OpenAiSettings};

pub const MODULE_NAME: &str = "openai";

pub struct OpenAiFactory;

fn producer() -> ProducerId {
    ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
}

#[derive(Clone)]
struct OpenAiGenerator {
    clients: Routed<OpenAiClient>,
    api: GenerationApi,
    dialect: Dialect,
    model_name: String,
}

impl OpenAiFactory {
    pub fn build(spec: &ModelSpec, settings: &OpenAiSettings) -> Result<Model, ModuleError> {
        let target = settings.common.target(spec, "http://host:8000")?;
        let configured_api = settings.own.api.unwrap_or(OpenAiApi::Completions);
        let api = match configured_api {
            OpenAiApi::Completions => Some(GenerationApi::Completions),
            OpenAiApi::Chat => Some(GenerationApi::Chat),
            OpenAiApi::Embeddings => None,
        };
        let dialect = Dialect::from(settings.own.dialect);
        let clients = target.connect(spec, OpenAiClient::new)?;
        let builder = Model::builder(&spec.id, MODULE_NAME, "openai")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", target.endpoint.url.clone().into())
            .metadata("model_name", target.model_name.clone().into())
            .metadata("api", configured_api.name().into())
            .metadata("dialect", dialect.name().into())
            .live_metadata(clients.circuit_metadata())
            .health_check(clients.probe());
        let Some(api) = api else {
            let embedder = OpenAiEmbedder::new(clients, target.model_name, producer());
            return Ok(serve_embedding_family(builder, Arc::new(embedder)).build());
        };
        let generator = Arc::new(OpenAiGenerator {
            clients,
            api,
            dialect,
            model_name: target.model_name,
        });
        Ok(serve_generation_family(builder, generator).build())
    }
}

impl OpenAiGenerator {
    /// The request body for a call: parameters, then the prompt in the API's form.
    fn body(
        &self,
        input: &str,
        p: &taskgate_schemas::TextGenerationParameters,
    ) -> Result<serde_json::Map<String, serde_json::Value>, TaskError> {
        let mut body = body(&self.model_name, p, self.dialect)?;
        match self.api {
            GenerationApi::Completions => {
                body.insert("prompt".into(), input.into());
            }
            GenerationApi::Chat => {
                body.insert(
                    "messages".into(),
                    serde_json::json!([{"role": "user", "content": input}]),
                );
            }
        }
        Ok(body)
    }

    /// The call as stream events: streamed from the server, or one whole completion when
    /// nothing needs the stream.
    async fn run(
        self,
        input: TaskInput<TextGeneration>,
        stream: bool,
    ) -> Result<Generation, TaskError> {
        let client = self.clients.pick(&input)?;
        let forwarded = input.forwarded();
        let body = self.body(&input.inputs, &input.parameters)?;
        let shape = Shape::new(&input.parameters, &input.inputs, producer());
        let ended_early = remote_ended_early(client.name());
        if !stream && !shape.needs_stream() {
            let completion = client.complete(self.api, body, &forwarded).await?;
            let events = shape.whole(completion).into_iter().map(Ok);
            return Ok(Generation {
                events: futures::stream::iter(events).boxed(),
                ended_early,
            });
        }
        let chunks = client.complete_stream(self.api, body, &forwarded).await?;
        Ok(Generation {
            events: events(shape, chunks, ended_early.clone()),
            ended_early,
        })
    }
}

/// Streams from the server; a unary call asks for one whole completion unless stop sequences
/// or a time limit need the stream (taskgate applies those itself).
impl Generator for OpenAiGenerator {
    fn start(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        Box::pin(self.clone().run(input, true))
    }

    fn start_whole(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        Box::pin(self.clone().run(input, false))
    }
}
