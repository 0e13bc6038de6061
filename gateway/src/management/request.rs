//! What a deploy asks for, on the wire.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use taskgate_modules::LoadPolicy;
use utoipa::ToSchema;

/// Deploys a model while serving. Caikit's form gives `model_files` (written into
/// `models_dir/<model_id>/`, then served like a directory found there); taskgate's gives the
/// model as a config file's `models:` entry does: `module` (with `config`) or `backend`. Paths
/// in either form must stay inside `models_dir`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployModelRequest {
    /// The `model_id` clients will send.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", example = "minilm-2")]
    pub model_id: String,
    /// The model's files (Caikit's form): each a relative name and its bytes in base64.
    #[serde(default)]
    pub model_files: Vec<ModelFile>,
    /// The in-process module serving it (taskgate's form).
    #[serde(default)]
    #[schema(example = "sentence-embeddings")]
    pub module: Option<String>,
    /// The module's settings; `path` is relative to `models_dir`.
    #[serde(default)]
    #[schema(value_type = Option<Object>, example = json!({"path": "all-minilm"}))]
    pub config: Option<Value>,
    /// A remote runtime serving it (taskgate's form), as in a config file.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub backend: Option<Value>,
    /// When it loads (default: the server's `models_load`).
    #[serde(default)]
    pub load: Option<LoadPolicy>,
    /// Never unloaded to make room in `models_memory_bytes`.
    #[serde(default)]
    pub pinned: bool,
    /// Its own limit of requests in flight (default: the server's).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_concurrent_requests: Option<usize>,
}

/// One file of a deployed model.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Its path inside the model's directory: relative, no `..`.
    #[schema(example = "taskgate.yaml")]
    pub filename: String,
    /// Its bytes, base64-encoded.
    #[schema(example = "bW9kdWxlOiBwaWktcnVsZXMK")]
    pub data: String,
    /// A media type, for Caikit clients that send one; not used.
    #[serde(default, rename = "type")]
    pub media_type: Option<String>,
}

/// Names the model to undeploy (Caikit's `UndeployModelRequest`, also its answer).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UndeployModelRequest {
    #[schema(example = "minilm-2")]
    pub model_id: String,
}

/// What a load or unload request left the model in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelStateAnswer {
    #[schema(example = "minilm-2")]
    pub model_id: String,
    /// REGISTERED, LOADING, LOADED, FAILED or UNLOADING.
    #[schema(example = "LOADED")]
    pub state: String,
}
