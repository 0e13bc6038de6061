use taskgate_runtime::RuntimeError;
use taskgate_schemas::FieldError;

/// Why a task call failed. The gateway maps each variant to one HTTP status and gRPC code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// The request is well-formed but not acceptable (e.g. too long for the model).
    #[error("{message}")]
    InvalidArgument {
        message: String,
        fields: Vec<FieldError>,
    },
    #[error("Model '{0}' not loaded")]
    ModelNotFound(String),
    /// The model is known but cannot serve now: its load failed, or the memory budget has no
    /// room for it. Calls may retry after `retry_after`.
    #[error("Model '{model}' is unavailable: {reason}")]
    ModelUnavailable {
        model: String,
        reason: String,
        retry_after: std::time::Duration,
    },
    #[error("Model '{model}' does not serve {task}; it serves: {}", serves.join(", "))]
    TaskNotServed {
        model: String,
        task: String,
        serves: Vec<String>,
    },
    #[error("training '{0}' not found")]
    TrainingNotFound(String),
    /// The request is valid but the thing it names is not in a state that allows it (a job
    /// deleted while it still runs).
    #[error("{0}")]
    Conflict(String),
    #[error("request cancelled")]
    Cancelled,
    #[error("{0}")]
    DeadlineExceeded(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl TaskError {
    /// An invalid value in one field of the request.
    pub fn invalid_field(path: impl Into<String>, message: impl Into<String>) -> Self {
        let field = FieldError::new(path, message);
        Self::invalid_fields(vec![field])
    }

    /// Invalid values in several fields, all reported at once.
    pub fn invalid_fields(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self::InvalidArgument { message, fields }
    }
}

/// Why a model could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModuleError {
    #[error("model '{model}': unknown module '{module}' (known modules: {})", known.join(", "))]
    UnknownModule {
        model: String,
        module: String,
        known: Vec<String>,
    },
    #[error("model '{model}': config key '{key}': {reason}")]
    InvalidConfig {
        model: String,
        key: String,
        reason: String,
    },
    #[error("model '{0}' is defined twice")]
    DuplicateModel(String),
    #[error("model '{model}': {source}")]
    Runtime { model: String, source: RuntimeError },
    #[error("training: {0}")]
    Training(String),
}
