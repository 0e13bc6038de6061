//! Configuration: one YAML file, then `TASKGATE_*` environment overrides, then CLI flags; the
//! merged document is validated against the config's JSON Schema before it is used, so every
//! mistake is reported with its key and reason.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use taskgate_modules::{LoadPolicy, ModuleError};
use taskgate_schemas::FieldError;
use utoipa::ToSchema;

use crate::aliases::AliasConfig;
pub use crate::auth::AuthConfig;
use crate::call_limits::DEFAULT_MAX_BODY_BYTES;
pub use crate::model_config::{ModelConfig, Serving};
use crate::model_mesh::ModelMeshConfig;
pub use crate::server_config::{ClientAuth, CorsConfig, ServerLimits, TlsConfig};
pub use crate::tracing_config::{OtlpProtocol, TracingConfig};
pub use crate::training_config::TrainingConfig;
pub use taskgate_modules::{BackendKind, BackendSettings, ModuleSettings};

/// Prefix of environment overrides; `__` separates nesting levels
/// (`TASKGATE_HTTP__PORT=9000` sets `http.port`).
pub const ENV_PREFIX: &str = "TASKGATE_";
/// Names the config file itself rather than a key in it.
pub const CONFIG_FILE_ENV: &str = "TASKGATE_CONFIG";

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub grpc: GrpcConfig,
    /// API keys and their scopes and limits.
    pub auth: AuthConfig,
    /// Timeouts and caps of both servers' connections, and the default call deadline.
    pub server: ServerLimits,
    pub log: LogConfig,
    /// `/metrics` for Prometheus.
    pub metrics: MetricsConfig,
    /// OpenTelemetry traces over OTLP.
    pub tracing: TracingConfig,
    /// Directory scanned at start: each sub-directory with a `taskgate.yaml` is a model.
    #[schema(example = "models")]
    pub models_dir: String,
    /// Per-model limit of requests in flight; beyond it requests get 429.
    #[schema(minimum = 1, example = 64)]
    pub max_concurrent_requests: usize,
    /// Threads each in-process model computes with (candle/gemm); default: all cores.
    /// More threads than cores collapses throughput, so this is pinned at start.
    #[schema(minimum = 1, example = 2)]
    pub compute_threads: Option<usize>,
    /// taskgate's own quantized kernels: `auto` picks the fastest this CPU reports at start
    /// (AVX2, with AVX-VNNI or AVX512-VNNI dot products where present); `portable` forces the
    /// scalar ones, which compute the same function on any CPU (slower). The choice is logged
    /// at start.
    pub cpu_kernels: CpuKernels,
    /// On SIGTERM/SIGINT, how long in-flight calls (streams included) may take to finish
    /// before the process exits anyway.
    #[schema(minimum = 0, example = 30)]
    pub shutdown_grace_seconds: u64,
    /// How often each remote model's runtime is health-checked (a cheap call such as TGIS
    /// `ModelInfo` or `GET /v1/models`); the outcome shows in `/info/models` and as gRPC health
    /// service `model/<id>`.
    #[schema(minimum = 100, example = 10000)]
    pub remote_health_check_ms: u64,
    /// When models load unless their entry says (`load:`): `eager` at start-up (the server
    /// answers once each has loaded or failed), `lazy` on a model's first call.
    pub models_load: LoadPolicy,
    /// What loaded models may take together (bytes). Loading a model that does not fit
    /// unloads the least recently used idle ones first; models with calls in flight and
    /// pinned ones stay. Default: no budget.
    #[schema(minimum = 1, example = 2147483648u64)]
    pub models_memory_bytes: Option<u64>,
    /// Models to serve (besides those found in `models_dir`).
    #[schema(default = json!([{"id": "pii-rules", "module": "pii-rules"}]))]
    pub models: Vec<ModelConfig>,
    /// Names apps call while the models behind them change: weighted targets (canaries),
    /// optionally sticky per key or session, and fallback models for when targets are
    /// unavailable. Reloaded with the models.
    pub aliases: Vec<AliasConfig>,
    pub training: TrainingConfig,
    /// Deploying and undeploying models while serving (`/management/models`, gRPC
    /// `ModelManagement`; the `admin` scope).
    pub management: ManagementConfig,
    /// KServe ModelMesh's model runtime SPI, for placing models across replicas.
    pub model_mesh: ModelMeshConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ManagementConfig {
    /// Where models deployed while serving are kept, so they are served again after a
    /// restart (replaced atomically on every change).
    #[schema(min_length = 1, example = "taskgate-deployments.json")]
    pub state_file: String,
    /// Largest deploy body over REST; Caikit's form carries the model's files in base64.
    /// gRPC deploys are bounded by `grpc.max_message_bytes`.
    #[schema(minimum = 1024, example = 268435456)]
    pub max_deploy_bytes: usize,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        Self {
            state_file: "taskgate-deployments.json".into(),
            max_deploy_bytes: 256 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to listen on.
    #[schema(min_length = 1, example = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[schema(minimum = 0, maximum = 65535, example = 8080)]
    pub port: u32,
    /// Largest accepted request body; larger bodies get 413.
    #[schema(minimum = 1024, example = 2097152)]
    pub max_body_bytes: usize,
    /// Serve HTTPS (and, with a client CA, mutual TLS).
    pub tls: Option<TlsConfig>,
    pub cors: CorsConfig,
}

/// The gRPC server (Caikit's `caikit.runtime.Nlp.NlpService`, info, health, reflection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// Serve gRPC beside HTTP.
    pub enabled: bool,
    /// Address to listen on.
    #[schema(min_length = 1, example = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free port); Caikit's default is 8085.
    #[schema(minimum = 0, maximum = 65535, example = 8085)]
    pub port: u32,
    /// Largest message accepted or sent; larger ones get OUT_OF_RANGE.
    #[schema(minimum = 1024, example = 4194304)]
    pub max_message_bytes: usize,
    /// Serve gRPC over TLS (and, with a client CA, mutual TLS).
    pub tls: Option<TlsConfig>,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 8085,
            max_message_bytes: crate::grpc::DEFAULT_MAX_MESSAGE_BYTES,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Count calls and serve `/metrics` (a key needs the `metrics` scope); off, the route is
    /// not served and calls are not counted (access logs stay).
    pub enabled: bool,
    /// Serve `/metrics` on this port alone (plain HTTP, the same keys), and not on the API's
    /// port; 0 picks a free port.
    #[schema(maximum = 65535, example = 9090)]
    pub port: Option<u32>,
    /// The address of that port (default: `http.host`).
    #[schema(min_length = 1, example = "127.0.0.1")]
    pub host: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            port: None,
            host: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `taskgate_gateway=debug,info` (`RUST_LOG` wins).
    #[schema(min_length = 1, example = "info")]
    pub level: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CpuKernels {
    #[default]
    Auto,
    Portable,
}

impl From<CpuKernels> for taskgate_runtime::cpu_kernels::KernelChoice {
    fn from(kernels: CpuKernels) -> Self {
        match kernels {
            CpuKernels::Auto => Self::Auto,
            CpuKernels::Portable => Self::Portable,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            tls: None,
            cors: CorsConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::default(),
            grpc: GrpcConfig::default(),
            auth: AuthConfig::default(),
            server: ServerLimits::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            tracing: TracingConfig::default(),
            models_dir: "models".into(),
            max_concurrent_requests: 64,
            compute_threads: None,
            cpu_kernels: CpuKernels::Auto,
            shutdown_grace_seconds: 30,
            remote_health_check_ms: 10_000,
            models_load: LoadPolicy::default(),
            models_memory_bytes: None,
            models: vec![ModelConfig {
                id: "pii-rules".into(),
                serving: Serving::InProcess(ModuleSettings::PiiRules(Default::default())),
                max_concurrent_requests: None,
                load: None,
                pinned: false,
                chat_template: None,
            }],
            aliases: Vec::new(),
            training: TrainingConfig::default(),
            management: ManagementConfig::default(),
            model_mesh: ModelMeshConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("invalid config:\n{}", .0.iter().map(|e| format!("  {}: {}", key_of(&e.path), e.message)).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Model(#[from] ModuleError),
}

/// `/http/port` → `http.port`, `/models/0/id` → `models[0].id`.
fn key_of(pointer: &str) -> String {
    let mut key = String::new();
    for segment in pointer.split('/').skip(1) {
        if segment.chars().all(|c| c.is_ascii_digit()) && !segment.is_empty() {
            key.push_str(&format!("[{segment}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(&segment.replace("~1", "/").replace("~0", "~"));
        }
    }
    if key.is_empty() { "(root)".into() } else { key }
}

/// Where each layer of configuration comes from.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources {
    pub file: Option<PathBuf>,
    /// `(name, value)` pairs; only `TASKGATE_*` names other than `TASKGATE_CONFIG` are used.
    pub env: Vec<(String, String)>,
    /// CLI flags as `(dotted.key, value)`, applied last.
    pub overrides: Vec<(String, Value)>,
}

impl Config {
    pub fn load(sources: &ConfigSources) -> Result<Self, ConfigError> {
        let mut doc = match &sources.file {
            Some(path) => read_yaml(path)?,
            None => Value::Object(Map::new()),
        };
        if doc.is_null() {
            doc = Value::Object(Map::new());
        }
        for (var, raw) in &sources.env {
            let Some(key) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if var == CONFIG_FILE_ENV || key.is_empty() {
                continue;
            }
            let path: Vec<String> = key.split("__").map(|s| s.to_ascii_lowercase()).collect();
            let value = yaml_serde::from_str::<Value>(raw).unwrap_or(Value::String(raw.clone()));
            set_path(&mut doc, &path, value).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
        }
        for (key, value) in &sources.overrides {
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            set_path(&mut doc, &path, value.clone())
                .map_err(|message| ConfigError::Invalid(vec![FieldError::new(key, message)]))?;
        }
        Self::from_value(doc)
    }

    /// Validates a merged document and turns it into a `Config`.
    pub fn from_value(doc: Value) -> Result<Self, ConfigError> {
        let mut errors = validate(&doc);
        if errors.is_empty() {
            errors = crate::model_config::serving_errors(&doc);
        }
        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors));
        }
        let config: Self = serde_path_to_error::deserialize(doc).map_err(|e| {
            let pointer: String = e
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => Some(format!("/{index}")),
                    serde_path_to_error::Segment::Map { key } => Some(format!("/{key}")),
                    _ => None,
                })
                .collect();
            ConfigError::Invalid(vec![FieldError::new(pointer, e.into_inner().to_string())])
        })?;
        let model_ids = config.models.iter().map(|m| m.id.as_str()).collect();
        let mut errors = crate::aliases::check(&config.aliases, &model_ids);
        errors.extend(config.model_mesh_errors());
        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors));
        }
        Ok(config)
    }

    /// The SPI takes no keys: it may face only the pod (loopback or a unix socket), and
    /// ModelMesh needs a capacity to place models by.
    fn model_mesh_errors(&self) -> Vec<FieldError> {
        let mesh = &self.model_mesh;
        let mut errors = Vec::new();
        if !mesh.enabled {
            return errors;
        }
        if mesh.unix_socket.is_none() && !is_loopback(&mesh.host) {
            errors.push(FieldError::new(
                "/model_mesh/host",
                "the ModelMesh SPI takes no API keys, so it listens only on a loopback address                  or a unix_socket (the sidecar shares the pod)",
            ));
        }
        if mesh.capacity_bytes.is_none() && self.models_memory_bytes.is_none() {
            errors.push(FieldError::new(
                "/model_mesh/capacity_bytes",
                "ModelMesh places models by capacity: set capacity_bytes or models_memory_bytes",
            ));
        }
        errors
    }

    /// Where the ModelMesh SPI listens (TCP), when enabled on a port.
    pub fn model_mesh_listen_address(&self) -> String {
        socket_address(&self.model_mesh.host, self.model_mesh.port)
    }

    pub fn listen_address(&self) -> String {
        socket_address(&self.http.host, self.http.port)
    }

    pub fn grpc_listen_address(&self) -> String {
        socket_address(&self.grpc.host, self.grpc.port)
    }

    /// Where `/metrics` has a port of its own, if it has.
    pub fn metrics_listen_address(&self) -> Option<String> {
        let port = self.metrics.port.filter(|_| self.metrics.enabled)?;
        Some(socket_address(self.metrics_host(), port))
    }

    fn metrics_host(&self) -> &str {
        self.metrics.host.as_deref().unwrap_or(&self.http.host)
    }

    /// Hosts beyond loopback that this config binds, which then need keys (or an explicit
    /// `auth.disabled`).
    pub fn exposed_hosts(&self) -> Vec<&str> {
        let mut hosts = vec![self.http.host.as_str()];
        if self.grpc.enabled {
            hosts.push(self.grpc.host.as_str());
        }
        if self.metrics_listen_address().is_some() {
            hosts.push(self.metrics_host());
        }
        hosts.retain(|host| !is_loopback(host));
        hosts
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`; any other name or address may face a network.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn socket_address(host: &str, port: u32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The config's JSON Schema (also written to `schemas/json/Config.json`).
pub fn schema() -> Value {
    taskgate_schemas::json_schema::standalone::<Config>()
}

fn validate(doc: &Value) -> Vec<FieldError> {
    let mut validators = crate::validation::Validators::default();
    validators.insert("config", &schema());
    validators.check("config", doc)
}

fn read_yaml(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    yaml_serde::from_str(&text).map_err(|e| ConfigError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn set_path(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut node = doc;
    for (depth, segment) in parents.iter().enumerate() {
        let map = node
            .as_object_mut()
            .ok_or_else(|| format!("'{}' is not a map", path[..depth].join(".")))?;
        node = map
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let map = node
        .as_object_mut()
        .ok_or_else(|| format!("'{}' is not a map", parents.join(".")))?;
    map.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
