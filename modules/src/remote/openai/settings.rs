//! The `openai` backend's settings: the remote settings every backend shares, plus which API
//! serves the model and which parameter extensions the server accepts.

use serde::Deserialize;
use utoipa::ToSchema;

use super::request::Dialect;
use crate::framework::settings::{Flat, struct_settings};
use crate::remote::settings::RemoteSettings;

/// `openai` settings: [`RemoteSettings`] and [`OpenAiOptions`] side by side.
pub type OpenAiSettings = Flat<RemoteSettings, OpenAiOptions>;

/// A model on an OpenAI-compatible server: which API serves it and which parameter
/// extensions the server accepts, besides the remote settings every backend shares.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiOptions {
    /// Which API serves the model (default `completions`).
    #[serde(default)]
    pub api: Option<OpenAiApi>,
    /// The server's extensions to the OpenAI parameters, which let more Caikit parameters
    /// through (`top_k`, `repetition_penalty`, ...). Without it those are refused with 400
    /// rather than dropped.
    #[serde(default)]
    pub dialect: Option<OpenAiDialect>,
}

struct_settings!(OpenAiOptions);

/// The OpenAI API a model is served through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OpenAiApi {
    /// `/v1/completions`: the prompt is sent as is.
    Completions,
    /// `/v1/chat/completions`: the prompt is one user message; the server applies its chat
    /// template.
    Chat,
    /// `/v1/embeddings`: embeddings, sentence similarity and rerank (by cosine).
    Embeddings,
}

impl OpenAiApi {
    pub fn name(self) -> &'static str {
        match self {
            Self::Completions => "completions",
            Self::Chat => "chat",
            Self::Embeddings => "embeddings",
        }
    }
}

/// Parameter extensions an OpenAI-compatible server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OpenAiDialect {
    /// llama.cpp and llama-cpp-python: `top_k`, `typical_p`, `repeat_penalty`.
    LlamaCpp,
    /// vLLM: `top_k`, `repetition_penalty`, `min_tokens`, `truncate_prompt_tokens`.
    Vllm,
}

impl From<Option<OpenAiDialect>> for Dialect {
    fn from(dialect: Option<OpenAiDialect>) -> Self {
        match dialect {
            None => Self::Plain,
            Some(OpenAiDialect::LlamaCpp) => Self::LlamaCpp,
            Some(OpenAiDialect::Vllm) => Self::Vllm,
        }
    }
}
