//! The taskgate gateway: REST routes over task modules, request validation, the OpenAPI document
//! and explorer, configuration and serving.

pub mod aliases;
pub mod app;
pub mod auth;
pub mod call_headers;
pub mod call_limits;
pub mod config;
pub mod connection_clock;
pub mod cors;
pub mod error;
pub mod file_watch;
pub mod grpc;
pub mod json_schemas;
pub mod listener;
pub mod logging;
pub mod management;
pub mod metrics;
pub mod model_config;
pub mod model_mesh;
pub mod models;
pub mod openai;
pub mod openapi;
pub mod openapi_rules;
pub mod otlp;
pub mod panics;
pub mod pipeline;
pub mod reload;
pub mod rest;
pub mod serve;
pub mod server_config;
pub mod shutdown;
pub mod state;
pub mod task_list;
pub mod tls;
pub mod trace_context;
pub mod tracing_config;
pub mod training_config;
pub mod usage;
pub mod validation;

pub use app::GatewayBuilder;
pub use config::Config;
pub use state::AppState;
pub use task_list::TaskRoutes;
