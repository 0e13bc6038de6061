//! The `text-generation` module: a Llama-architecture GGUF model run in process on taskgate's
//! own engine, serving `text-generation` and `server-streaming-text-generation` with every
//! Caikit/TGIS parameter (a [`Generator`] of the generation family), and `tokenization` with
//! the model's own tokenizer. Prompt-tuned models generate through their base model's engine:
//! the [`TextGenerator`] extension, with a soft prompt set.

pub(crate) mod output;
mod request;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use serde_json::Value;
use taskgate_runtime::generation::{EngineConfig, GenerationEngine, GenerationStream};
use taskgate_runtime::gguf::{GgufTokenizer, read_content};
use taskgate_runtime::llama::LlamaModel;
use taskgate_runtime::tuning::prompt::SoftPrompt;
use taskgate_runtime::{RuntimeError, offload};
use taskgate_schemas::{ProducerId, TokenizationResults};

use crate::families::generation::{Generation, Generator, serve_generation_family};
use crate::families::tokenization::token_spans;
use crate::framework::chat::ChatFormat;
use crate::framework::settings::{SettingsError, positive};
use crate::framework::tasks::{TextGeneration, Tokenization};
use crate::{Model, ModelSpec, ModuleError, Predict, TaskError, TaskFuture, TaskInput};
use output::{DetailOptions, StreamShaper};
pub use request::{DEFAULT_MAX_NEW_TOKENS, generation_request};
pub use settings::TextGenerationSettings;

pub const MODULE_NAME: &str = "text-generation";

pub struct TextGenerationFactory;

/// Generation on one model's engine; a model of this module offers it as an extension.
#[derive(Clone)]
pub struct TextGenerator {
    engine: GenerationEngine,
    tokenizer: Arc<GgufTokenizer>,
    context_length: usize,
    hidden_size: usize,
    /// Transformer blocks and attention heads, for training-memory estimates.
    layers: usize,
    heads: usize,
    /// The weights file, for trainers that need the weights themselves.
    gguf: PathBuf,
    /// Run before every prompt, whose input it verbalizes (prompt-tuned models only).
    soft_prompt: Option<Arc<SoftPrompt>>,
    /// Who the answers say produced them.
    producer: ProducerId,
}

/// `path` may name the `.gguf` file or a directory holding exactly one.
fn gguf_file(path: &Path) -> Result<PathBuf, String> {
    if !path.is_dir() {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    match files.len() {
        1 => Ok(files.remove(0)),
        0 => Err(format!("{} holds no .gguf file", path.display())),
        n => Err(format!(
            "{} holds {n} .gguf files; name one in config.path",
            path.display()
        )),
    }
}

impl TextGenerationFactory {
    pub fn build(
        spec: &ModelSpec,
        settings: &TextGenerationSettings,
    ) -> Result<Model, ModuleError> {
        let count = |key: &str, value: Option<u64>, default: usize| {
            positive(key, value, default)
                .map_err(|e: SettingsError| spec.config_error(&e.key, e.reason))
        };
        let defaults = EngineConfig::default();
        let engine_config = EngineConfig {
            max_sequences: count(
                "max_sequences",
                settings.max_sequences,
                defaults.max_sequences,
            )?,
            queue_capacity: count(
                "queue_capacity",
                settings.queue_capacity,
                spec.max_concurrent_requests,
            )?,
        };
        let path = spec.model_path(settings.path.as_deref())?;
        let file = gguf_file(&path).map_err(|reason| spec.config_error("path", reason))?;
        let content = read_content(&file).map_err(|e| spec.runtime_error(e))?;
        let architecture = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if architecture != "llama" {
            return Err(spec.config_error(
                "path",
                format!(
                    "{}: architecture '{architecture}' is not supported (supported: llama)",
                    file.display()
                ),
            ));
        }
        let tokenizer =
            Arc::new(GgufTokenizer::from_content(&content).map_err(|e| spec.runtime_error(e))?);
        let mut model =
            LlamaModel::from_content(&file, &content).map_err(|e| spec.runtime_error(e))?;
        let file_context = model.config.context_length;
        let context_length = count("context_length", settings.context_length, file_context)?;
        if context_length > file_context {
            return Err(spec.config_error(
                "context_length",
                format!("{context_length} is more than the model's context of {file_context}"),
            ));
        }
        model.limit_context(context_length);
        let hidden_size = model.hidden_size();
        let size =
            std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) + model.lookup_table_bytes();
        let (layers, heads) = (model.config.layers, model.config.heads);
        let engine =
            GenerationEngine::spawn(&spec.id, Arc::new(model), tokenizer.clone(), engine_config)
                .map_err(|e| spec.runtime_error(e))?;
        let eos = tokenizer.id_to_token(tokenizer.eos_id).unwrap_or_default();
        let service = Arc::new(TextGenerator {
            engine: engine.clone(),
            tokenizer,
            context_length,
            hidden_size,
            layers,
            heads,
            gguf: file.clone(),
            soft_prompt: None,
            producer: ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION")),
        });
        let model = Model::builder(&spec.id, MODULE_NAME, "candle")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .path(file)
            .size(size)
            .metadata("architecture", Value::from(architecture))
            .metadata("context_length", Value::from(context_length))
            .metadata("eos_token", Value::from(eos))
            .metadata("max_sequences", Value::from(engine_config.max_sequences))
            .metadata("queue_capacity", Value::from(engine_config.queue_capacity))
            .live_metadata(Arc::new(move |meta| {
                let stats = engine.stats();
                let mut put = |key: &str, value: u64| {
                    meta.insert(key.into(), value.into());
                };
                put(
                    "active_sequences",
                    stats.active.load(Ordering::Relaxed) as u64,
                );
                put(
                    "queued_sequences",
                    stats.queued.load(Ordering::Relaxed) as u64,
                );
                put(
                    "completed_sequences",
                    stats.completed.load(Ordering::Relaxed),
                );
                put(
                    "cancelled_sequences",
                    stats.cancelled.load(Ordering::Relaxed),
                );
                put(
                    "generated_tokens",
                    stats.generated_tokens.load(Ordering::Relaxed),
                );
            }));
        let model = serve_generation_family(model, service.clone())
            .serve::<Tokenization>(service.clone())
            .extension(service.clone());
        let model = match service.tokenizer.chat_template() {
            Some(Ok(template)) => model.extension(Arc::new(ChatFormat::new(template))),
            // The model still generates from prompts; only chat calls need the template.
            Some(Err(error)) => {
                tracing::warn!(model = %spec.id, %error, "the model's chat template does not compile; chat calls need `chat_template` in its config");
                model
            }
            None => model,
        };
        Ok(model.build())
    }
}

