//! Settings shared by the in-process encoder modules (`config:` of a model).

use std::path::PathBuf;

use serde_json::{Map, Value};
use taskgate_runtime::BatchingConfig;

use crate::module_config::ModuleConfig;
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
        let allowed: Vec<&str> = COMMON_KEYS.iter().chain(extra_keys).copied().collect();
        let config = ModuleConfig::parse(spec, &allowed)?;
        let defaults = BatchingConfig::default();
        Ok(Self {
            path: config.path()?,
            batching: BatchingConfig {
                max_batch_tokens: config.positive("max_batch_tokens", defaults.max_batch_tokens)?,
                queue_capacity: config.positive("queue_capacity", spec.max_concurrent_requests)?,
            },
            max_client_batch_size: config
                .positive("max_client_batch_size", DEFAULT_MAX_CLIENT_BATCH_SIZE)?,
            extra: extra_keys
                .iter()
                .filter_map(|k| config.get(k).map(|v| (k.to_string(), v.clone())))
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
