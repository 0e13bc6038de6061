//! What every handler of every wire shares: the models, the validators, the authorization
//! policy, limits and the training jobs. Its own file, depending on none of the routes or
//! services, so they depend on it and the builder on them, with no cycle.

use std::sync::Arc;

use taskgate_modules::tuning::TrainingManager;
use taskgate_modules::{ModelRegistry, TaskError};
use taskgate_schemas::{ModelsInfo, RuntimeInfo};

use crate::authorize::Authorizer;
use crate::validation::Validators;

#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

/// The parts of [`AppState`], as the gateway builder assembles them.
pub struct Shared {
    pub registry: ModelRegistry,
    /// The route names of the tasks served.
    pub task_names: Vec<&'static str>,
    pub validators: Validators,
    pub authorizer: Arc<dyn Authorizer>,
    pub max_body_bytes: usize,
    pub training: Option<TrainingManager>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }

    pub fn registry(&self) -> &ModelRegistry {
        &self.shared.registry
    }

    pub fn validators(&self) -> &Validators {
        &self.shared.validators
    }

    pub fn authorizer(&self) -> &dyn Authorizer {
        self.shared.authorizer.as_ref()
    }

    pub fn task_names(&self) -> &[&'static str] {
        &self.shared.task_names
    }

    pub fn max_body_bytes(&self) -> usize {
        self.shared.max_body_bytes
    }

    /// The training job manager, unless training is disabled.
    pub fn training(&self) -> Option<&TrainingManager> {
        self.shared.training.as_ref()
    }

    /// The runtime version and the tasks this build routes (REST `/info/version`, gRPC
    /// `GetRuntimeInfo`).
    pub fn runtime_info(&self) -> RuntimeInfo {
        RuntimeInfo {
            runtime_version: env!("CARGO_PKG_VERSION").to_string(),
            api_version: "v1".to_string(),
            tasks: self.task_names().iter().map(|t| t.to_string()).collect(),
        }
    }

    /// Every model, or those named (the first unknown name fails the call).
    pub fn models_info(&self, wanted: &[String]) -> Result<ModelsInfo, TaskError> {
        let registry = self.registry();
        let models = if wanted.is_empty() {
            registry.models().iter().map(|m| m.info()).collect()
        } else {
            wanted
                .iter()
                .map(|id| registry.get(id).map(|m| m.info()))
                .collect::<Result<_, _>>()?
        };
        Ok(ModelsInfo { models })
    }
}
