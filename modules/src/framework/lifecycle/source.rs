use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Model, ModelRegistry, ModuleError};

/// When a model is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadPolicy {
    /// At start-up (the server answers once every eager model has loaded or failed).
    #[default]
    Eager,
    /// On its first call, which waits for the load.
    Lazy,
}

impl LoadPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eager => "eager",
            Self::Lazy => "lazy",
        }
    }
}

/// Builds a model; run on a blocking thread, never on the async workers. It gets the registry
/// so a model may build on another (a trained model on its base).
pub type BuildFn = Arc<dyn Fn(&ModelRegistry) -> Result<Model, ModuleError> + Send + Sync>;

/// How to (re)build a model, and what is known of it before it is built.
#[derive(Clone)]
pub struct ModelSource {
    /// The module that will serve it.
    pub module: String,
    /// `in-process`, or the remote runtime's kind.
    pub backend: String,
    /// Its files, when it has some: their size predicts its memory before the first load.
    pub files: Option<PathBuf>,
    pub policy: LoadPolicy,
    /// Never unloaded to make room.
    pub pinned: bool,
    build: BuildFn,
}

impl std::fmt::Debug for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSource")
            .field("module", &self.module)
            .field("backend", &self.backend)
            .field("files", &self.files)
            .field("policy", &self.policy)
            .field("pinned", &self.pinned)
            .finish_non_exhaustive()
    }
}

impl ModelSource {
    pub fn new(
        module: impl Into<String>,
        backend: impl Into<String>,
        build: impl Fn(&ModelRegistry) -> Result<Model, ModuleError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            module: module.into(),
            backend: backend.into(),
            files: None,
            policy: LoadPolicy::default(),
            pinned: false,
            build: Arc::new(build),
        }
    }

    pub fn files(mut self, files: Option<PathBuf>) -> Self {
        self.files = files;
        self
    }

    pub fn policy(mut self, policy: LoadPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn pinned(mut self, pinned: bool) -> Self {
        self.pinned = pinned;
        self
    }

    pub(crate) fn build(&self, registry: &ModelRegistry) -> Result<Model, ModuleError> {
        (self.build)(registry)
    }
}
