use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /info/version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuntimeInfo {
    /// The taskgate version.
    #[schema(example = "0.1.0")]
    pub runtime_version: String,
    /// Version of the task API (route prefix).
    #[schema(example = "v1")]
    pub api_version: String,
    /// Every task this build can route, by route name.
    #[schema(example = json!(["token-classification", "text-generation"]))]
    pub tasks: Vec<String>,
}

/// One served model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    /// The `model_id` clients send.
    #[schema(example = "pii-rules")]
    pub name: String,
    /// The module that implements it.
    #[schema(example = "pii-rules")]
    pub module: String,
    /// Tasks it serves, by route name.
    #[schema(example = json!(["token-classification"]))]
    pub tasks: Vec<String>,
    /// Where it runs: `rules`, `candle`, or a remote runtime kind.
    #[schema(example = "rules")]
    pub backend: String,
    /// Whether it is ready to serve.
    pub loaded: bool,
    /// Approximate resident size in bytes.
    #[schema(example = 0)]
    pub size: u64,
    /// Directory it was loaded from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<String>,
    /// Module-specific facts (e.g. the enabled entity types).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// `GET /info/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelsInfo {
    pub models: Vec<ModelInfo>,
}
