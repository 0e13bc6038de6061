//! `TextGenerationTaskPeftPromptTuningTrain`: checks a prompt-tuning request completely (base
//! model, settings against its context, every record) before queuing it; the job loads a
//! differentiable copy of the base model's weights, trains the soft prompt and writes the tuned
//! model.

use std::path::Path;
use std::sync::Arc;

use taskgate_runtime::gguf::{GgufTokenizer, read_content};
use taskgate_runtime::tuning::prompt::{
    INPUT_PLACEHOLDER, PromptInit, PromptTuner, PromptTuningConfig, TrainableLlama, TrainingRecord,
};
use taskgate_runtime::tuning::{TrainingObserver, TuningError, durable};
use taskgate_schemas::{
    GenerationTrainRecord, PromptTuningInit, PromptTuningTrainRequest, TrainingJob,
};

use super::MANIFEST;
use super::data_stream::read_train_and_validation;
use super::manager::TrainingManager;
use super::memory::TrainingShape;
use super::tuned_generation::{Manifest, SOFT_PROMPT, TRAINER};
use crate::TaskError;
use crate::local::text_generation::TextGenerator;

const DEFAULT_VIRTUAL_TOKENS: u32 = 8;
const DEFAULT_EPOCHS: u32 = 20;
/// Our random init is scaled like the token embeddings (PEFT's is a unit normal, hence its
/// 0.3), and text init starts from real embeddings: both move well at this rate.
const DEFAULT_LEARNING_RATE: f64 = 0.03;
const DEFAULT_BATCH_SIZE: u32 = 8;
/// Bounds of a verbalizer: a template, not a document.
const MAX_VERBALIZER_CHARS: usize = 2_000;
const MAX_PLACEHOLDERS: usize = 4;
const DEFAULT_MAX_SOURCE_LENGTH: u32 = 256;
const DEFAULT_MAX_TARGET_LENGTH: u32 = 128;
const DEFAULT_SEED: u64 = 42;

/// The trainer's settings from the request, refusing what cannot work on `generator`.
fn tuning_config(
    request: &PromptTuningTrainRequest,
    generator: &TextGenerator,
) -> Result<PromptTuningConfig, TaskError> {
    let p = &request.parameters;
    let tuning = p.tuning_config.clone().unwrap_or_default();
    let init = match (
        tuning.prompt_tuning_init_method,
        tuning.prompt_tuning_init_text,
    ) {
        (Some(PromptTuningInit::Random), Some(_)) => {
            return Err(TaskError::invalid_field(
                "/parameters/tuning_config/prompt_tuning_init_text",
                "only used with prompt_tuning_init_method TEXT",
            ));
        }
        (Some(PromptTuningInit::Text), None) => {
            return Err(TaskError::invalid_field(
                "/parameters/tuning_config/prompt_tuning_init_text",
                "prompt_tuning_init_method TEXT needs the text to start from",
            ));
        }
        (_, Some(text)) => {
            let tokens = generator
                .tokenizer()
                .encode(&text)
                .map_err(|e| e.to_string())
                .and_then(|ids| {
                    (!ids.is_empty())
                        .then_some(())
                        .ok_or_else(|| "the text has no tokens".to_string())
                });
            tokens.map_err(|reason| {
                TaskError::invalid_field(
                    "/parameters/tuning_config/prompt_tuning_init_text",
                    reason,
                )
            })?;
            PromptInit::Text(text)
        }
        (_, None) => PromptInit::Random,
    };
    let verbalizer = p
        .verbalizer
        .clone()
        .unwrap_or_else(|| INPUT_PLACEHOLDER.to_string());
    if !verbalizer.contains(INPUT_PLACEHOLDER) {
        return Err(TaskError::invalid_field(
            "/parameters/verbalizer",
            format!("must contain {INPUT_PLACEHOLDER}, where each input goes"),
        ));
    }
    // Every inference call on the tuned model expands the verbalizer: a stored bomb would
    // cost each call (and every restart) its size times the input.
    let placeholders = verbalizer.matches(INPUT_PLACEHOLDER).count();
    if verbalizer.chars().count() > MAX_VERBALIZER_CHARS || placeholders > MAX_PLACEHOLDERS {
        return Err(TaskError::invalid_field(
            "/parameters/verbalizer",
            format!(
                "at most {MAX_VERBALIZER_CHARS} characters with {INPUT_PLACEHOLDER} at most \
                 {MAX_PLACEHOLDERS} times (this one: {} characters, {placeholders} times)",
                verbalizer.chars().count()
            ),
        ));
    }
    let config = PromptTuningConfig {
        num_virtual_tokens: tuning.num_virtual_tokens.unwrap_or(DEFAULT_VIRTUAL_TOKENS) as usize,
        init,
        verbalizer,
        num_epochs: p.num_epochs.unwrap_or(DEFAULT_EPOCHS) as usize,
        learning_rate: p.learning_rate.unwrap_or(DEFAULT_LEARNING_RATE),
        batch_size: p.batch_size.unwrap_or(DEFAULT_BATCH_SIZE) as usize,
        seed: p.seed.unwrap_or(DEFAULT_SEED),
        max_source_length: p.max_source_length.unwrap_or(DEFAULT_MAX_SOURCE_LENGTH) as usize,
        max_target_length: p.max_target_length.unwrap_or(DEFAULT_MAX_TARGET_LENGTH) as usize,
    };
    // The longest training sequence: the prompt, a whole source, a whole target and EOS.
    let longest =
        config.num_virtual_tokens + config.max_source_length + config.max_target_length + 1;
    let context = generator.context_length();
    if longest > context {
        return Err(TaskError::invalid_field(
            "/parameters/max_source_length",
            format!(
                "num_virtual_tokens ({}) + max_source_length ({}) + max_target_length ({}) + 1 \
                 for EOS is {longest} tokens, more than the base model's context of {context}",
                config.num_virtual_tokens, config.max_source_length, config.max_target_length
            ),
        ));
    }
    Ok(config)
}

