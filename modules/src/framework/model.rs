use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use taskgate_runtime::{Admission, Permit};
use taskgate_schemas::ModelInfo;

use crate::remote::health::{Probe, RemoteHealth};
use crate::{Predict, PredictStream, Task, TaskError};

/// Adds facts that change while serving (e.g. batching counters) to `/info/models`.
pub type LiveMetadata = Arc<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// Default for how many requests one model accepts in flight before answering "retry later".
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

/// A servable model: an id, the module implementing it, and one handler per task it serves.
pub struct Model {
    id: String,
    module: String,
    backend: String,
    path: Option<PathBuf>,
    size: u64,
    metadata: Map<String, Value>,
    live_metadata: Option<LiveMetadata>,
    /// Remote models only: how to check the remote is up.
    health: Option<Arc<RemoteHealth>>,
    admission: Admission,
    tasks: Vec<&'static str>,
    // Keyed by the TypeId of `Arc<dyn Predict<T>>` / `Arc<dyn PredictStream<T>>`, which keeps
    // the task set open: a new task needs no change here.
    handlers: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    /// What other modules may build on (e.g. a prompt-tuned model on its base's generation
    /// engine), keyed by type.
    extensions: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("module", &self.module)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

impl Model {
    pub fn builder(
        id: impl Into<String>,
        module: impl Into<String>,
        backend: impl Into<String>,
    ) -> ModelBuilder {
        let id = id.into();
        ModelBuilder {
            model: Model {
                admission: Admission::new(format!("model '{id}'"), DEFAULT_MAX_CONCURRENT_REQUESTS),
                id,
                module: module.into(),
                backend: backend.into(),
                path: None,
                size: 0,
                metadata: Map::new(),
                live_metadata: None,
                health: None,
                tasks: Vec::new(),
                handlers: HashMap::new(),
                extensions: HashMap::new(),
            },
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Route names of the tasks this model serves.
    pub fn tasks(&self) -> &[&'static str] {
        &self.tasks
    }

    pub fn unary<T: Task>(&self) -> Result<Arc<dyn Predict<T>>, TaskError> {
        self.handler::<Arc<dyn Predict<T>>>(T::NAME)
    }

    pub fn streaming<T: Task>(&self) -> Result<Arc<dyn PredictStream<T>>, TaskError> {
        self.handler::<Arc<dyn PredictStream<T>>>(T::NAME)
    }

    fn handler<H: Clone + 'static>(&self, task: &str) -> Result<H, TaskError> {
        self.handlers
            .get(&TypeId::of::<H>())
            .and_then(|h| h.downcast_ref::<H>())
            .cloned()
            .ok_or_else(|| TaskError::TaskNotServed {
                model: self.id.clone(),
                task: task.to_string(),
                serves: self.tasks.iter().map(|t| t.to_string()).collect(),
            })
    }

    pub fn module(&self) -> &str {
        &self.module
    }

    /// The engine's accounting of the model's memory: the bytes of its weights (0 for remote
    /// models and modules that keep none).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The module's extension of type `E`, when it provides one.
    pub fn extension<E: Send + Sync + 'static>(&self) -> Option<Arc<E>> {
        let any = self.extensions.get(&TypeId::of::<E>())?.clone();
        any.downcast::<E>().ok()
    }

    /// This model with `extension` added (or replacing the one of its type).
    pub fn with_extension<E: Send + Sync + 'static>(mut self, extension: Arc<E>) -> Self {
        self.extensions.insert(TypeId::of::<E>(), extension);
        self
    }

    /// The remote's health check, for remote models.
    pub fn health(&self) -> Option<&Arc<RemoteHealth>> {
        self.health.as_ref()
    }

    /// Requests holding one of the model's slots now, and how many slots it has.
    pub fn in_flight(&self) -> (usize, usize) {
        (self.admission.in_flight(), self.admission.limit())
    }

    /// A slot for one request; refused at once when the model is at its concurrency limit.
    pub fn admit(&self) -> Result<Permit, TaskError> {
        Ok(self.admission.try_admit()?)
    }

    pub fn info(&self) -> ModelInfo {
        let mut metadata = self.metadata.clone();
        if let Some(live) = &self.live_metadata {
            live(&mut metadata);
        }
        if let Some(health) = &self.health {
            health.describe(&mut metadata);
        }
        ModelInfo {
            name: self.id.clone(),
            module: self.module.clone(),
            tasks: self.tasks.iter().map(|t| t.to_string()).collect(),
            backend: self.backend.clone(),
            loaded: true,
            size: self.size,
            model_path: self.path.as_ref().map(|p| p.display().to_string()),
            metadata,
        }
    }
}

pub struct ModelBuilder {
    model: Model,
}

impl ModelBuilder {
    pub fn serve<T: Task>(self, handler: Arc<dyn Predict<T>>) -> Self {
        self.insert::<Arc<dyn Predict<T>>>(T::NAME, handler)
    }

    pub fn serve_stream<T: Task>(self, handler: Arc<dyn PredictStream<T>>) -> Self {
        self.insert::<Arc<dyn PredictStream<T>>>(T::NAME, handler)
    }

    fn insert<H: Send + Sync + 'static>(mut self, task: &'static str, handler: H) -> Self {
        self.model
            .handlers
            .insert(TypeId::of::<H>(), Box::new(handler));
        if !self.model.tasks.contains(&task) {
            self.model.tasks.push(task);
        }
        self
    }

    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.model.admission = Admission::new(format!("model '{}'", self.model.id), limit);
        self
    }

    pub fn path(mut self, path: PathBuf) -> Self {
        self.model.path = Some(path);
        self
    }

    pub fn size(mut self, bytes: u64) -> Self {
        self.model.size = bytes;
        self
    }

    pub fn metadata(mut self, key: &str, value: Value) -> Self {
        self.model.metadata.insert(key.to_string(), value);
        self
    }

    /// How the gateway checks this remote model's runtime.
    pub fn health_check(mut self, probe: Probe) -> Self {
        self.model.health = Some(Arc::new(RemoteHealth::new(probe)));
        self
    }

    /// Offers `extension` to other modules ([`Model::extension`]).
    pub fn extension<E: Send + Sync + 'static>(mut self, extension: Arc<E>) -> Self {
        self.model.extensions.insert(TypeId::of::<E>(), extension);
        self
    }

    pub fn live_metadata(mut self, live: LiveMetadata) -> Self {
        self.model.live_metadata = Some(live);
        self
    }

    pub fn build(mut self) -> Model {
        self.model.tasks.sort_unstable();
        self.model
    }
}
