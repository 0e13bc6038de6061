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
}