impl TextGenerator {
    /// This generator with `prompt` run before every (verbalized) input, its answers produced
    /// by `producer` (a prompt-tuned model's answers are its own, not its base model's); `Err`
    /// says why the prompt does not fit this model.
    pub fn with_soft_prompt(
        &self,
        prompt: Arc<SoftPrompt>,
        producer: ProducerId,
    ) -> Result<Self, String> {
        let (rows, width) = prompt
            .embeddings
            .dims2()
            .map_err(|e| format!("the soft prompt is not a matrix: {e}"))?;
        if width != self.hidden_size {
            return Err(format!(
                "the soft prompt's embeddings are {width} wide, the model's {}",
                self.hidden_size
            ));
        }
        if rows >= self.context_length {
            return Err(format!(
                "the soft prompt's {rows} virtual tokens leave no room in the context of {}",
                self.context_length
            ));
        }
        Ok(Self {
            soft_prompt: Some(prompt),
            producer,
            ..self.clone()
        })
    }

    pub fn gguf(&self) -> &Path {
        &self.gguf
    }

    pub fn tokenizer(&self) -> &Arc<GgufTokenizer> {
        &self.tokenizer
    }

    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    pub fn layers_and_heads(&self) -> (usize, usize) {
        (self.layers, self.heads)
    }

    /// Tokens a sequence may hold, soft prompt included.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Tokenizes (on the CPU pool: prompts can be long) and queues the generation.
    async fn submit(
        &self,
        input: TaskInput<TextGeneration>,
    ) -> Result<(GenerationStream, StreamShaper), TaskError> {
        let TaskInput {
            inputs, parameters, ..
        } = input;
        let (tokenizer, prompt) = (self.tokenizer.clone(), self.soft_prompt.clone());
        let context = self.context_length - prompt.as_ref().map_or(0, |p| p.num_virtual_tokens());
        let (request, inputs, parameters) = offload("tokenize", move || {
            let request = match &prompt {
                Some(prompt) => {
                    generation_request(&prompt.verbalize(&inputs), &parameters, &tokenizer, context)
                        .map(|mut request| {
                            request.prefix = Some(prompt.embeddings.clone());
                            request
                        })
                }
                None => generation_request(&inputs, &parameters, &tokenizer, context),
            };
            (request, inputs, parameters)
        })
        .await?;
        let events = self.engine.submit(request?)?;
        let preface = if parameters.preserve_input_text.unwrap_or(false) {
            inputs
        } else {
            String::new()
        };
        let options = DetailOptions::from_parameters(&parameters);
        let producer = Some(self.producer.clone());
        Ok((events, StreamShaper::new(options, producer, preface)))
    }
}

fn ended_early() -> TaskError {
    RuntimeError::Inference("generation ended without a result".into()).into()
}

impl Generator for TextGenerator {
    fn start(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        let this = self.clone();
        Box::pin(async move {
            let (events, shaper) = this.submit(input).await?;
            let events =
                futures::stream::unfold((events, shaper), |(mut events, mut shaper)| async move {
                    let item = events.recv().await?;
                    let item = item.map(|event| shaper.event(event)).map_err(Into::into);
                    Some((item, (events, shaper)))
                });
            Ok(Generation {
                events: events.boxed(),
                ended_early: ended_early(),
            })
        })
    }
}

impl Predict<Tokenization> for TextGenerator {
    fn predict(&self, input: TaskInput<Tokenization>) -> TaskFuture<TokenizationResults> {
        let tokenizer = self.tokenizer.clone();
        Box::pin(async move {
            let text = input.inputs;
            offload("tokenize", move || {
                let (ids, offsets) = tokenizer
                    .encode_with_offsets(&text)
                    .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))?;
                Ok(TokenizationResults {
                    results: token_spans(&text, &offsets),
                    token_count: ids.len() as u64,
                })
            })
            .await?
        })
    }
}
