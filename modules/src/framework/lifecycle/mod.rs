//! A model's life in the registry: `REGISTERED → LOADING → LOADED`, or `FAILED` with its reason,
//! and `UNLOADING` while it leaves. Models load on their first call (lazy) or at start (eager),
//! one load at a time, each model loaded once however many calls wait for it; a memory budget
//! unloads the least recently used idle model to make room; a lease held by every call keeps
//! its model from being unloaded under it.

mod entry;
mod lease;
mod loading;
mod memory;
mod source;

pub(crate) use entry::{Entry, Phase};
pub use lease::ModelLease;
pub use loading::is_budget_refusal;
pub use memory::{Memory, files_bytes};
pub use source::{BuildFn, LoadPolicy, ModelSource};

use serde::Serialize;

/// Where a model is in its life, as `/info/models` and health checks show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModelState {
    /// Known, not loaded: its first call (or a load request) loads it.
    Registered,
    Loading,
    Loaded,
    /// Its last load failed; it is retried with backoff.
    Failed,
    /// Leaving: its calls still in flight finish on it, new calls do not reach it.
    Unloading,
}

impl ModelState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "REGISTERED",
            Self::Loading => "LOADING",
            Self::Loaded => "LOADED",
            Self::Failed => "FAILED",
            Self::Unloading => "UNLOADING",
        }
    }

    pub const ALL: [ModelState; 5] = [
        Self::Registered,
        Self::Loading,
        Self::Loaded,
        Self::Failed,
        Self::Unloading,
    ];

    /// Whether a call to a model in this state can be answered (now, or after its load).
    pub fn callable(self) -> bool {
        matches!(self, Self::Registered | Self::Loading | Self::Loaded)
    }
}
