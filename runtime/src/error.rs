/// Failures of a runtime, independent of the task being served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// Too many requests in flight; the caller should retry later.
    #[error("{what} is overloaded: {limit} requests already in flight, retry later")]
    Overloaded { what: String, limit: usize },
    /// The runtime cannot serve right now (stopped, unhealthy, not ready).
    #[error("{0}")]
    Unavailable(String),
    /// Inference ran and failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// A remote runtime refused or failed the call; `backend` names it.
    #[error("{backend}: {message}")]
    Remote {
        backend: String,
        failure: RemoteFailure,
        message: String,
    },
}

/// How a remote call failed, which decides what the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteFailure {
    /// The remote judged the request invalid: the caller's to fix.
    Rejected,
    /// The remote is at capacity: retry later.
    Busy,
    /// The remote could not be reached.
    Unreachable,
    /// No answer within the configured time.
    TimedOut,
    /// The remote answered with an error of its own.
    Failed,
}

impl RemoteFailure {
    /// A bounded name, for metric labels and span attributes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Busy => "busy",
            Self::Unreachable => "unreachable",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
        }
    }
}
