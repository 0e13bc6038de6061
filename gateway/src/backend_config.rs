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
    /// `kserve-v2` only: REST (`POST /v2/models/{name}/infer`, default) or gRPC
    /// (`inference.GRPCInferenceService/ModelInfer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<KserveProtocol>,
    /// `kserve-v2` and `tei`, required: what the model does. `kserve-v2` takes `embeddings`
    /// or `text-classification`; `tei` also `rerank` (the kind of model the TEI server runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<RemoteTask>,
    /// `kserve-v2` with `task: text-classification` only, required there: the class names, in
    /// the order of the output's columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["negative", "neutral", "positive"]))]
    pub labels: Option<Vec<String>>,
    /// `kserve-v2` only: the BYTES input tensor the texts go in, as shape `[n]` (default `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, example = "text")]
    pub input_name: Option<String>,
    /// `kserve-v2` only: the output to request by name, of shape `[n, d]` or `[n]` and a number
    /// datatype (default: the first output the server answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, example = "embedding")]
    pub output_name: Option<String>,
    /// `kserve-v2` with `protocol: grpc` only: send the texts in `raw_input_contents` (the
    /// server then answers in `raw_output_contents`) instead of typed `contents` (default
    /// false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_contents: Option<bool>,
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
    /// TLS to the runtime: a CA to trust instead of the system's, and a client certificate for
    /// mutual TLS. An `https://` endpoint uses TLS with the system's roots without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<BackendTls>,
}

/// PEM files for TLS to a remote runtime, read at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendTls {
    /// CA certificate(s) the runtime's certificate must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, example = "/etc/taskgate/remote-ca.pem")]
    pub ca_file: Option<String>,
    /// Client certificate chain for mutual TLS (with `key_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub cert_file: Option<String>,
    /// The client certificate's private key (PKCS#8, PKCS#1 or SEC1 PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1)]
    pub key_file: Option<String>,
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
    /// The KServe Open Inference Protocol v2 (KServe, Seldon MLServer, Triton), REST or gRPC:
    /// embeddings or text classification from a model taking a BYTES tensor of texts.
    KserveV2,
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
            Self::KserveV2 => "kserve-v2",
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

/// How taskgate talks to a KServe v2 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KserveProtocol {
    Rest,
    Grpc,
}

/// What a remote model does (`kserve-v2`: its output's meaning; `tei`: the kind of model the
/// server runs).
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
