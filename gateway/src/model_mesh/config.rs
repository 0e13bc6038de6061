//! `model_mesh:`: where the ModelMesh runtime SPI listens and what it reports.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ModelMeshConfig {
    /// Serve KServe ModelMesh's `mmesh.ModelRuntime` so a ModelMesh sidecar places, loads and
    /// unloads models in this process.
    pub enabled: bool,
    /// A loopback address (the sidecar runs in the same pod); the SPI takes no API keys.
    #[schema(min_length = 1, example = "127.0.0.1")]
    pub host: String,
    /// Its port (0 picks a free one), unless `unix_socket` is given.
    #[schema(minimum = 0, maximum = 65535, example = 8086)]
    pub port: u32,
    /// Listen on this unix socket instead of a port.
    #[schema(min_length = 1, example = "/tmp/mmesh/grpc.sock")]
    pub unix_socket: Option<String>,
    /// The directory ModelMesh's puller writes models into; `modelPath` must lie inside it.
    /// Default: `models_dir`.
    #[schema(min_length = 1, example = "/models")]
    pub models_root: Option<String>,
    /// The memory reported for models (`capacityInBytes`); default: `models_memory_bytes`,
    /// one of which must be set.
    #[schema(minimum = 1, example = 2147483648u64)]
    pub capacity_bytes: Option<u64>,
    /// A conservative size most models stay under (`defaultModelSizeInBytes`).
    #[schema(minimum = 1, example = 134217728)]
    pub default_model_size_bytes: u64,
    /// `predictModelSize` answers the model's files times this (it must err on the large
    /// side). Measured here: a BERT model is charged 1.0× its files (its resident memory grows
    /// 1.2×), a Q4_1 GGUF 2.15× (its token embeddings are also held in f32).
    #[schema(minimum = 1, maximum = 100, example = 2.5)]
    pub size_multiplier: f64,
    /// How long ModelMesh waits for a load (`modelLoadingTimeoutMs`).
    #[schema(minimum = 1000, example = 120000)]
    pub load_timeout_ms: u32,
}

impl Default for ModelMeshConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "127.0.0.1".into(),
            port: 8086,
            unix_socket: None,
            models_root: None,
            capacity_bytes: None,
            default_model_size_bytes: 128 * 1024 * 1024,
            size_multiplier: 2.5,
            load_timeout_ms: 120_000,
        }
    }
}
