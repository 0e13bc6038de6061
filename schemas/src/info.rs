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
    /// How the last reloads of the config file went (SIGHUP, or a change of the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_reload: Option<ConfigReload>,
}

/// The config reloads of a serving process: models and aliases added, changed and removed
/// without a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfigReload {
    /// Reloads applied since start.
    pub applied: u64,
    /// Reloads refused since start (the config in force kept serving).
    pub refused: u64,
    /// Why the last reload was refused, while no later one was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last reload ran (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// Settings changed in the file that only a restart applies (top-level keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_restart: Vec<String>,
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
