//! KServe ModelMesh's model runtime SPI (`mmesh.ModelRuntime`): a ModelMesh sidecar in the
//! same pod places models across many taskgate replicas and loads, sizes and unloads them
//! here; inference reaches taskgate's own gRPC port with the model id in `mm-model-id`.
//! Models it loads are its own: pinned (ModelMesh decides evictions, taskgate's LRU never
//! takes them), registered beside the config's and the deployed ones, never touching those.

mod config;

use std::collections::BTreeSet;
use std::path::PathBuf;

use taskgate_modules::framework::lifecycle::files_bytes;
use taskgate_modules::{LoadPolicy, ModelRegistry, ModelSpec, ModuleCatalog, TaskError};
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};

pub use config::ModelMeshConfig;

use crate::aliases::AliasTable;
use crate::error::ApiError;
use crate::grpc::call;
use crate::grpc::pb::mmesh::model_runtime_server::{ModelRuntime, ModelRuntimeServer};
use crate::grpc::pb::mmesh::{self as pb, runtime_status_response};
use crate::management::confine;

/// The SPI over a registry.
pub struct ModelMeshRuntime {
    registry: ModelRegistry,
    catalog: ModuleCatalog,
    root: PathBuf,
    capacity_bytes: u64,
    default_model_size_bytes: u64,
    size_multiplier: f64,
    load_timeout_ms: u32,
    max_concurrent_requests: usize,
    /// The models ModelMesh loaded here; one change at a time.
    owned: Mutex<BTreeSet<String>>,
    /// Names a model may not take.
    aliases: AliasTable,
}

impl ModelMeshRuntime {
    pub fn new(
        registry: ModelRegistry,
        settings: &ModelMeshConfig,
        models_dir: &str,
        capacity_bytes: u64,
        max_concurrent_requests: usize,
        aliases: AliasTable,
    ) -> Self {
        Self {
            registry,
            catalog: ModuleCatalog::standard(),
            root: settings.models_root.as_deref().unwrap_or(models_dir).into(),
            capacity_bytes,
            default_model_size_bytes: settings.default_model_size_bytes,
            size_multiplier: settings.size_multiplier,
            load_timeout_ms: settings.load_timeout_ms,
            max_concurrent_requests,
            owned: Mutex::default(),
            aliases,
        }
    }

    /// The tonic service, for a router of its own.
    pub fn into_service(self) -> ModelRuntimeServer<Self> {
        ModelRuntimeServer::new(self)
    }

    fn path(&self, model_path: &str) -> Result<PathBuf, ApiError> {
        if model_path.is_empty() {
            return Err(invalid("/modelPath", "give the model's directory"));
        }
        confine::existing_inside(&self.root, model_path)
            .map_err(|reason| invalid("/modelPath", reason.replace("models_dir", "models_root")))
    }

