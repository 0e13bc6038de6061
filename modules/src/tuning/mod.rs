//! Tuning: training jobs that turn a served base model and a team's records into a new model,
//! served under its own name as soon as it is trained.

pub mod classifier_training;
pub mod clock;
pub mod csv;
pub mod data_stream;
pub mod job_store;
pub mod manager;
pub mod tuned_classifier;

pub use data_stream::DataLimits;
pub use manager::{ModelLoader, TrainingManager, TrainingSettings};
