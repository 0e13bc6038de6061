//! What chat and text completions share on OpenAI's wire: stop sequences, stream options,
//! finish reasons, usage and token log-probabilities; and `/v1/completions` itself.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};

/// Generation stops before any of these (which are left out of the text).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Several(Vec<String>),
}

/// A text of at least one character.
pub(crate) fn text() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
}

/// `one`, or a list of 1 to `most` of it, or null: the shape of OpenAI's "a string or a list
/// of strings" fields.
pub(crate) fn one_or_list(one: ObjectBuilder, most: usize, description: &str) -> Schema {
    let one = one.build();
    OneOfBuilder::new()
        .item(one.clone())
        .item(
            ArrayBuilder::new()
                .items(one)
                .min_items(Some(1))
                .max_items(Some(most)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(description))
        .build()
        .into()
}

pub(crate) fn stop_schema() -> Schema {
    one_or_list(
        text(),
        4,
        "Generation stops before any of these (1 to 4; left out of the text).",
    )
}

impl Stop {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(stop) => vec![stop],
            Self::Several(stops) => stops,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    /// End the stream with a chunk holding the whole call's `usage` (and no choices).
    pub include_usage: Option<bool>,
}

/// Why generation stopped: `stop` (end of text or a stop sequence) or `length` (the token
/// limit, the model's context or the time limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompletionFinishReason {
    Stop,
    Length,
}

/// Tokens the call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CompletionUsage {
    /// Tokens of the rendered prompt (or the inputs).
    #[schema(example = 25)]
    pub prompt_tokens: u64,
    #[schema(example = 12)]
    pub completion_tokens: u64,
    #[schema(example = 37)]
    pub total_tokens: u64,
}

impl CompletionUsage {
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

/// One generated token with its log-probability.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TokenLogprob {
    /// The token's text (it may be part of a character; `bytes` are exact).
    #[schema(example = " Paris")]
    pub token: String,
    #[schema(example = -0.21)]
    pub logprob: f64,
    /// The token's UTF-8 bytes.
    #[schema(example = json!([32, 80, 97, 114, 105, 115]))]
    pub bytes: Vec<u8>,
    /// Always empty: the engines report the chosen token only.
    #[schema(value_type = Vec<Object>)]
    pub top_logprobs: Vec<serde_json::Value>,
}

/// The prompt: one text, or several (one choice each, in order).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    One(String),
    Several(Vec<String>),
}

fn prompt_schema() -> Schema {
    let mut schema = one_or_list(
        text(),
        16,
        "The prompt: one text, or 1 to 16 (one choice each, in order).",
    );
    // A prompt is required: not null.
    if let Schema::OneOf(one_of) = &mut schema {
        one_of.items.pop();
    }
    schema
}

/// A text completion request (OpenAI's legacy completions).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompletionRequest {
    #[schema(min_length = 1, example = "smollm2")]
    pub model: String,
    #[schema(schema_with = prompt_schema)]
    pub prompt: Prompt,
    /// The most tokens to generate per prompt (default 16, as OpenAI's).
    #[schema(minimum = 1, example = 16)]
    pub max_tokens: Option<u32>,
    /// As for chat completions.
    #[schema(minimum = 0.0, maximum = 2.0, example = 0.7)]
    pub temperature: Option<f64>,
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.9)]
    pub top_p: Option<f64>,
    #[schema(example = 42)]
    pub seed: Option<i64>,
    #[schema(schema_with = stop_schema)]
    pub stop: Option<Stop>,
    /// Answers per prompt: only 1.
    #[schema(minimum = 1, example = 1)]
    pub n: Option<u32>,
    /// Only 1.
    #[schema(minimum = 1, example = 1)]
    pub best_of: Option<u32>,
    #[serde(default)]
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    /// 0: each token's log-probability; alternatives (more than 0) are not reported.
    #[schema(minimum = 0, maximum = 5)]
    pub logprobs: Option<u32>,
    /// Put the prompt before the completion in `text`.
    pub echo: Option<bool>,
    /// Not supported (only empty).
    #[schema(max_length = 0)]
    pub suffix: Option<String>,
    /// Only 0, as for chat completions.
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub presence_penalty: Option<f64>,
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub frequency_penalty: Option<f64>,
    #[schema(max_length = 256)]
    pub user: Option<String>,
}

/// The answer of a text completion request (and, with one choice, each streamed chunk).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Completion {
    /// `cmpl-` and the request id.
    #[schema(example = "cmpl-0e6d3d2c")]
    pub id: String,
    /// Always `text_completion`.
    #[schema(example = "text_completion")]
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    pub choices: Vec<CompletionChoice>,
    /// Always in a whole answer; in a stream, only in the last chunk when
    /// `stream_options.include_usage` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<CompletionUsage>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompletionChoice {
    pub index: u32,
    #[schema(example = " Paris.")]
    pub text: String,
    pub finish_reason: Option<CompletionFinishReason>,
    pub logprobs: Option<CompletionLogprobs>,
}

/// Per-token details of a text completion, in OpenAI's legacy shape.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CompletionLogprobs {
    pub tokens: Vec<String>,
    pub token_logprobs: Vec<f64>,
    /// Character offsets of each token in `text`.
    pub text_offset: Vec<u64>,
    /// Always null: alternatives are not reported.
    #[schema(value_type = Option<Vec<Object>>)]
    pub top_logprobs: Option<Vec<serde_json::Value>>,
}
