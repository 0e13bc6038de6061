//! Models deployed and undeployed while serving (Caikit's `ModelManagement`, and taskgate's
//! typed deploys), kept in a state file so they survive a restart; and loading and unloading
//! any model on request. Every route here needs the `admin` scope.

pub mod confine;
mod request;
mod store;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value};
use taskgate_modules::framework::lifecycle::is_budget_refusal;
use taskgate_modules::{LoadPolicy, ModelRegistry, ModelSpec, ModuleCatalog, TaskError};
use taskgate_runtime::RuntimeError;
use taskgate_runtime::tuning::durable;
use taskgate_schemas::ModelInfo;
use tokio::sync::Mutex;

pub use request::{DeployModelRequest, ModelFile, ModelStateAnswer, UndeployModelRequest};
pub use store::{Deployment, DeploymentStore};

use crate::aliases::AliasTable;
use crate::error::ApiError;
use crate::model_config::ModelConfig;

/// Files one deploy may write.
const MAX_FILES: usize = 1024;

/// What a deployed model gets when its request does not say.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub max_concurrent_requests: usize,
    pub load: LoadPolicy,
}

pub struct Management {
    registry: ModelRegistry,
    catalog: ModuleCatalog,
    models_dir: PathBuf,
    defaults: Defaults,
    /// Deploys and undeploys run one at a time: each checks, then changes the registry, the
    /// files and the state file together.
    store: Mutex<DeploymentStore>,
    /// A deployed model may not take an alias's name: calls of it would reach the alias.
    aliases: AliasTable,
}

fn field(path: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Task(TaskError::invalid_field(path, reason))
}

fn unavailable(reason: String) -> ApiError {
    ApiError::Task(TaskError::Runtime(RuntimeError::Unavailable(reason)))
}

