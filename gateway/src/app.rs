//! The gateway as a value: an axum `Router` built from a model registry and the task list, so it
//! can be served, mounted inside another app, or tested without a network.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use taskgate_modules::ModelRegistry;
use taskgate_modules::tuning::TrainingManager;
use taskgate_schemas::json_schema;
use taskgate_schemas::{ClassifierTrainRequest, PromptTuningTrainRequest};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::aliases::AliasTable;
use crate::auth::{AllowAll, Authorizer};
use crate::call_limits::{CallLimits, CallSlots};
use crate::grpc::{GrpcApi, grpc_api};
use crate::management::Management;
use crate::metrics::Metrics;
use crate::openapi;
use crate::reload::ReloadReport;
use crate::rest::{info, management, request_id, training};
use crate::server_config::CorsConfig;
use crate::state::{AppState, Shared};
use crate::task_list::TaskRoutes;
use crate::validation::Validators;

/// Builds the HTTP router (and the gRPC services over the same state).
pub struct GatewayBuilder {
    registry: ModelRegistry,
    routes: TaskRoutes,
    authorizer: Arc<dyn Authorizer>,
    limits: CallLimits,
    metrics: bool,
    metrics_apart: bool,
    cors: CorsConfig,
    training: Option<TrainingManager>,
    management: Option<Arc<Management>>,
    aliases: AliasTable,
    config_reload: Option<ReloadReport>,
}

/// What [`GatewayBuilder::build_all`] makes: the HTTP API, the gRPC services and the
/// `/metrics` router, all over the same state.
pub struct Routers {
    pub http: Router,
    pub grpc: GrpcApi,
    /// Only `/metrics`, for its own port.
    pub metrics: Router,
}

impl GatewayBuilder {
    pub fn new(registry: ModelRegistry) -> Self {
        Self {
            registry,
            routes: TaskRoutes::standard(),
            authorizer: Arc::new(AllowAll),
            limits: CallLimits::default(),
            metrics: true,
            metrics_apart: false,
            cors: CorsConfig::default(),
            training: None,
            management: None,
            aliases: AliasTable::default(),
            config_reload: None,
        }
    }

    /// Routes calls of these aliases (default: none); the table can be replaced while
    /// serving.
    pub fn aliases(mut self, aliases: AliasTable) -> Self {
        self.aliases = aliases;
        self
    }

    /// Shows how config reloads went in `/info/version`.
    pub fn config_reload(mut self, report: ReloadReport) -> Self {
        self.config_reload = Some(report);
        self
    }

    /// Serves model management (`/management/models`, gRPC `ModelManagement`) with
    /// `management`.
    pub fn management(mut self, management: Arc<Management>) -> Self {
        self.management = Some(management);
        self
    }

    /// Serves the training API with `manager`.
    pub fn training(mut self, manager: TrainingManager) -> Self {
        self.training = Some(manager);
        self
    }

    /// What one call may take (default: [`CallLimits::default`], with no default deadline).
    pub fn call_limits(mut self, limits: CallLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Counts calls and serves `/metrics` (default: on).
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled;
        self
    }

    /// Serves `/metrics` only on the router for its own port, not on the API's.
    pub fn metrics_on_own_port(mut self, apart: bool) -> Self {
        self.metrics_apart = apart;
        self
    }

    /// Lets browser apps on these origins call (default: none).
    pub fn cors(mut self, cors: CorsConfig) -> Self {
        self.cors = cors;
        self
    }

    /// Decides which calls may run, on every wire (default: all).
    pub fn authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = authorizer;
        self
    }

    pub fn build(self) -> Router {
        self.build_http().0
    }

    /// The HTTP router and the gRPC services over the same state (models, validators, limits).
    pub async fn build_with_grpc(self, grpc_max_message_bytes: usize) -> (Router, GrpcApi) {
        let routers = self.build_all(grpc_max_message_bytes).await;
        (routers.http, routers.grpc)
    }

    /// Every router over the same state.
    pub async fn build_all(self, grpc_max_message_bytes: usize) -> Routers {
        let routes = self.routes.clone();
        let metrics_enabled = self.metrics;
        let (http, state) = self.build_http();
        let scrape = if metrics_enabled {
            get(crate::rest::metrics::scrape)
        } else {
            get(info::route_not_found)
        };
        let metrics = Router::new()
            .route("/metrics", scrape)
            .fallback(info::route_not_found)
            .with_state(state.clone())
            .layer(request_id::propagate_layer())
            .layer(request_id::set_layer())
            .layer(axum::middleware::map_request(request_id::drop_unsafe_id));
        let grpc = grpc_api(state, routes, grpc_max_message_bytes).await;
        Routers {
            http,
            grpc,
            metrics,
        }
    }

    fn build_http(self) -> (Router, AppState) {
        let mut validators = Validators::default();
        for route in self.routes.iter() {
            validators.insert(route.name, &route.request_schema());
        }
        validators.insert(
            training::CLASSIFIER_TRAIN,
            &json_schema::request::<ClassifierTrainRequest>(),
        );
        validators.insert(
            training::PROMPT_TUNING_TRAIN,
            &json_schema::request::<PromptTuningTrainRequest>(),
        );
        crate::openai::add_validators(&mut validators);
        let training_enabled = self.training.is_some();
        let management_enabled = self.management.is_some();
        let metrics_here = self.metrics && !self.metrics_apart;
        // The explorer reads the document served beside it, the one checked in.
        let document = openapi::document_value(&self.routes);
        let docs = SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json"));
        let state = AppState::new(Shared {
            registry: self.registry,
            task_names: self.routes.names(),
            validators,
            authorizer: self.authorizer,
            call_slots: CallSlots::new(self.limits.max_in_flight_calls),
            metrics: Arc::new(if self.metrics {
                Metrics::new()
            } else {
                Metrics::disabled()
            }),
            limits: self.limits,
            training: self.training,
            management: self.management,
            aliases: self.aliases,
            config_reload: self.config_reload,
        });
        let api = Router::new()
            .route("/health", get(info::health))
            .route("/info/version", get(info::version))
            .route("/info/models", get(info::models))
            .route(
                "/metrics",
                if metrics_here {
                    get(crate::rest::metrics::scrape)
                } else {
                    get(info::route_not_found)
                },
            )
            .route(
                "/openapi.json",
                get(move || std::future::ready(axum::Json(document.clone()))),
            );
        let api = self.routes.mount(api);
        let api = crate::openai::mount(api);
        // Without management, its routes answer 404 like any unknown route.
        let api = if management_enabled {
            management::mount(api)
        } else {
            api
        };
        // Without training, its routes answer 404 like any unknown route.
        let api = if training_enabled {
            training::mount(api)
        } else {
            api
        };
        let api = api
            .fallback(info::route_not_found)
            .method_not_allowed_fallback(info::method_not_allowed)
            .with_state(state.clone());
        // Layers run outside-in: an unsafe client id is dropped, then the id is set before
        // tracing and handlers see it, and copied onto every response, errors and caught
        // panics included; CORS answers preflights before anything else runs.
        let router = api
            .merge(docs)
            .layer(CatchPanicLayer::custom(crate::panics::http_answer))
            .layer(request_id::propagate_layer())
            .layer(TraceLayer::new_for_http())
            .layer(request_id::set_layer())
            .layer(axum::middleware::map_request(request_id::drop_unsafe_id));
        let router = match crate::cors::layer(&self.cors) {
            Some(cors) => router.layer(cors),
            None => router,
        };
        (router, state)
    }
}
