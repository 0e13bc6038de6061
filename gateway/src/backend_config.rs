//! `backend:` — a model served by a remote runtime: which protocol, where, how long to wait,
//! and the protocol-specific settings. Each module checks that it was given only the settings
//! its protocol uses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a remotely served model runs and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// The runtime's URL.
    #[schema(pattern = "^https?://", example = "http://127.0.0.1:8033")]
    pub endpoint: String,
    /// The name the runtime knows the model by (default: the model's `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub model_name: Option<String>,
    /// `openai` only: which API serves the model (default `completions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<OpenAiApi>,
    /// `openai` only: the server's extensions to the OpenAI parameters, which let more Caikit
    /// parameters through (`top_k`, `repetition_penalty`, ...). Without it those are refused
    /// with 400 rather than dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<OpenAiDialect>,
    /// `tei` only (required): the kind of model the TEI server runs, which decides the tasks
    /// served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<RemoteTask>,
    /// `tei` only: most texts one call may send (default 32, TEI's own default); longer
    /// lists are refused with 400 naming the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_client_batch_size: Option<u64>,
    /// `tei` with `task: embeddings` only: L2-normalize the embeddings (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// Default 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub connect_timeout_ms: Option<u64>,
    /// Limit for a unary call, and for a stream to start (default 60000); beyond it → 504.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub request_timeout_ms: Option<u64>,
    /// Longest silence between two streamed messages (default 30000); beyond it the stream
    /// ends with a 504 error event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub stream_idle_timeout_ms: Option<u64>,
    /// Retries of a call the remote never ran (unreachable or busy), with exponential backoff
    /// and jitter (default 2). A stream is never retried once it has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 10)]
    pub retries: Option<u64>,
    /// Failures in a row (unreachable, timed out, remote error) that open the circuit; while
    /// open, calls fail fast with 503 (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub circuit_failures: Option<u64>,
    /// How long an open circuit waits before letting one probe call through (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub circuit_cooldown_ms: Option<u64>,
    /// Other endpoints of the same model a call may choose with the `x-route-info` header (or
    /// gRPC metadata). Any other value is refused with 400, so the header cannot point taskgate
    /// at an arbitrary address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>, example = json!(["http://10.0.0.8:8033"]))]
    pub route_overrides: Option<Vec<String>>,
}

/// The remote protocols taskgate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// OpenAI-compatible HTTP (vLLM, llama.cpp, llama-cpp-python, TGI's OpenAI routes):
    /// completions or chat completions (streamed as SSE), or embeddings.
    Openai,
    /// IBM TGIS, `fmaas.GenerationService` over gRPC.
    Tgis,
    /// Hugging Face Text Embeddings Inference over HTTP: embeddings, sequence classification
    /// or reranking (by `task`), and tokenization.
    Tei,
}

impl BackendKind {
    /// The module that talks this protocol.
    pub fn module(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Tgis => "tgis",
            Self::Tei => "tei",
        }
    }
}

/// The OpenAI API a model is served through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// Parameter extensions an OpenAI-compatible server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OpenAiDialect {
    /// llama.cpp and llama-cpp-python: `top_k`, `typical_p`, `repeat_penalty`.
    LlamaCpp,
    /// vLLM: `top_k`, `repetition_penalty`, `min_tokens`, `truncate_prompt_tokens`.
    Vllm,
}

/// The kind of model a single-model runtime (TEI) serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteTask {
    /// The embedding tasks (embeddings, sentence similarity, rerank by cosine).
    Embeddings,
    /// `text-classification`.
    TextClassification,
    /// `rerank` and `rerank-tasks` with a cross-encoder.
    Rerank,
}
