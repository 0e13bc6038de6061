//! The `openai` module: models on an OpenAI-compatible server (vLLM, llama.cpp,
//! llama-cpp-python, TGI). Text generation through `/v1/completions` or
//! `/v1/chat/completions` (streamed as server-sent events), or the embedding tasks through
//! `/v1/embeddings`. Dropping a call closes its upstream request.

mod embeddings;
mod generation;
mod request;

use std::sync::Arc;

use futures::StreamExt;
use taskgate_runtime::remote::RemoteClient;
use taskgate_runtime::remote::openai::{GenerationApi, OpenAiClient};
use taskgate_schemas::ProducerId;

use crate::embedding_tasks::serve_embedding_family;
use crate::generation_family::{
    Generation, Generator, remote_ended_early, serve_generation_family,
};
use crate::module_config::ModuleConfig;
use crate::remote_settings::{RemoteSettings, Routed, keys_with};
use crate::tasks::TextGeneration;
use crate::{Model, ModelSpec, ModuleError, ModuleFactory, TaskError, TaskFuture, TaskInput};
use embeddings::OpenAiEmbedder;
use generation::{Shape, events};
use request::{Dialect, body};

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

impl ModuleFactory for OpenAiFactory {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn build(&self, spec: &ModelSpec) -> Result<Model, ModuleError> {
        let config = ModuleConfig::parse(spec, &keys_with(&["api", "dialect"]))?;
        let settings = RemoteSettings::parse(&config, spec, "http://host:8000")?;
        let api = match config.get("api").map(|v| v.as_str()) {
            None | Some(Some("completions")) => Some(GenerationApi::Completions),
            Some(Some("chat")) => Some(GenerationApi::Chat),
            Some(Some("embeddings")) => None,
            Some(_) => return Err(config.error("api", "expected completions, chat or embeddings")),
        };
        let dialect = Dialect::parse(match config.get("dialect") {
            None => None,
            Some(v) => Some(v.as_str().unwrap_or("")),
        })
        .ok_or_else(|| config.error("dialect", "expected llama-cpp or vllm"))?;
        let clients = settings.connect(spec, OpenAiClient::new)?;
        let builder = Model::builder(&spec.id, MODULE_NAME, "openai")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", settings.endpoint.url.clone().into())
            .metadata("model_name", settings.model_name.clone().into())
            .metadata(
                "api",
                match api {
                    Some(GenerationApi::Completions) => "completions",
                    Some(GenerationApi::Chat) => "chat",
                    None => "embeddings",
                }
                .into(),
            )
            .metadata("dialect", dialect.name().into())
            .live_metadata(clients.circuit_metadata())
            .health_check(clients.probe());
        let Some(api) = api else {
            let embedder = OpenAiEmbedder::new(clients, settings.model_name, producer());
            return Ok(serve_embedding_family(builder, Arc::new(embedder)).build());
        };
        let generator = Arc::new(OpenAiGenerator {
            clients,
            api,
            dialect,
            model_name: settings.model_name,
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
