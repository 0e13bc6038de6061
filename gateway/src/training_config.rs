//! The `training:` section: where jobs and trained models are kept, where training files may be
//! read from, and how much training runs at once.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use taskgate_modules::tuning::{DataLimits, TrainingSettings};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Serve the training API (`/api/v1/*Train`, `/management/trainings`).
    pub enabled: bool,
    /// Job records and trained models (`<output_dir>/<training_id>/<model_name>`); trained
    /// models found here are served again at the next start.
    #[schema(min_length = 1, example = "training_output")]
    pub output_dir: String,
    /// Training files (`data_stream.file.filename`) are read only from inside this directory;
    /// without it, records must be sent inline.
    #[schema(min_length = 1, example = "training_data")]
    pub data_dir: Option<String>,
    /// Jobs trained at once, each on its own thread.
    #[schema(minimum = 1, maximum = 64, example = 1)]
    pub threads: usize,
    /// Jobs that may wait for a thread; more are refused with 429.
    #[schema(minimum = 1, example = 8)]
    pub queue: usize,
    /// Most records one data stream may hold.
    #[schema(minimum = 1, example = 100000)]
    pub max_records: usize,
    /// Largest training file read.
    #[schema(minimum = 1024, example = 268435456)]
    pub max_file_bytes: u64,
    /// The most memory one job may take by its estimate (activations and attention of its
    /// batch and sequence lengths, and its weights); a job over it is refused when submitted,
    /// naming the parameters that drive it.
    #[schema(minimum = 16777216, example = 17179869184u64)]
    pub max_memory_bytes: u64,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            output_dir: "training_output".into(),
            data_dir: None,
            threads: 1,
            queue: 8,
            max_records: 100_000,
            max_file_bytes: 256 * 1024 * 1024,
            max_memory_bytes: 16 << 30,
        }
    }
}

impl TrainingConfig {
    /// The manager's settings; trained models load as `load` says.
    pub fn settings(&self, load: taskgate_modules::LoadPolicy) -> TrainingSettings {
        TrainingSettings {
            output_dir: PathBuf::from(&self.output_dir),
            data: DataLimits {
                data_dir: self.data_dir.as_ref().map(PathBuf::from),
                max_records: self.max_records,
                max_file_bytes: self.max_file_bytes,
            },
            threads: self.threads,
            queue: self.queue,
            max_memory_bytes: self.max_memory_bytes,
            load,
        }
    }
}
