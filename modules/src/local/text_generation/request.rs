//! Caikit/TGIS text-generation parameters → a runtime generation request.

use std::time::Duration;

use taskgate_runtime::generation::GenerationRequest;
use taskgate_runtime::gguf::GgufTokenizer;
use taskgate_runtime::sampling::{LengthPenalty, SamplingParams};
use taskgate_schemas::{DecodingMethod, TextGenerationParameters};

use crate::TaskError;

/// Defaults of caikit-nlp's TGIS module.
pub const DEFAULT_MAX_NEW_TOKENS: u32 = 20;

/// Tokenizes `text` and applies every parameter. Inputs that cannot run (empty, longer than the
/// context without truncation) are refused naming the field.
pub fn generation_request(
    text: &str,
    params: &TextGenerationParameters,
    tokenizer: &GgufTokenizer,
    context_length: usize,
) -> Result<GenerationRequest, TaskError> {
    let mut prompt = tokenizer
        .encode(text)
        .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))?;
    if prompt.is_empty() {
        return Err(TaskError::invalid_field(
            "/inputs",
            "the prompt must contain at least one token",
        ));
    }
    // TGIS keeps the end of the prompt: the most recent text matters most to what comes next.
    let keep = params.truncate_input_tokens.unwrap_or(0) as usize;
    if keep > 0 && prompt.len() > keep {
        prompt.drain(..prompt.len() - keep);
    }
    if prompt.len() > context_length {
        return Err(TaskError::invalid_field(
            "/inputs",
            format!(
                "the prompt is {} tokens, more than the model's context of {context_length}; \
                 set parameters.truncate_input_tokens to keep only the last tokens",
                prompt.len()
            ),
        ));
    }
    // A request may not hold a sequence slot for longer than the model could ever generate.
    for (field, value) in [
        ("max_new_tokens", params.max_new_tokens),
        ("min_new_tokens", params.min_new_tokens),
    ] {
        if let Some(value) = value
            && value as usize > context_length
        {
            return Err(TaskError::invalid_field(
                format!("/parameters/{field}"),
                format!(
                    "{field} ({value}) is more than the model's context of {context_length} tokens"
                ),
            ));
        }
    }
    if let Some(min) = params.min_new_tokens
        && prompt.len() + min as usize > context_length
    {
        return Err(TaskError::invalid_field(
            "/parameters/min_new_tokens",
            format!(
                "min_new_tokens ({min}) with the prompt's {} tokens is more than the model's context of {context_length}",
                prompt.len()
            ),
        ));
    }
    let sampling = params.decoding_method.unwrap_or_default() == DecodingMethod::Sampling;
    let neutral = SamplingParams::default();
    Ok(GenerationRequest {
        prompt,
        prefix: None,
        sampling: SamplingParams {
            greedy: !sampling,
            temperature: params.temperature.map_or(neutral.temperature, |t| t as f32),
            top_k: params.top_k.map_or(neutral.top_k, |k| k as usize),
            top_p: params.top_p.map_or(neutral.top_p, |p| p as f32),
            typical_p: params.typical_p.map_or(neutral.typical_p, |p| p as f32),
            repetition_penalty: params
                .repetition_penalty
                .map_or(neutral.repetition_penalty, |p| p as f32),
        },
        seed: params.seed,
        max_new_tokens: params.max_new_tokens.unwrap_or(DEFAULT_MAX_NEW_TOKENS) as usize,
        min_new_tokens: params.min_new_tokens.unwrap_or(0) as usize,
        length_penalty: params
            .exponential_decay_length_penalty
            .map(|p| LengthPenalty {
                start_index: p.start_index as usize,
                decay_factor: p.decay_factor as f32,
            }),
        stop_sequences: params.stop_sequences.clone().unwrap_or_default(),
        // TGIS keeps the matched stop sequence unless told otherwise.
        include_stop_sequence: params.include_stop_sequence.unwrap_or(true),
        max_time: params.max_time.map(Duration::from_secs_f64),
        prompt_details: params.input_tokens.unwrap_or(false),
    })
}