/// The same rule as a config file's model ids.
pub(crate) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Management {
    /// Registers every stored deployment with `registry` (one that cannot be read any more is
    /// logged and left in the file, so fixing the cause serves it again).
    pub fn new(
        registry: ModelRegistry,
        store: DeploymentStore,
        models_dir: PathBuf,
        defaults: Defaults,
    ) -> Self {
        let stored = store.all().clone();
        let management = Self {
            registry,
            catalog: ModuleCatalog::standard(),
            models_dir,
            defaults,
            store: Mutex::new(store),
            aliases: AliasTable::default(),
        };
        for (id, deployment) in &stored {
            let registered = management.spec(id, deployment).and_then(|spec| {
                management
                    .registry
                    .register(id, spec.source(management.catalog))
                    .map_err(|e| e.to_string())
            });
            match registered {
                Ok(()) => tracing::info!(model = %id, "deployed model registered"),
                Err(reason) => {
                    tracing::error!(model = %id, %reason, "a deployed model cannot be served")
                }
            }
        }
        management
    }

    /// Refuses deploys named like these aliases.
    pub fn with_aliases(mut self, aliases: AliasTable) -> Self {
        self.aliases = aliases;
        self
    }

    /// The ids a state file holds: the models directory scan leaves them to it.
    pub fn stored_ids(store: &DeploymentStore) -> BTreeSet<String> {
        store.all().keys().cloned().collect()
    }

    /// The spec a stored deployment describes.
    fn spec(&self, id: &str, deployment: &Deployment) -> Result<ModelSpec, String> {
        let spec = if deployment.files {
            let dir = self.models_dir.join(id);
            let manifest = taskgate_runtime::discovery::read_model_dir(&dir)?;
            let mut spec = ModelSpec::parse(id, &manifest.module, manifest.config)
                .map_err(|e| e.to_string())?;
            spec.path = Some(dir);
            spec.max_concurrent_requests = self.defaults.max_concurrent_requests;
            spec.load = match deployment.entry.get("load").and_then(Value::as_str) {
                Some("lazy") => LoadPolicy::Lazy,
                Some(_) => LoadPolicy::Eager,
                None => self.defaults.load,
            };
            spec.pinned = deployment.entry.get("pinned").and_then(Value::as_bool) == Some(true);
            spec
        } else {
            let mut entry = deployment.entry.clone();
            entry.insert("id".into(), id.into());
            let model: ModelConfig =
                serde_json::from_value(Value::Object(entry)).map_err(|e| e.to_string())?;
            let mut spec = ModelSpec::new(&model.id, model.settings());
            spec.max_concurrent_requests = model
                .max_concurrent_requests
                .unwrap_or(self.defaults.max_concurrent_requests);
            spec.load = model.load.unwrap_or(self.defaults.load);
            spec.pinned = model.pinned;
            spec.chat_template = model.chat_template;
            spec
        };
        Ok(spec)
    }

    /// Deploys a model: checks the request whole, writes its files (Caikit's form), registers
    /// it and, unless it is lazy, loads it; a model that fails to load is not kept. Then the
    /// deployment is saved, and the answer is the model as `/info/models` shows it.
    pub async fn deploy(&self, request: DeployModelRequest) -> Result<ModelInfo, ApiError> {
        let mut files = Vec::with_capacity(request.model_files.len());
        for (i, file) in request.model_files.iter().enumerate() {
            let data = base64::engine::general_purpose::STANDARD
                .decode(file.data.as_bytes())
                .map_err(|e| {
                    field(
                        &format!("/model_files/{i}/data"),
                        format!("not base64: {e}"),
                    )
                })?;
            files.push((file.filename.clone(), data));
        }
        self.deploy_decoded(request, files).await
    }

    /// Caikit's gRPC `DeployModel`: the model's files, as bytes.
    pub async fn deploy_files(
        &self,
        model_id: String,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<ModelInfo, ApiError> {
        if files.is_empty() {
            return Err(field("/model_files", "give the model's files"));
        }
        let request = DeployModelRequest {
            model_id,
            model_files: Vec::new(),
            module: None,
            config: None,
            backend: None,
            load: None,
            pinned: false,
            max_concurrent_requests: None,
        };
        self.deploy_decoded(request, files).await
    }

    /// [`Self::deploy`] with the files' bytes decoded (`request.model_files` is not read).
    async fn deploy_decoded(
        &self,
        request: DeployModelRequest,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<ModelInfo, ApiError> {
        let id = request.model_id.clone();
        if !valid_id(&id) {
            return Err(field(
                "/model_id",
                "a model id is 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ));
        }
        let mut store = self.store.lock().await;
        if self.registry.contains(&id)
            || store.contains(&id)
            || self.aliases.current().contains(&id)
        {
            return Err(ApiError::ModelExists(id));
        }
        let forms = [
            !files.is_empty(),
            request.module.is_some(),
            request.backend.is_some(),
        ];
        if forms.iter().filter(|&&f| f).count() != 1 {
            return Err(field(
                "",
                "give exactly one of `model_files` (Caikit's form), `module` (with `config`) or `backend`",
            ));
        }
        let deployment = if files.is_empty() {
            self.typed_deployment(&request)?
        } else {
            self.write_files(&id, files).await?;
            let mut entry = Map::new();
            if let Some(load) = request.load {
                entry.insert("load".into(), load.as_str().into());
            }
            if request.pinned {
                entry.insert("pinned".into(), true.into());
            }
            Deployment { files: true, entry }
        };
        let undo_files = |this: &Self| {
            if deployment.files {
                let _ = durable::remove_dir(&this.models_dir.join(&id));
            }
        };
        let spec = match self.spec(&id, &deployment) {
            Ok(spec) => spec,
            Err(reason) => {
                undo_files(self);
                let path = if deployment.files { "/model_files" } else { "" };
                return Err(field(path, reason));
            }
        };
        if let Err(error) = self.registry.register(&id, spec.source(self.catalog)) {
            undo_files(self);
            return Err(field("/model_id", error.to_string()));
        }
        if spec.load == LoadPolicy::Eager
            && let Err(error) = self.registry.load(&id).await
        {
            self.registry.remove(&id);
            undo_files(self);
            // A model that cannot be built is the request's to fix; a full budget may clear.
            return Err(match error {
                TaskError::ModelUnavailable { reason, .. } if !is_budget_refusal(&reason) => {
                    field("", format!("the model failed to load: {reason}"))
                }
                other => other.into(),
            });
        }
        if let Err(reason) = store.change(&id, Some(deployment.clone())) {
            self.registry.remove(&id);
            undo_files(self);
            return Err(unavailable(format!(
                "the deployment could not be saved: {reason}"
            )));
        }
        tracing::info!(model = %id, "model deployed");
        Ok(self.registry.status(&id)?.info)
    }

    /// taskgate's form: the entry of a config file's `models:`, with its paths confined to
    /// `models_dir` (and made absolute, so the config's relative-to-the-working-directory
    /// rule does not apply to them).
    fn typed_deployment(&self, request: &DeployModelRequest) -> Result<Deployment, ApiError> {
        let mut entry = Map::new();
        if let Some(module) = &request.module {
            entry.insert("module".into(), module.clone().into());
        }
        if let Some(mut config) = request.config.clone() {
            self.confine(&mut config, "/config", &["path"])?;
            entry.insert("config".into(), config);
        }
        if let Some(mut backend) = request.backend.clone() {
            if let Some(tls) = backend.get_mut("tls") {
                self.confine(tls, "/backend/tls", &["ca_file", "cert_file", "key_file"])?;
            }
            entry.insert("backend".into(), backend);
        }
        if let Some(load) = request.load {
            entry.insert("load".into(), load.as_str().into());
        }
        if request.pinned {
            entry.insert("pinned".into(), true.into());
        }
        if let Some(max) = request.max_concurrent_requests {
            entry.insert("max_concurrent_requests".into(), max.into());
        }
        Ok(Deployment {
            files: false,
            entry,
        })
    }

    /// Replaces each of `keys` in `object` (a path relative to `models_dir`, or absolute) with
    /// the absolute path it names, refusing one outside `models_dir`.
    fn confine(&self, object: &mut Value, at: &str, keys: &[&str]) -> Result<(), ApiError> {
        for key in keys {
            let Some(value) = object.get_mut(*key) else {
                continue;
            };
            let Some(given) = value.as_str() else {
                continue;
            };
            let resolved = confine::existing_inside(&self.models_dir, given)
                .map_err(|reason| field(&format!("{at}/{key}"), reason))?;
            *value = resolved.display().to_string().into();
        }
        Ok(())
    }

    /// Caikit's form: the files, checked whole, written into a hidden sibling and renamed
    /// to `models_dir/<id>` at once; off the async workers, as they may be large.
    async fn write_files(&self, id: &str, given: Vec<(String, Vec<u8>)>) -> Result<(), ApiError> {
        if given.len() > MAX_FILES {
            return Err(field(
                "/model_files",
                format!("at most {MAX_FILES} files per deploy"),
            ));
        }
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::with_capacity(given.len());
        for (i, (name, data)) in given.into_iter().enumerate() {
            if !confine::plain_relative(&name) {
                return Err(field(
                    &format!("/model_files/{i}/filename"),
                    "a file name must be a relative path of at most 255 bytes without '.' or '..' parts",
                ));
            }
            if files.iter().any(|(seen, _)| seen == Path::new(&name)) {
                return Err(field(
                    &format!("/model_files/{i}/filename"),
                    format!("'{name}' is given twice"),
                ));
            }
            files.push((PathBuf::from(name), data));
        }
        let target = self.models_dir.join(id);
        if target.exists() {
            return Err(ApiError::ModelExists(id.to_string()));
        }
        let staged = durable::temporary_sibling(&target);
        let written = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let _ = std::fs::remove_dir_all(&staged);
            for (name, data) in &files {
                let path = staged.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(&path, data).map_err(|e| e.to_string())?;
            }
            let manifest = taskgate_runtime::discovery::read_model_dir(&staged);
            let manifest = match manifest {
                Ok(manifest) => manifest,
                Err(reason) => {
                    let _ = std::fs::remove_dir_all(&staged);
                    return Err(format!("not a model directory: {reason}"));
                }
            };
            if manifest.config.get("path").is_some() {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(
                    "a deployed model's files are its directory: its taskgate.yaml may not name a `path`"
                        .into(),
                );
            }
            durable::publish_dir(&staged, &target).map_err(|e| {
                let _ = std::fs::remove_dir_all(&staged);
                e.to_string()
            })
        })
        .await
        .map_err(|_| unavailable("writing the model's files panicked".into()))?;
        written.map_err(|reason| field("/model_files", reason))
    }

    /// Undeploys a model deployed here: it stops serving at once (its calls in flight
    /// finish), its deployment is forgotten and files a Caikit deploy wrote are removed.
    pub async fn undeploy(&self, id: &str) -> Result<UndeployModelRequest, ApiError> {
        let mut store = self.store.lock().await;
        let Some(deployment) = store.get(id).cloned() else {
            if self.registry.contains(id) {
                return Err(TaskError::Conflict(format!(
                    "model '{id}' was not deployed through the management API (it comes from \
                     the config file, the models directory or a training job); remove it there"
                ))
                .into());
            }
            return Err(TaskError::ModelNotFound(id.to_string()).into());
        };
        store
            .change(id, None)
            .map_err(|reason| unavailable(format!("the undeploy could not be saved: {reason}")))?;
        self.registry.remove(id);
        if deployment.files
            && let Err(e) = durable::remove_dir(&self.models_dir.join(id))
        {
            tracing::warn!(model = %id, error = %e, "an undeployed model's files could not be removed");
        }
        tracing::info!(model = %id, "model undeployed");
        Ok(UndeployModelRequest {
            model_id: id.to_string(),
        })
    }

    /// Loads a model now and waits for it.
    pub async fn load(&self, id: &str) -> Result<ModelStateAnswer, ApiError> {
        self.registry.load(id).await?;
        self.state_of(id)
    }

    /// Unloads a model once its calls in flight end; its next call loads it again.
    pub async fn unload(&self, id: &str) -> Result<ModelStateAnswer, ApiError> {
        self.registry.unload(id).await?;
        self.state_of(id)
    }

    fn state_of(&self, id: &str) -> Result<ModelStateAnswer, ApiError> {
        let state = self
            .registry
            .state(id)
            .ok_or_else(|| TaskError::ModelNotFound(id.to_string()))?;
        Ok(ModelStateAnswer {
            model_id: id.to_string(),
            state: state.as_str().to_string(),
        })
    }

    /// The deployments, held: no deploy or undeploy runs until the guard is dropped.
    pub async fn deployments(&self) -> tokio::sync::MutexGuard<'_, DeploymentStore> {
        self.store.lock().await
    }

    /// Whether `id` was deployed here.
    pub async fn deployed(&self, id: &str) -> bool {
        self.store.lock().await.contains(id)
    }
}
