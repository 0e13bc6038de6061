//! Prompt-tuned models: a soft prompt trained here, served through the generation engine of
//! the in-process `text-generation` model it was trained on (no second copy of the weights).
//! The model directory holds `tuned_model.json` and `soft_prompt.safetensors`; the base model
//! is looked up on every call, so it must be served under the same id.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use taskgate_runtime::RuntimeError;
use taskgate_runtime::tuning::prompt::SoftPrompt;
use taskgate_schemas::{ProducerId, TokenizationResults};

use super::{read_manifest, training_id_of};
use crate::families::generation::{Generation, Generator, serve_generation_family};
use crate::framework::tasks::{TextGeneration, Tokenization};
use crate::local::text_generation::TextGenerator;
use crate::{Model, ModelRegistry, ModuleError, Predict, TaskError, TaskFuture, TaskInput};

pub const TRAINER: &str = "prompt_tuning";
pub const MODULE_NAME: &str = "prompt-tuned-generation";
pub const SOFT_PROMPT: &str = "soft_prompt.safetensors";

/// What a prompt-tuned model directory says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub trainer: String,
    pub base_model: String,
    pub num_virtual_tokens: usize,
    pub verbalizer: String,
}

#[derive(Clone)]
struct PromptTunedGenerator {
    registry: ModelRegistry,
    base_model: String,
    prompt: Arc<SoftPrompt>,
}

/// The model `name` from the trained directory `dir`.
pub fn load(registry: &ModelRegistry, name: &str, dir: &Path) -> Result<Model, ModuleError> {
    let invalid = |reason: String| {
        ModuleError::Training(format!("model '{name}' in {}: {reason}", dir.display()))
    };
    let manifest: Manifest = read_manifest(dir).map_err(invalid)?;
    let prompt = SoftPrompt::load(&dir.join(SOFT_PROMPT)).map_err(|e| invalid(e.to_string()))?;
    if prompt.num_virtual_tokens() != manifest.num_virtual_tokens {
        return Err(invalid(format!(
            "the soft prompt has {} virtual tokens, the manifest says {}",
            prompt.num_virtual_tokens(),
            manifest.num_virtual_tokens
        )));
    }
    let size = std::fs::metadata(dir.join(SOFT_PROMPT)).map_or(0, |m| m.len());
    let model = Model::builder(name, MODULE_NAME, "in-process")
        .path(dir.to_path_buf())
        .size(size)
        .metadata("base_model", json!(manifest.base_model))
        .metadata("num_virtual_tokens", json!(manifest.num_virtual_tokens))
        .metadata("verbalizer", json!(prompt.verbalizer))
        .metadata("training_id", training_id_of(dir));
    let generator = Arc::new(PromptTunedGenerator {
        registry: registry.clone(),
        base_model: manifest.base_model,
        prompt: Arc::new(prompt),
    });
    Ok(serve_generation_family(model, generator.clone())
        .serve::<Tokenization>(generator)
        .build())
}

fn unavailable(reason: String) -> TaskError {
    TaskError::Runtime(RuntimeError::Unavailable(reason))
}

impl PromptTunedGenerator {
    /// The base model's generator with this soft prompt, as the base is served now (loaded
    /// first when it is not).
    async fn generator(&self) -> Result<TextGenerator, TaskError> {
        let base = &self.base_model;
        let model = self.registry.acquire(base).await.map_err(|e| match e {
            TaskError::ModelNotFound(_) => {
                unavailable(format!("the base model '{base}' is not served"))
            }
            other => other,
        })?;
        let generator = model.extension::<TextGenerator>().ok_or_else(|| {
            unavailable(format!(
                "the base model '{base}' is not an in-process text-generation model"
            ))
        })?;
        let producer = ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"));
        generator
            .with_soft_prompt(self.prompt.clone(), producer)
            .map_err(|reason| unavailable(format!("base model '{base}': {reason}")))
    }
}

impl Generator for PromptTunedGenerator {
    fn start(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        let this = self.clone();
        Box::pin(async move { this.generator().await?.start(input).await })
    }
}

/// The base model's tokens of the input as given (the verbalizer is the model's business).
impl Predict<Tokenization> for PromptTunedGenerator {
    fn predict(&self, input: TaskInput<Tokenization>) -> TaskFuture<TokenizationResults> {
        let this = self.clone();
        Box::pin(async move { this.generator().await?.predict(input).await })
    }
}
