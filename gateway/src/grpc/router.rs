//! The gRPC services as one axum router: tonic's generated services served by the same HTTP/2
//! stack as REST, so deadlines are ours to answer (DEADLINE_EXCEEDED, not tonic's CANCELLED)
//! and both servers share one shutdown.

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::info_service::InfoGrpc;
use super::management_service::ManagementGrpc;
use super::pb;
use super::pb::caikit::runtime::info::info_service_server::InfoServiceServer;
use super::pb::caikit::runtime::models::model_management_server::ModelManagementServer;
use super::pb::caikit::runtime::nlp::nlp_training_service_server::NlpTrainingServiceServer;
use super::pb::caikit::runtime::training::training_management_server::TrainingManagementServer;
use super::task_service::TaskService;
use super::training_service::TrainingGrpc;
use crate::state::AppState;
use crate::task_list::TaskRoutes;

/// Default limit on one gRPC message, each way (gRPC's customary 4 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Service names as health checks and reflection list them.
pub const NLP_SERVICE: &str = "caikit.runtime.Nlp.NlpService";
pub const INFO_SERVICE: &str = "caikit.runtime.info.InfoService";

/// The gRPC router and the switch for what the health service reports.
pub struct GrpcApi {
    pub router: axum::Router,
    pub health: Health,
}

/// Reports every service, and the server as a whole (`""`), as serving or not; and each
/// model as `model/<id>`, from its state and (remote models) its runtime's health checks.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
}

fn status(serving: bool) -> ServingStatus {
    if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

impl Health {
    pub async fn set(&self, serving: bool) {
        for service in ["", NLP_SERVICE, INFO_SERVICE] {
            self.reporter
                .set_service_status(service, status(serving))
                .await;
        }
    }

    /// The health service name of a remote model.
    pub fn model_service(id: &str) -> String {
        format!("model/{id}")
    }

    /// Forgets a model no longer served: asking for it answers NOT_FOUND again.
    pub async fn clear_model(&self, id: &str) {
        self.reporter
            .clone()
            .clear_service_status(&Self::model_service(id))
            .await;
    }

    pub async fn set_model(&self, id: &str, serving: bool) {
        self.reporter
            .set_service_status(Self::model_service(id), status(serving))
            .await;
    }
}

pub async fn grpc_api(state: AppState, routes: TaskRoutes, max_message_bytes: usize) -> GrpcApi {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let health = Health { reporter };
    // Not serving until the caller has bound the port and says so.
    health.set(false).await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .expect("the built-in descriptor sets decode. This is a bug.");
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .expect("the built-in descriptor sets decode. This is a bug.");
    let methods = routes.iter().map(|route| (route.rpc, route.grpc));
    let nlp = TaskService::new(state.clone(), methods, max_message_bytes);
    let info = InfoServiceServer::new(InfoGrpc::new(state.clone()))
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    let training_enabled = state.training().is_some();
    let training = || TrainingGrpc::new(state.clone());
    let mut routes = tonic::service::Routes::new(nlp)
        .add_service(info)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    if state.management().is_some() {
        routes = routes.add_service(
            ModelManagementServer::new(ManagementGrpc::new(state.clone()))
                .max_decoding_message_size(max_message_bytes)
                .max_encoding_message_size(max_message_bytes),
        );
    }
    // Without training its services are unknown (UNIMPLEMENTED), like its REST routes.
    if training_enabled {
        routes = routes
            .add_service(
                NlpTrainingServiceServer::new(training())
                    .max_decoding_message_size(max_message_bytes)
                    .max_encoding_message_size(max_message_bytes),
            )
            .add_service(TrainingManagementServer::new(training()));
    }
    let router = routes.prepare().into_axum_router().layer(
        tower_http::catch_panic::CatchPanicLayer::custom(crate::panics::grpc_answer),
    );
    GrpcApi { router, health }
}
