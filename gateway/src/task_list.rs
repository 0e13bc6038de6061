//! The task list: one entry per task, and each entry drives the task's REST route, its OpenAPI
//! operation, its gRPC method and the contract tests. Adding a task is its schema types, its
//! `task!` type in `modules`, one line in [`TaskRoutes::standard`], its proto messages with their
//! conversions (`grpc/convert.rs`), and the module code that serves it.

use axum::Router;
use axum::routing::post;
use serde_json::Value;
use taskgate_modules::Task;
use taskgate_modules::framework::tasks::*;
use taskgate_schemas::json_schema::{self, standalone};
use utoipa::openapi::OpenApi;

use crate::grpc::convert::{InputShape, ProtoRequest};
use crate::grpc::pb::caikit::runtime::nlp as rpc;
use crate::grpc::pb::caikit_data_model::caikit_nlp as cn;
use crate::grpc::pb::caikit_data_model::nlp;
use crate::grpc::task_service::{self, GrpcHandler, ProtoResponse};
use crate::openapi;
use crate::rest;
use crate::state::AppState;
use crate::usage::TokenUsage;

/// Route prefix of the task API (Caikit's `runtime.http.route_prefix`).
pub const TASK_PREFIX: &str = "/api/v1/task";

pub fn task_path(name: &str) -> String {
    format!("{TASK_PREFIX}/{name}")
}

/// How a task is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Unary,
    ServerStreaming,
}

/// Everything the gateway needs to expose one task on every wire; built by
/// [`TaskRoutes::unary`] and [`TaskRoutes::streaming`] from the task and its proto messages.
#[derive(Clone, Copy)]
pub struct TaskRoute {
    pub name: &'static str,
    /// The gRPC method (of `caikit.runtime.Nlp.NlpService`) serving the same task.
    pub rpc: &'static str,
    pub shape: Shape,
    /// How the gRPC request's fields map onto the REST `inputs`.
    pub inputs: InputShape,
    mount: fn(Router<AppState>) -> Router<AppState>,
    document: fn(&mut OpenApi),
    request_schema: fn() -> Value,
    output_schema: fn() -> Value,
    pub(crate) grpc: GrpcHandler,
}

impl TaskRoute {
    /// The entry of task `T` with gRPC request `Req`; what differs by shape is passed in.
    fn of<T: Task, Req: ProtoRequest>(
        shape: Shape,
        mount: fn(Router<AppState>) -> Router<AppState>,
        document: fn(&mut OpenApi),
        grpc: GrpcHandler,
    ) -> Self {
        Self {
            name: T::NAME,
            rpc: T::RPC,
            shape,
            inputs: Req::INPUTS,
            mount,
            document,
            request_schema: json_schema::request::<T::Request>,
            output_schema: standalone::<T::Output>,
            grpc,
        }
    }

    pub fn request_schema(&self) -> Value {
        (self.request_schema)()
    }

    /// The schema of the answer (of one event, for streaming tasks).
    pub fn output_schema(&self) -> Value {
        (self.output_schema)()
    }
}

#[derive(Clone, Default)]
pub struct TaskRoutes {
    routes: Vec<TaskRoute>,
}

impl TaskRoutes {
    /// Every task taskgate serves: the task, its gRPC request and its gRPC answer.
    pub fn standard() -> Self {
        Self::default()
            .unary::<TextGeneration, rpc::TextGenerationTaskRequest, nlp::GeneratedTextResult>()
            .streaming::<
                ServerStreamingTextGeneration,
                rpc::ServerStreamingTextGenerationTaskRequest,
                nlp::GeneratedTextStreamResult,
            >()
            .unary::<TextClassification, rpc::TextClassificationTaskRequest, nlp::ClassificationResults>()
            .unary::<
                TokenClassification,
                rpc::TokenClassificationTaskRequest,
                nlp::TokenClassificationResults,
            >()
            .unary::<Tokenization, rpc::TokenizationTaskRequest, nlp::TokenizationResults>()
            .unary::<Embedding, rpc::EmbeddingTaskRequest, cn::EmbeddingResult>()
            .unary::<EmbeddingTasks, rpc::EmbeddingTasksRequest, cn::EmbeddingResults>()
            .unary::<
                SentenceSimilarity,
                rpc::SentenceSimilarityTaskRequest,
                cn::SentenceSimilarityResult,
            >()
            .unary::<
                SentenceSimilarityTasks,
                rpc::SentenceSimilarityTasksRequest,
                cn::SentenceSimilarityResults,
            >()
            .unary::<Rerank, rpc::RerankTaskRequest, cn::RerankResult>()
            .unary::<RerankTasks, rpc::RerankTasksRequest, cn::RerankResults>()
    }

    /// A unary task, answered with one `Resp` over gRPC.
    pub fn unary<T, Req, Resp>(mut self) -> Self
    where
        T: Task,
        T::Output: TokenUsage,
        Req: ProtoRequest,
        Resp: ProtoResponse<T::Output>,
    {
        self.routes.push(TaskRoute::of::<T, Req>(
            Shape::Unary,
            |router| router.route(&task_path(T::NAME), post(rest::tasks::unary::<T>)),
            openapi::document_task::<T>,
            task_service::unary::<T, Req, Resp>,
        ));
        self
    }

    /// A server-streaming task: SSE over REST, one `Resp` per event over gRPC.
    pub fn streaming<T, Req, Resp>(mut self) -> Self
    where
        T: Task,
        T::Output: TokenUsage,
        Req: ProtoRequest,
        Resp: ProtoResponse<T::Output>,
    {
        self.routes.push(TaskRoute::of::<T, Req>(
            Shape::ServerStreaming,
            |router| {
                router.route(
                    &task_path(T::NAME),
                    post(rest::tasks::server_streaming::<T>),
                )
            },
            openapi::document_streaming_task::<T>,
            task_service::server_streaming::<T, Req, Resp>,
        ));
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = &TaskRoute> {
        self.routes.iter()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.routes.iter().map(|r| r.name).collect()
    }

    pub(crate) fn mount(&self, mut router: Router<AppState>) -> Router<AppState> {
        for route in &self.routes {
            router = (route.mount)(router);
        }
        router
    }

    pub(crate) fn document(&self, doc: &mut OpenApi) {
        for route in &self.routes {
            (route.document)(doc);
        }
    }
}
