//! Settings shared by the in-process encoder modules (`config:` of a model).

use std::path::PathBuf;

use serde::Deserialize;
use taskgate_runtime::BatchingConfig;
use utoipa::ToSchema;

use crate::framework::settings::{positive, struct_settings};
use crate::{ModelSpec, ModuleError};

/// Texts one request may carry (`max_client_batch_size`).
pub const DEFAULT_MAX_CLIENT_BATCH_SIZE: usize = 64;

/// An in-process encoder: where its files are and how its calls are batched.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EncoderSettings {
    /// The model directory (default: the directory the model was found in).
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, example = "models/all-minilm")]
    pub path: Option<PathBuf>,
    /// Most tokens one forward pass batches together (default 16384).
    #[serde(default)]
    #[schema(minimum = 1, example = 16384)]
    pub max_batch_tokens: Option<u64>,
    /// Most texts one call may send (default 64); longer lists are refused with 400.
    #[serde(default)]
    #[schema(minimum = 1, example = 64)]
    pub max_client_batch_size: Option<u64>,
    /// Texts waiting for a forward pass before calls are refused with 429 (default: the
    /// model's `max_concurrent_requests`).
    #[serde(default)]
    #[schema(minimum = 1, example = 64)]
    pub queue_capacity: Option<u64>,
}

struct_settings!(EncoderSettings);

/// An encoder's settings with defaults applied and values checked.
pub struct EncoderSetup {
    pub path: PathBuf,
    pub batching: BatchingConfig,
    pub max_client_batch_size: usize,
}

impl EncoderSettings {
    pub fn setup(&self, spec: &ModelSpec) -> Result<EncoderSetup, ModuleError> {
        let defaults = BatchingConfig::default();
        let count = |key: &str, value: Option<u64>, default: usize| {
            positive(key, value, default).map_err(|e| spec.config_error(&e.key, e.reason))
        };
        Ok(EncoderSetup {
            path: spec.model_path(self.path.as_deref())?,
            batching: BatchingConfig {
                max_batch_tokens: count(
                    "max_batch_tokens",
                    self.max_batch_tokens,
                    defaults.max_batch_tokens,
                )?,
                queue_capacity: count(
                    "queue_capacity",
                    self.queue_capacity,
                    spec.max_concurrent_requests,
                )?,
            },
            max_client_batch_size: count(
                "max_client_batch_size",
                self.max_client_batch_size,
                DEFAULT_MAX_CLIENT_BATCH_SIZE,
            )?,
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
