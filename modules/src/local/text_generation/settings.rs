//! The `text-generation` module's settings: which GGUF file, and how many sequences the engine
//! runs and queues.

use std::path::PathBuf;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::framework::settings::struct_settings;

/// `config:` of a `text-generation` model.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextGenerationSettings {
    /// The `.gguf` file, or a directory holding exactly one (default: the directory the model
    /// was found in).
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, example = "models/smollm2")]
    pub path: Option<PathBuf>,
    /// Sequences generated at once, in one batch (default 4).
    #[serde(default)]
    #[schema(minimum = 1, example = 4)]
    pub max_sequences: Option<u64>,
    /// Requests waiting for a free sequence before calls are refused with 429 (default: the
    /// model's `max_concurrent_requests`).
    #[serde(default)]
    #[schema(minimum = 1, example = 64)]
    pub queue_capacity: Option<u64>,
    /// Tokens of prompt and output one sequence may hold (default: the model's own context
    /// length, which it may not exceed).
    #[serde(default)]
    #[schema(minimum = 1, example = 2048)]
    pub context_length: Option<u64>,
}

struct_settings!(TextGenerationSettings);