/// Checks `request` and queues its job, owned by `owner` (the submitting key, if any).
pub async fn submit(
    manager: &TrainingManager,
    owner: Option<&str>,
    request: PromptTuningTrainRequest,
    request_id: &str,
) -> Result<TrainingJob, TaskError> {
    let p = &request.parameters;
    let base_field = "/parameters/base_model";
    let base = manager
        .registry()
        .acquire(&p.base_model)
        .await
        .map_err(|e| match e {
            TaskError::ModelNotFound(_) => TaskError::invalid_field(
                base_field,
                format!("no model '{}' is served here", p.base_model),
            ),
            other => other,
        })?;
    let generator = base.extension::<TextGenerator>().ok_or_else(|| {
        TaskError::invalid_field(
            base_field,
            format!(
                "model '{}' (module '{}') is not an in-process text-generation model; prompt \
                 tuning needs its weights in this process",
                p.base_model,
                base.module()
            ),
        )
    })?;
    let gguf = generator.gguf().to_path_buf();
    let config = tuning_config(&request, &generator)?;
    let (layers, heads) = generator.layers_and_heads();
    let shape = TrainingShape {
        layers,
        hidden: generator.hidden_size(),
        heads,
        batch: config.batch_size,
        sequence: config.num_virtual_tokens
            + config.max_source_length
            + config.max_target_length
            + 1,
        // The job trains on a dequantized (f32) copy: about 8 bytes per byte of Q4 weights.
        weights_bytes: std::fs::metadata(&gguf)
            .map_or(0, |m| m.len())
            .saturating_mul(8),
    };
    shape.check(
        manager.memory_budget(),
        &["batch_size", "max_source_length", "max_target_length"],
    )?;
    let (train, validation) = read_train_and_validation(
        &p.train_stream,
        p.val_stream.as_ref(),
        manager.data_limits(),
    )
    .await?;
    let pairs = |records: Vec<GenerationTrainRecord>| -> Vec<TrainingRecord> {
        records
            .into_iter()
            .map(|r| TrainingRecord {
                input: r.input,
                output: r.output,
            })
            .collect()
    };
    let (train, validation) = (pairs(train), pairs(validation.unwrap_or_default()));
    let base_model = p.base_model.clone();
    let submitted = manager.submit(
        &request.model_name,
        TRAINER,
        owner,
        Box::new(move |observer: &mut dyn TrainingObserver, staged: &Path| {
            train_prompt(
                &gguf,
                config,
                &train,
                &validation,
                observer,
                staged,
                base_model,
            )
        }),
    )?;
    tracing::info!(
        training_id = %submitted.training_id,
        model = %request.model_name,
        %request_id,
        "prompt tuning queued"
    );
    Ok(submitted)
}

/// The job: trains on a dequantized copy of the base weights and writes the tuned model into
/// `staged`.
fn train_prompt(
    gguf: &Path,
    config: PromptTuningConfig,
    train: &[TrainingRecord],
    validation: &[TrainingRecord],
    observer: &mut dyn TrainingObserver,
    staged: &Path,
    base_model: String,
) -> Result<(), TuningError> {
    let content = read_content(gguf)?;
    let tokenizer = GgufTokenizer::from_content(&content)?;
    let model = TrainableLlama::from_content(gguf, &content)?;
    let tuner = PromptTuner::new(&model, &tokenizer, config)?;
    let outcome = tuner.train(train, validation, observer)?;
    let prompt = Arc::new(outcome.prompt);
    prompt.save(&staged.join(SOFT_PROMPT))?;
    let manifest = Manifest {
        trainer: TRAINER.into(),
        base_model,
        num_virtual_tokens: prompt.num_virtual_tokens(),
        verbalizer: prompt.verbalizer.clone(),
    };
    let bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| TuningError::Failed(e.to_string()))?;
    durable::write_file(&staged.join(MANIFEST), &bytes)
}
