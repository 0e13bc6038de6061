//! Tuning: training jobs that turn a served base model and a team's records into a new model,
//! served under its own name as soon as it is trained.

pub mod classifier_training;
pub mod clock;
pub mod csv;
pub mod data_stream;
pub mod job_store;
pub mod manager;
pub mod memory;
pub mod prompt_tuning_training;
pub mod tuned_classifier;
pub mod tuned_generation;
pub mod viewer;

/// The file a trained model directory describes itself in.
pub const MANIFEST: &str = "tuned_model.json";

pub use data_stream::DataLimits;
pub use manager::{ModelLoader, TrainingManager, TrainingSettings};
pub use viewer::Viewer;

/// A JSON file as `T`, or why it cannot be read.
fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, String> {
    std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
}

/// A trained model directory's manifest, or why it cannot be read.
pub fn read_manifest<M: serde::de::DeserializeOwned>(dir: &std::path::Path) -> Result<M, String> {
    read_json(&dir.join(MANIFEST)).map_err(|e| format!("{MANIFEST}: {e}"))
}

/// The training id of a trained model directory (`<output>/<training_id>/<name>`), for
/// `/info/models`.
pub fn training_id_of(dir: &std::path::Path) -> serde_json::Value {
    dir.parent()
        .and_then(std::path::Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .into()
}
