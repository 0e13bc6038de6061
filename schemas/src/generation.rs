use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{FieldError, ProducerId};

/// Why generation stopped (mirrors TGIS `StopReason`); serialized by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FinishReason {
    NotFinished,
    MaxTokens,
    EosToken,
    Cancelled,
    TimeLimit,
    StopSequence,
    TokenLimit,
    Error,
}

/// One generated (or input) token with optional details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeneratedToken {
    /// The token as the model's vocabulary spells it (byte-level BPE marks a leading space with
    /// `Ġ`, as TGIS reports it).
    #[schema(example = "ĠParis")]
    pub text: String,
    /// Natural log of the token's probability, when `token_logprobs` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = -0.21)]
    pub logprob: Option<f64>,
    /// Rank of the token among all candidates (1 = most likely), when `token_ranks` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 1)]
    pub rank: Option<u64>,
}

/// The result of a unary text generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeneratedTextResult {
    /// The generated text (prefixed by the input when `preserve_input_text` is true).
    #[schema(example = "The capital of France is Paris.")]
    pub generated_text: String,
    /// Number of generated tokens.
    #[schema(example = 8)]
    pub generated_tokens: u64,
    pub finish_reason: FinishReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    /// Number of tokens in the (possibly truncated) input.
    #[schema(example = 12)]
    pub input_token_count: u64,
    /// The seed used for sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 42)]
    pub seed: Option<u64>,
    /// Per-token details of the output, when `generated_tokens` was asked for.
    #[serde(default)]
    pub tokens: Vec<GeneratedToken>,
    /// Per-token details of the input, when `input_tokens` was asked for.
    #[serde(default)]
    pub input_tokens: Vec<GeneratedToken>,
}

/// Details sent with the last event of a stream (and with the first, for `input_token_count`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenStreamDetails {
    pub finish_reason: FinishReason,
    /// Number of tokens generated so far.
    #[schema(example = 8)]
    pub generated_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[schema(example = 12)]
    pub input_token_count: u64,
}

/// One event of a streamed text generation: the text delta since the previous event. The first
/// event carries `details` with `input_token_count` (and the input text when
/// `preserve_input_text` is set), then one event per generated token, then a last event whose
/// `details` hold the finish reason. The deltas concatenate to the unary `generated_text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeneratedTextStreamResult {
    /// Text generated since the previous event.
    #[schema(example = " Paris")]
    pub generated_text: String,
    #[serde(default)]
    pub tokens: Vec<GeneratedToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<TokenStreamDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    #[serde(default)]
    pub input_tokens: Vec<GeneratedToken>,
}

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecodingMethod {
    /// Always the most likely token.
    #[default]
    Greedy,
    /// Draw from the (temperature, top-k, top-p, typical-p shaped) distribution.
    Sampling,
}

/// Lengthen or shorten outputs: past `start_index` generated tokens, the EOS score grows by
/// `decay_factor ^ (n - start_index)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExponentialDecayLengthPenalty {
    /// Generated-token count after which the penalty starts.
    #[schema(example = 20)]
    pub start_index: u32,
    /// Growth factor, in `[1, 10]`.
    #[schema(minimum = 1.0, maximum = 10.0, example = 1.05)]
    pub decay_factor: f64,
}

