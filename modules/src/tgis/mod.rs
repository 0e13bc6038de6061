//! The `tgis` module: text generation and tokenization on a remote IBM TGIS server
//! (`fmaas.GenerationService`), with every Caikit parameter passed through and results in the
//! same shapes as in-process generation. Dropping a call (client gone, deadline) cancels it on
//! the remote.

mod mapping;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use taskgate_runtime::remote::resilience::RetryPolicy;
use taskgate_runtime::remote::tgis::TgisClient;
use taskgate_runtime::remote::{RemoteEndpoint, fmaas};
use taskgate_runtime::{RemoteFailure, RuntimeError};
use taskgate_schemas::{
    GeneratedTextResult, GeneratedTextStreamResult, ProducerId, Token, TokenizationResults,
};

use crate::generation_stream::until_finished;
use crate::module_config::ModuleConfig;
use crate::tasks::{ServerStreamingTextGeneration, TextGeneration, Tokenization};
use crate::{
    Model, ModelSpec, ModuleError, ModuleFactory, Predict, PredictStream, Task, TaskError,
    TaskFuture, TaskInput, TaskStream,
};
use mapping::{Details, StreamShaper, parameters};

pub const MODULE_NAME: &str = "tgis";

const CONFIG_KEYS: [&str; 9] = [
    "endpoint",
    "model_name",
    "connect_timeout_ms",
    "request_timeout_ms",
    "stream_idle_timeout_ms",
    "retries",
    "circuit_failures",
    "circuit_cooldown_ms",
    "route_overrides",
];

pub struct TgisFactory;

#[derive(Clone)]
struct TgisGenerator {
    client: Arc<TgisClient>,
    /// Endpoints a call may pick with `x-route-info`, each with its own connection and circuit.
    /// Only these: the header never makes taskgate call an address it was not configured with.
    routes: Arc<BTreeMap<String, Arc<TgisClient>>>,
    model_id: String,
    /// The name TGIS knows the model by (`model_id` in its requests).
    model_name: String,
}

fn producer() -> ProducerId {
    ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
}

fn millis(config: &ModuleConfig, key: &str, default: usize) -> Result<Duration, ModuleError> {
    Ok(Duration::from_millis(config.positive(key, default)? as u64))
}

impl ModuleFactory for TgisFactory {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn build(&self, spec: &ModelSpec) -> Result<Model, ModuleError> {
        let config = ModuleConfig::parse(spec, &CONFIG_KEYS)?;
        let url = match config.get("endpoint") {
            Some(serde_json::Value::String(url))
                if url.starts_with("http://") || url.starts_with("https://") =>
            {
                url.clone()
            }
            _ => {
                return Err(
                    config.error("endpoint", "required: the TGIS URL, e.g. http://host:8033")
                );
            }
        };
        let model_name = match config.get("model_name") {
            None => spec.id.clone(),
            Some(serde_json::Value::String(name)) if !name.is_empty() => name.clone(),
            Some(_) => return Err(config.error("model_name", "expected a non-empty string")),
        };
        let routes = match config.get("route_overrides") {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| match item.as_str() {
                    Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                        Ok(u.trim_end_matches('/').to_string())
                    }
                    _ => Err(config.error("route_overrides", "expected http(s) URLs")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(config.error("route_overrides", "expected a list of URLs")),
        };
        let endpoint = RemoteEndpoint {
            url: url.clone(),
            connect_timeout: millis(&config, "connect_timeout_ms", 5_000)?,
            request_timeout: millis(&config, "request_timeout_ms", 60_000)?,
            stream_idle_timeout: millis(&config, "stream_idle_timeout_ms", 30_000)?,
            retry: RetryPolicy {
                retries: match config.non_negative("retries", 2)? {
                    n @ 0..=10 => n as u32,
                    _ => return Err(config.error("retries", "at most 10")),
                },
                ..RetryPolicy::default()
            },
            circuit_failures: config.positive("circuit_failures", 5)? as u32,
            circuit_cooldown: millis(&config, "circuit_cooldown_ms", 10_000)?,
        };
        let connect = |endpoint: RemoteEndpoint| {
            TgisClient::new(endpoint)
                .map(Arc::new)
                .map_err(|e| spec.runtime_error(e))
        };
        let mut overrides = BTreeMap::new();
        for route in routes {
            let client = connect(RemoteEndpoint {
                url: route.clone(),
                ..endpoint.clone()
            })?;
            overrides.insert(route, client);
        }
        let client = connect(endpoint)?;
        let health = client.clone();
        let service = Arc::new(TgisGenerator {
            client,
            routes: Arc::new(overrides),
            model_id: spec.id.clone(),
            model_name: model_name.clone(),
        });
        Ok(Model::builder(&spec.id, MODULE_NAME, "tgis")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", url.into())
            .metadata("model_name", model_name.into())
            .live_metadata(Arc::new(move |metadata| {
                let breaker = &health.resilience().breaker;
                metadata.insert("circuit".into(), breaker.state().name().into());
                metadata.insert(
                    "consecutive_failures".into(),
                    breaker.consecutive_failures().into(),
                );
            }))
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

    /// The configured endpoint, or the listed one the call asked for.
    fn client<T: Task>(&self, input: &TaskInput<T>) -> Result<Arc<TgisClient>, TaskError> {
        let Some(route) = &input.route_info else {
            return Ok(self.client.clone());
        };
        self.routes
            .get(route.trim_end_matches('/'))
            .cloned()
            .ok_or_else(|| {
                TaskError::invalid_field(
                    "x-route-info",
                    format!(
                        "'{route}' is not an endpoint model '{}' may be routed to",
                        self.model_id
                    ),
                )
            })
    }
}

impl Predict<TextGeneration> for TgisGenerator {
    fn predict(&self, input: TaskInput<TextGeneration>) -> TaskFuture<GeneratedTextResult> {
        let this = self.clone();
        Box::pin(async move {
            let details = Details::from_parameters(&input.parameters);
            let forwarded = input.forwarded();
            let client = this.client(&input)?;
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
            let client = this.client(&input)?;
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
            let client = this.client(&input)?;
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
