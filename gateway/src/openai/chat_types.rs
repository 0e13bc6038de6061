//! `/v1/chat/completions` as OpenAI's clients send and read it: the request, the answer and
//! the stream's chunks.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::generation_types::{
    CompletionFinishReason, CompletionUsage, Stop, StreamOptions, TokenLogprob,
};

/// A chat completion request. Parameters OpenAI has and taskgate cannot honour are refused
/// by name (400), never ignored; fields OpenAI does not have are refused as unknown (422).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChatCompletionRequest {
    /// A served model (or alias) with a chat template.
    #[schema(min_length = 1, example = "smollm2")]
    pub model: String,
    /// The conversation so far, rendered with the model's own chat template.
    #[schema(min_items = 1, max_items = 1000)]
    pub messages: Vec<ChatMessage>,
    /// Stream the answer as server-sent events (`data: {chunk}` lines, then `data: [DONE]`).
    #[serde(default)]
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    /// The most tokens to generate (default: as many as the model's context allows).
    #[schema(minimum = 1, example = 64)]
    pub max_tokens: Option<u32>,
    /// The same as `max_tokens` (OpenAI's newer name); give one of them.
    #[schema(minimum = 1, example = 64)]
    pub max_completion_tokens: Option<u32>,
    /// 0 (or below 0.05) decodes greedily; otherwise sampling at this temperature (default 1).
    #[schema(minimum = 0.0, maximum = 2.0, example = 0.7)]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass (default 1: off; 0 decodes greedily).
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.9)]
    pub top_p: Option<f64>,
    /// The same seed, model and parameters give the same answer.
    #[schema(example = 42)]
    pub seed: Option<i64>,
    #[schema(schema_with = super::generation_types::stop_schema)]
    pub stop: Option<Stop>,
    /// Answers per request: only 1.
    #[schema(minimum = 1, example = 1)]
    pub n: Option<u32>,
    /// Return each generated token's log-probability.
    pub logprobs: Option<bool>,
    /// Alternatives per token: only 0 (taskgate's engines report the chosen token only).
    #[schema(minimum = 0, maximum = 20)]
    pub top_logprobs: Option<u32>,
    /// Only 0: taskgate's engines apply a multiplicative repetition penalty, not OpenAI's
    /// additive ones.
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub presence_penalty: Option<f64>,
    /// Only 0, as `presence_penalty`.
    #[schema(minimum = -2.0, maximum = 2.0)]
    pub frequency_penalty: Option<f64>,
    /// Your end user's id; written to the call's trace (`enduser.id`).
    #[schema(max_length = 256, example = "user-1234")]
    pub user: Option<String>,
}

/// One turn of the conversation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: MessageContent,
    /// A participant's name: accepted, not rendered (templates take each turn's role and
    /// content).
    #[schema(max_length = 256)]
    pub name: Option<String>,
}

/// Who speaks; `developer` is OpenAI's newer name for `system` and renders as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    Developer,
    User,
    Assistant,
}

impl ChatRole {
    /// The role as chat templates know it.
    pub fn template_name(self) -> &'static str {
        match self {
            Self::System | Self::Developer => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// A message's text, or its parts (text parts only).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    #[schema(example = "Name three colours.")]
    Text(String),
    Parts(Vec<ContentPart>),
}

impl MessageContent {
    /// The text of the message, its parts joined.
    pub fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Parts(parts) => parts.iter().map(|p| p.text.as_str()).collect(),
        }
    }
}

/// One part of a message: only text.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: ContentPartKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentPartKind {
    Text,
}

/// The answer of a chat completion request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-` and the request id.
    #[schema(example = "chatcmpl-0e6d3d2c")]
    pub id: String,
    /// Always `chat.completion`.
    #[schema(example = "chat.completion")]
    pub object: &'static str,
    /// Unix seconds.
    #[schema(example = 1764720000)]
    pub created: u64,
    /// The model that answered (for an alias, the one it chose).
    #[schema(min_length = 1, example = "smollm2")]
    pub model: String,
    pub choices: Vec<ChatChoice>,
    pub usage: CompletionUsage,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatChoice {
    pub index: u32,
    pub message: AssistantMessage,
    pub finish_reason: Option<CompletionFinishReason>,
    pub logprobs: Option<ChatLogprobs>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssistantMessage {
    /// Always `assistant`.
    #[schema(example = "assistant")]
    pub role: &'static str,
    #[schema(example = "1. Red\n2. Blue\n3. Green")]
    pub content: String,
}

/// Log-probabilities of the generated tokens.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ChatLogprobs {
    pub content: Vec<TokenLogprob>,
}

/// One server-sent event of a streamed chat completion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatCompletionChunk {
    pub id: String,
    /// Always `chat.completion.chunk`.
    #[schema(example = "chat.completion.chunk")]
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    /// One choice; empty in the usage chunk at the end.
    pub choices: Vec<ChunkChoice>,
    /// Only in the last chunk, when `stream_options.include_usage` is true (null before it).
    pub usage: Option<CompletionUsage>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: ChatDelta,
    pub finish_reason: Option<CompletionFinishReason>,
    pub logprobs: Option<ChatLogprobs>,
}

/// What a chunk adds to the message: the role first, then text.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ChatDelta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}