    async fn load(&self, request: pb::LoadModelRequest) -> Result<pb::LoadModelResponse, ApiError> {
        let id = request.model_id;
        if !crate::management::valid_id(&id) {
            return Err(invalid(
                "/modelId",
                "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ));
        }
        {
            let mut owned = self.owned.lock().await;
            if self.aliases.current().contains(&id) {
                return Err(TaskError::Conflict(format!(
                    "'{id}' is an alias of this server; ModelMesh cannot load a model by that name"
                ))
                .into());
            }
            if self.registry.contains(&id) {
                if !owned.contains(&id) {
                    return Err(TaskError::Conflict(format!(
                        "model '{id}' is served already, from the config, a deployment or a \
                         training job; ModelMesh cannot load it"
                    ))
                    .into());
                }
            } else {
                let dir = self.path(&request.model_path)?;
                let manifest = taskgate_runtime::discovery::read_model_dir(&dir)
                    .map_err(|reason| invalid("/modelPath", reason))?;
                let mut spec = ModelSpec::parse(&id, &manifest.module, manifest.config)
                    .map_err(|e| invalid("/modelPath", e.to_string()))?;
                spec.path = Some(dir);
                spec.load = LoadPolicy::Eager;
                spec.pinned = true;
                spec.max_concurrent_requests = self.max_concurrent_requests;
                self.registry
                    .register(&id, spec.source(self.catalog))
                    .map_err(|e| TaskError::Conflict(e.to_string()))?;
                owned.insert(id.clone());
            }
        }
        tracing::info!(model = %id, "ModelMesh loads a model");
        if let Err(error) = self.registry.load(&id).await {
            // Nothing stays loaded after a failed load.
            self.forget(&id).await;
            return Err(error.into());
        }
        Ok(pb::LoadModelResponse {
            size_in_bytes: self.registry.charged_bytes(&id).unwrap_or(0),
            max_concurrency: u32::try_from(self.max_concurrent_requests).unwrap_or(u32::MAX),
        })
    }

    /// Unloads `id` when ModelMesh loaded it (its calls in flight finish first).
    async fn forget(&self, id: &str) -> bool {
        let mut owned = self.owned.lock().await;
        let forgotten = owned.remove(id);
        if forgotten {
            self.registry.remove(id);
        }
        forgotten
    }

    async fn unload(&self, id: &str) -> Result<(), ApiError> {
        if self.forget(id).await {
            tracing::info!(model = %id, "ModelMesh unloaded a model");
            return Ok(());
        }
        if self.registry.contains(id) {
            return Err(TaskError::Conflict(format!(
                "model '{id}' was not loaded by ModelMesh (it comes from the config, a \
                 deployment or a training job)"
            ))
            .into());
        }
        Ok(())
    }

    /// The model's last measured size, else its files' size with a margin (the files its
    /// manifest points to, else the directory), else the configured default.
    fn predicted(&self, request: &pb::PredictModelSizeRequest) -> Result<u64, ApiError> {
        if let Some(bytes) = self.registry.charged_bytes(&request.model_id) {
            return Ok(bytes);
        }
        let dir = self.path(&request.model_path)?;
        let files = taskgate_runtime::discovery::read_model_dir(&dir)
            .ok()
            .and_then(|manifest| {
                ModelSpec::parse(&request.model_id, &manifest.module, manifest.config).ok()
            })
            .and_then(|mut spec| {
                spec.path = Some(dir.clone());
                spec.source(self.catalog).files
            })
            .unwrap_or(dir);
        let bytes = files_bytes(&files);
        if bytes == 0 {
            return Ok(self.default_model_size_bytes);
        }
        Ok((bytes as f64 * self.size_multiplier) as u64)
    }

    async fn status(&self) -> pb::RuntimeStatusResponse {
        // Called when the sidecar starts: whatever it loaded before is unknown to it now.
        let mut owned = self.owned.lock().await;
        for id in std::mem::take(&mut *owned) {
            self.registry.remove(&id);
            tracing::info!(model = %id, "ModelMesh restarted; its model is unloaded");
        }
        pb::RuntimeStatusResponse {
            status: runtime_status_response::Status::Ready as i32,
            capacity_in_bytes: self.capacity_bytes,
            // Loads run one at a time, each measured alone.
            max_loading_concurrency: 1,
            model_loading_timeout_ms: self.load_timeout_ms,
            default_model_size_in_bytes: self.default_model_size_bytes,
            runtime_version: env!("CARGO_PKG_VERSION").to_string(),
            numeric_runtime_version: 0,
            method_infos: Default::default(),
            limit_model_concurrency: false,
            // Every inference method reads the model id from `mm-model-id`.
            allow_any_method: true,
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Task(TaskError::invalid_field(field, reason))
}

fn answer<T>(request_id: &str, result: Result<T, ApiError>) -> Result<Response<T>, Status> {
    result
        .map(Response::new)
        .map_err(|error| error.into_grpc_status(request_id))
}

#[tonic::async_trait]
impl ModelRuntime for ModelMeshRuntime {
    async fn load_model(
        &self,
        request: Request<pb::LoadModelRequest>,
    ) -> Result<Response<pb::LoadModelResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        answer(&request_id, self.load(request.into_inner()).await)
    }

    async fn unload_model(
        &self,
        request: Request<pb::UnloadModelRequest>,
    ) -> Result<Response<pb::UnloadModelResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let id = request.into_inner().model_id;
        let unloaded = self.unload(&id).await.map(|()| pb::UnloadModelResponse {});
        answer(&request_id, unloaded)
    }

    async fn predict_model_size(
        &self,
        request: Request<pb::PredictModelSizeRequest>,
    ) -> Result<Response<pb::PredictModelSizeResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let predicted = self
            .predicted(request.get_ref())
            .map(|size_in_bytes| pb::PredictModelSizeResponse { size_in_bytes });
        answer(&request_id, predicted)
    }

    async fn model_size(
        &self,
        request: Request<pb::ModelSizeRequest>,
    ) -> Result<Response<pb::ModelSizeResponse>, Status> {
        let request_id = call::request_id(request.metadata());
        let id = request.into_inner().model_id;
        let size = self
            .registry
            .charged_bytes(&id)
            .map(|size_in_bytes| pb::ModelSizeResponse { size_in_bytes })
            .ok_or_else(|| TaskError::ModelNotFound(id).into());
        answer(&request_id, size)
    }

    async fn runtime_status(
        &self,
        _request: Request<pb::RuntimeStatusRequest>,
    ) -> Result<Response<pb::RuntimeStatusResponse>, Status> {
        Ok(Response::new(self.status().await))
    }
}
