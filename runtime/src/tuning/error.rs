use std::path::PathBuf;

/// Why a training run stopped without a model.
#[derive(Debug, thiserror::Error)]
pub enum TuningError {
    /// The data or settings cannot be trained on (named in the message).
    #[error("{0}")]
    Invalid(String),
    /// The observer asked to stop.
    #[error("canceled")]
    Canceled,
    #[error("training failed: {0}")]
    Failed(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
}

impl From<crate::RuntimeError> for TuningError {
    fn from(e: crate::RuntimeError) -> Self {
        Self::Failed(e.to_string())
    }
}

impl From<candle_core::Error> for TuningError {
    fn from(e: candle_core::Error) -> Self {
        Self::Failed(e.to_string())
    }
}