/// Optional text-generation parameters (Caikit / TGIS names and rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextGenerationParameters {
    /// Maximum number of new tokens (default 20).
    #[schema(minimum = 1, example = 20)]
    pub max_new_tokens: Option<u32>,
    /// Minimum number of new tokens before EOS or stop sequences may end generation (default 0).
    #[schema(minimum = 0, example = 0)]
    pub min_new_tokens: Option<u32>,
    /// Keep only the last N input tokens; 0 (default) rejects inputs longer than the model context.
    #[schema(minimum = 0, example = 0)]
    pub truncate_input_tokens: Option<u32>,
    /// GREEDY (default) or SAMPLING. Sampling parameters require SAMPLING.
    pub decoding_method: Option<DecodingMethod>,
    /// Sample from the k most likely tokens only (0 = off).
    #[schema(minimum = 0, example = 50)]
    pub top_k: Option<u32>,
    /// Sample from the smallest set of tokens whose probabilities add up to `top_p`.
    #[schema(exclusive_minimum = 0.0, maximum = 1.0, example = 0.9)]
    pub top_p: Option<f64>,
    /// Typical sampling mass.
    #[schema(exclusive_minimum = 0.0, maximum = 1.0, example = 0.95)]
    pub typical_p: Option<f64>,
    /// Sampling temperature, at least 0.05.
    #[schema(minimum = 0.05, example = 0.7)]
    pub temperature: Option<f64>,
    /// Penalise tokens already present (1 = off, > 1 discourages repeats).
    #[schema(exclusive_minimum = 0.0, example = 1.1)]
    pub repetition_penalty: Option<f64>,
    /// Wall-clock limit in seconds from the start of prompt processing; generation ends with
    /// `TIME_LIMIT`.
    #[schema(exclusive_minimum = 0.0, maximum = 120.0, example = 10.0)]
    pub max_time: Option<f64>,
    pub exponential_decay_length_penalty: Option<ExponentialDecayLengthPenalty>,
    /// Generation stops when the output ends with one of these.
    #[schema(max_items = 16, example = json!(["\n\n"]))]
    pub stop_sequences: Option<Vec<String>>,
    /// Seed for SAMPLING; the same seed gives the same text.
    #[schema(minimum = 0, example = 42)]
    pub seed: Option<u64>,
    /// Prefix the output with the input text.
    pub preserve_input_text: Option<bool>,
    /// Return details of the input tokens.
    pub input_tokens: Option<bool>,
    /// Return details of the generated tokens.
    pub generated_tokens: Option<bool>,
    /// Include log-probabilities in token details.
    pub token_logprobs: Option<bool>,
    /// Include ranks in token details.
    pub token_ranks: Option<bool>,
    /// Keep the matched stop sequence at the end of the output (default true, as in TGIS).
    pub include_stop_sequence: Option<bool>,
}

impl crate::TaskParameters for TextGenerationParameters {
    fn cross_field_errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let max_new = self.max_new_tokens.unwrap_or(20);
        if let Some(min_new) = self.min_new_tokens
            && min_new > max_new
        {
            errors.push(FieldError::new(
                "/parameters/min_new_tokens",
                format!("min_new_tokens ({min_new}) must be <= max_new_tokens ({max_new})"),
            ));
        }
        if self.decoding_method.unwrap_or_default() == DecodingMethod::Greedy {
            for name in self.sampling_parameters_set() {
                errors.push(FieldError::new(
                    format!("/parameters/{name}"),
                    format!("{name} is a sampling parameter and requires decoding_method SAMPLING"),
                ));
            }
        }
        if let Some(stops) = &self.stop_sequences {
            for (i, stop) in stops.iter().enumerate() {
                if stop.is_empty() {
                    errors.push(FieldError::new(
                        format!("/parameters/stop_sequences/{i}"),
                        "stop sequences must not be empty",
                    ));
                }
            }
        }
        errors
    }
}

impl TextGenerationParameters {
    /// Sampling parameters given with a non-neutral value (neutral values change nothing).
    fn sampling_parameters_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        if self.temperature.is_some_and(|t| t != 1.0) {
            set.push("temperature");
        }
        if self.top_k.is_some_and(|k| k != 0) {
            set.push("top_k");
        }
        if self.top_p.is_some_and(|p| p != 1.0) {
            set.push("top_p");
        }
        if self.typical_p.is_some_and(|p| p != 1.0) {
            set.push("typical_p");
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskParameters;

    #[test]
    fn finish_reason_serializes_by_name() {
        let json = serde_json::to_string(&FinishReason::EosToken).unwrap();
        assert_eq!(json, "\"EOS_TOKEN\"");
    }

    #[test]
    fn sampling_parameters_need_sampling() {
        let params = TextGenerationParameters {
            temperature: Some(0.7),
            top_k: Some(0),
            ..Default::default()
        };
        let errors = params.cross_field_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "/parameters/temperature");
        let sampling = TextGenerationParameters {
            decoding_method: Some(DecodingMethod::Sampling),
            ..params
        };
        assert!(sampling.cross_field_errors().is_empty());
    }

    #[test]
    fn min_new_tokens_may_not_exceed_max() {
        let params = TextGenerationParameters {
            min_new_tokens: Some(30),
            ..Default::default()
        };
        let errors = params.cross_field_errors();
        assert_eq!(errors[0].path, "/parameters/min_new_tokens");
        assert!(errors[0].message.contains("max_new_tokens (20)"));
    }
}
