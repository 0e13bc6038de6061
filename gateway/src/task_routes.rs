//! The task routes: one registration line per task, one generic handler per task shape.

use axum::Router;
use axum::routing::post;
use serde_json::Value;
use taskgate_modules::Task;
use taskgate_modules::tasks::*;
use taskgate_schemas::json_schema::standalone;
use utoipa::openapi::OpenApi;

use crate::app::AppState;
use crate::{openapi, task_handlers};

/// Route prefix of the task API (Caikit's `runtime.http.route_prefix`).
pub const TASK_PREFIX: &str = "/api/v1/task";

pub fn task_path(name: &str) -> String {
    format!("{TASK_PREFIX}/{name}")
}

/// How a task is served over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Unary,
    ServerStreaming,
}

/// Everything the gateway needs to expose one task; built by [`TaskRoutes::unary`] and
/// [`TaskRoutes::streaming`] from the task type alone.
#[derive(Clone, Copy)]
pub struct TaskRoute {
    pub name: &'static str,
    /// The gRPC method serving the same task.
    pub rpc: &'static str,
    pub shape: Shape,
    mount: fn(Router<AppState>) -> Router<AppState>,
    document: fn(&mut OpenApi),
    request_schema: fn() -> Value,
    output_schema: fn() -> Value,
}

impl TaskRoute {
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
    /// Every task taskgate serves. Adding a task is one line here.
    pub fn standard() -> Self {
        Self::default()
            .unary::<TextGeneration>()
            .streaming::<ServerStreamingTextGeneration>()
            .unary::<TextClassification>()
            .unary::<TokenClassification>()
            .unary::<Tokenization>()
            .unary::<Embedding>()
            .unary::<EmbeddingTasks>()
            .unary::<SentenceSimilarity>()
            .unary::<SentenceSimilarityTasks>()
            .unary::<Rerank>()
            .unary::<RerankTasks>()
    }

    pub fn unary<T: Task>(mut self) -> Self {
        self.routes.push(TaskRoute {
            name: T::NAME,
            rpc: T::RPC,
            shape: Shape::Unary,
            mount: |router| router.route(&task_path(T::NAME), post(task_handlers::unary::<T>)),
            document: openapi::document_task::<T>,
            request_schema: standalone::<T::Request>,
            output_schema: standalone::<T::Output>,
        });
        self
    }

    pub fn streaming<T: Task>(mut self) -> Self {
        self.routes.push(TaskRoute {
            name: T::NAME,
            rpc: T::RPC,
            shape: Shape::ServerStreaming,
            mount: |router| {
                router.route(
                    &task_path(T::NAME),
                    post(task_handlers::server_streaming::<T>),
                )
            },
            document: openapi::document_streaming_task::<T>,
            request_schema: standalone::<T::Request>,
            output_schema: standalone::<T::Output>,
        });
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
