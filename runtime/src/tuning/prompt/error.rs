use std::path::PathBuf;

use crate::RuntimeError;

/// Why prompt tuning, or reading or writing a soft prompt, failed.
#[derive(Debug, thiserror::Error)]
pub enum TuningError {
    /// A configuration value is out of range; the caller's to fix.
    #[error("invalid prompt-tuning configuration: {0}")]
    InvalidConfig(String),
    /// A training or validation record cannot be used; `index` counts from 0 within its set.
    #[error("{set} record {index}: {reason}")]
    InvalidRecord {
        set: RecordSet,
        index: usize,
        reason: String,
    },
    /// The soft prompt received no gradient: something between it and the loss does not record
    /// a backward pass (candle drops such gradients without an error).
    #[error("step {step}: the soft prompt received no gradient")]
    NoGradient { step: usize },
    /// The gradient overflowed or became NaN; continuing would corrupt the prompt.
    #[error("step {step}: the soft prompt's gradient is not finite (norm {norm})")]
    NonFiniteGradient { step: usize, norm: f32 },
    /// Loading the model or its tokenizer failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A tensor operation failed.
    #[error("tensor computation failed: {0}")]
    Compute(#[from] candle_core::Error),
    /// A soft prompt file could not be written or read.
    #[error("soft prompt file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
}

/// Which set a bad record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSet {
    Training,
    Validation,
}

impl std::fmt::Display for RecordSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Training => "training",
            Self::Validation => "validation",
        })
    }
}
