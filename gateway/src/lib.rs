//! The taskgate gateway: REST routes over task modules, request validation, the OpenAPI document
//! and explorer, configuration and serving.

pub mod app;
pub mod body;
pub mod call_headers;
pub mod config;
pub mod error;
pub mod grpc;
pub mod info;
pub mod json_schemas;
pub mod logging;
pub mod model_config;
pub mod models;
pub mod openapi;
pub mod request_id;
pub mod serve;
pub mod shutdown;
pub mod task_handlers;
pub mod task_routes;
pub mod trace_context;
pub mod training_config;
pub mod training_routes;
pub mod validation;

pub use app::{AppState, GatewayBuilder};
pub use config::Config;
pub use task_routes::TaskRoutes;
