//! Settings shared by the in-process encoder modules (`config:` of a model).

use std::path::PathBuf;

use serde_json::{Map, Value};
use taskgate_runtime::BatchingConfig;

use crate::{ModelSpec, ModuleError};

/// Texts one request may carry (`max_client_batch_size`).
pub const DEFAULT_MAX_CLIENT_BATCH_SIZE: usize = 64;

pub struct EncoderSettings {
    pub path: PathBuf,
    pub batching: BatchingConfig,
    pub max_client_batch_size: usize,
    /// The module-specific keys (validated against the module's list).
    pub extra: Map<String, Value>,
}

const COMMON_KEYS: [&str; 4] = [
    "path",
    "max_batch_tokens",
    "max_client_batch_size",
    "queue_capacity",
];

impl EncoderSettings {
    /// Parses `spec.config`; `extra_keys` are the module's own keys.
    pub fn parse(spec: &ModelSpec, extra_keys: &[&str]) -> Result<Self, ModuleError> {
        let empty = Map::new();
        let config = match &spec.config {
            Value::Null => &empty,
            Value::Object(map) => map,
            other => return Err(spec.config_error("", format!("expected a map, got {other}"))),
        };
        let allowed: Vec<&str> = COMMON_KEYS.iter().chain(extra_keys).copied().collect();
        if let Some(unknown) = config.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(spec.config_error(
                unknown,
                format!("unknown key (expected one of: {})", allowed.join(", ")),
            ));
        }
        let positive = |key: &str, default: usize| -> Result<usize, ModuleError> {
            match config.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_u64()
                    .filter(|n| *n > 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| spec.config_error(key, "expected a positive integer")),
            }
        };
        let path = match (config.get("path"), &spec.path) {
            (Some(Value::String(p)), _) => PathBuf::from(p),
            (Some(_), _) => return Err(spec.config_error("path", "expected a directory path")),
            (None, Some(p)) => p.clone(),
            (None, None) => return Err(spec.config_error("path", "required: the model directory")),
        };
        let defaults = BatchingConfig::default();
        Ok(Self {
            path,
            batching: BatchingConfig {
                max_batch_tokens: positive("max_batch_tokens", defaults.max_batch_tokens)?,
                queue_capacity: positive("queue_capacity", spec.max_concurrent_requests)?,
            },
            max_client_batch_size: positive(
                "max_client_batch_size",
                DEFAULT_MAX_CLIENT_BATCH_SIZE,
            )?,
            extra: config
                .iter()
                .filter(|(k, _)| extra_keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }
}

/// A list input must be non-empty and within the client batch cap.
pub fn check_list(path: &str, len: usize, max: usize) -> Result<(), crate::TaskError> {
    if len == 0 {
        return Err(crate::TaskError::invalid_field(
            path,
            "must contain at least one text",
        ));
    }
    if len > max {
        return Err(crate::TaskError::invalid_field(
            path,
            format!("{len} texts is more than max_client_batch_size ({max})"),
        ));
    }
    Ok(())
}

/// Softmax of one logit row.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let exp: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|x| x / sum).collect()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
