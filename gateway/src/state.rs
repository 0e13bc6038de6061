//! What every handler of every wire shares: the models, the validators, the authorization
//! policy, limits and the training jobs. Its own file, depending on none of the routes or
//! services, so they depend on it and the builder on them, with no cycle.

use std::sync::Arc;

use taskgate_modules::tuning::TrainingManager;
use taskgate_modules::{ModelRegistry, TaskError};
use taskgate_runtime::Permit;
use taskgate_schemas::{ModelInfo, ModelsInfo, RuntimeInfo};

use crate::aliases::AliasTable;
use crate::auth::{Authorizer, Credentials, Principal};
use crate::call_limits::{CallLimits, CallSlots};
use crate::management::Management;
use crate::metrics::Metrics;
use crate::reload::ReloadReport;
use crate::validation::Validators;

/// Model metadata any caller may see: its state, health and the longest list a call may
/// send, never endpoints, paths, load errors or training records.
const PUBLIC_METADATA: &[&str] = &["healthy", "circuit", "state", "max_client_batch_size"];

/// Unix seconds now.
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    /// Unix seconds when this state was built: when the server began serving its models.
    started_at: u64,
}

/// The parts of [`AppState`], as the gateway builder assembles them.
pub struct Shared {
    pub registry: ModelRegistry,
    /// The route names of the tasks served.
    pub task_names: Vec<&'static str>,
    pub validators: Validators,
    pub authorizer: Arc<dyn Authorizer>,
    pub limits: CallLimits,
    /// Slots for `limits.max_in_flight_calls` calls.
    pub call_slots: CallSlots,
    pub metrics: Arc<Metrics>,
    pub training: Option<TrainingManager>,
    /// Deploying models while serving, when the server offers it.
    pub management: Option<Arc<Management>>,
    /// Names routed to other models, replaced on config reload.
    pub aliases: AliasTable,
    /// How config reloads went, when the server reloads its config.
    pub config_reload: Option<ReloadReport>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
            started_at: unix_seconds(),
        }
    }

    /// Unix seconds when the server began serving.
    pub fn started_at(&self) -> u64 {
        self.started_at
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

    /// Who presents `credentials`, or the refusal that is the call's answer.
    pub fn authenticate(
        &self,
        credentials: &Credentials,
    ) -> Result<Principal, crate::error::ApiError> {
        self.authorizer().authenticate(credentials)
    }

    /// When a call that sets no deadline of its own gives up.
    pub fn default_deadline(&self) -> Option<tokio::time::Instant> {
        self.shared
            .limits
            .call_timeout
            .map(|timeout| tokio::time::Instant::now() + timeout)
    }

    pub fn task_names(&self) -> &[&'static str] {
        &self.shared.task_names
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    pub fn call_slots(&self) -> &CallSlots {
        &self.shared.call_slots
    }

    pub fn limits(&self) -> &CallLimits {
        &self.shared.limits
    }

    /// A slot among the calls the gateway reads or runs at once, or a 429 when none is free.
    pub fn admit_call(&self) -> Result<Permit, crate::error::ApiError> {
        self.shared.call_slots.admit()
    }

    pub fn aliases(&self) -> &AliasTable {
        &self.shared.aliases
    }

    /// Model management, when this gateway offers it.
    pub fn management(&self) -> Option<&Management> {
        self.shared.management.as_deref()
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
            config_reload: self
                .shared
                .config_reload
                .as_ref()
                .and_then(ReloadReport::snapshot),
        }
    }

    /// Every model the caller may use, or those named (the first unknown or forbidden name
    /// fails the call as not found, so a key learns nothing of models beyond its scopes). Paths
    /// and metadata (endpoints, training records) are shown to admins only.
    pub fn models_info(
        &self,
        principal: &Principal,
        wanted: &[String],
    ) -> Result<ModelsInfo, TaskError> {
        let registry = self.registry();
        let visible = |id: &str| principal.may_use_model(id);
        let models: Vec<ModelInfo> = if wanted.is_empty() {
            registry
                .statuses()
                .into_iter()
                .map(|status| status.info)
                .filter(|m| visible(&m.name))
                .collect()
        } else {
            wanted
                .iter()
                .map(|id| {
                    if !visible(id) {
                        return Err(TaskError::ModelNotFound(id.clone()));
                    }
                    registry.status(id).map(|status| status.info)
                })
                .collect::<Result<_, _>>()?
        };
        let models = models
            .into_iter()
            .map(|mut info| {
                if !principal.is_admin() {
                    info.model_path = None;
                    info.metadata
                        .retain(|key, _| PUBLIC_METADATA.contains(&key.as_str()));
                }
                info
            })
            .collect();
        Ok(ModelsInfo { models })
    }
}
