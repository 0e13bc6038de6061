//! The gateway as a value: an axum `Router` built from a model registry and task routes, so it can
//! be served, mounted inside another app, or tested without a network.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use taskgate_modules::ModelRegistry;
use taskgate_modules::tuning::TrainingManager;
use taskgate_schemas::json_schema::standalone;
use taskgate_schemas::{ClassifierTrainRequest, PromptTuningTrainRequest};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::grpc::{GrpcApi, grpc_api};
use crate::task_routes::TaskRoutes;
use crate::validation::Validators;
use crate::{info, openapi, request_id, training_routes};

/// Default request body limit (2 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

struct Shared {
    registry: ModelRegistry,
    validators: Validators,
    task_names: Vec<&'static str>,
    max_body_bytes: usize,
    training: Option<TrainingManager>,
}

impl AppState {
    pub fn registry(&self) -> &ModelRegistry {
        &self.shared.registry
    }

    pub fn validators(&self) -> &Validators {
        &self.shared.validators
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
}

/// Builds the HTTP router.
pub struct GatewayBuilder {
    registry: ModelRegistry,
    routes: TaskRoutes,
    max_body_bytes: usize,
    training: Option<TrainingManager>,
}

impl GatewayBuilder {
    pub fn new(registry: ModelRegistry) -> Self {
        Self {
            registry,
            routes: TaskRoutes::standard(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            training: None,
        }
    }

    /// Serves the training API with `manager`.
    pub fn training(mut self, manager: TrainingManager) -> Self {
        self.training = Some(manager);
        self
    }

    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    pub fn build(self) -> Router {
        self.build_http().0
    }

    /// The HTTP router and the gRPC services over the same state (models, validators, limits).
    pub async fn build_with_grpc(self, grpc_max_message_bytes: usize) -> (Router, GrpcApi) {
        let (router, state) = self.build_http();
        let grpc = grpc_api(state, grpc_max_message_bytes).await;
        (router, grpc)
    }

    fn build_http(self) -> (Router, AppState) {
        let mut validators = Validators::default();
        for route in self.routes.iter() {
            validators.insert(route.name, &route.request_schema());
        }
        validators.insert(
            training_routes::CLASSIFIER_TRAIN,
            &standalone::<ClassifierTrainRequest>(),
        );
        validators.insert(
            training_routes::PROMPT_TUNING_TRAIN,
            &standalone::<PromptTuningTrainRequest>(),
        );
        let training_enabled = self.training.is_some();
        let state = AppState {
            shared: Arc::new(Shared {
                registry: self.registry,
                validators,
                task_names: self.routes.names(),
                max_body_bytes: self.max_body_bytes,
                training: self.training,
            }),
        };
        let api = Router::new()
            .route("/health", get(info::health))
            .route("/info/version", get(info::version))
            .route("/info/models", get(info::models));
        let api = self.routes.mount(api);
        // Without training, its routes answer 404 like any unknown route.
        let api = if training_enabled {
            training_routes::mount(api)
        } else {
            api
        };
        let api = api
            .fallback(info::route_not_found)
            .method_not_allowed_fallback(info::method_not_allowed)
            .with_state(state.clone());
        let docs = SwaggerUi::new("/docs").url("/openapi.json", openapi::document(&self.routes));
        // Layers run outside-in: the id is set before tracing and handlers see it, and copied
        // onto every response, errors included.
        let router = api
            .merge(docs)
            .layer(request_id::propagate_layer())
            .layer(TraceLayer::new_for_http())
            .layer(request_id::set_layer());
        (router, state)
    }
}
