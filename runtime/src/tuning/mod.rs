//! Training in process: trainers report progress to a [`TrainingObserver`] (which can stop
//! them within one step) and write what they learn with [`durable`] writes, never half a file.

pub mod classifier_head;
pub mod durable;
pub mod encoder_top;
pub mod error;
pub mod head_training;
pub mod progress;
pub mod prompt;

pub use classifier_head::{ClassifierHead, HeadExamples, HeadSettings};
pub use encoder_top::{EncodedTexts, TrainableEncoderTop};
pub use error::TuningError;
pub use head_training::{Features, Trainable};
pub use progress::{EpochReport, StepReport, TrainingObserver};
