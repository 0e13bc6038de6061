//! Task modules: what a task is (typed request, output, shape), what a model is (an id, the module
//! that implements it and the tasks it serves), and the modules themselves.

pub mod catalog;
pub mod embedding_tasks;
pub mod encoder_settings;
pub mod error;
pub mod generation_family;
pub mod kserve;
pub mod model;
pub mod module_settings;
pub mod openai;
pub mod pii;
pub mod pii_rules;
pub mod registry;
pub mod remote_health;
pub mod remote_settings;
pub mod rerank;
pub mod rerank_family;
pub mod sentence_embeddings;
pub mod settings;
pub mod settings_schema;
pub mod task;
pub mod tasks;
pub mod tei;
pub mod text_classifier;
pub mod text_generation;
pub mod tgis;
pub mod token_classifier;
pub mod tokenization;
pub mod tuning;

pub use catalog::{ModelSpec, ModuleCatalog};
pub use error::{ModuleError, TaskError};
pub use model::{Model, ModelBuilder};
pub use module_settings::{BackendKind, BackendSettings, ModuleSettings};
pub use registry::ModelRegistry;
pub use task::{Predict, PredictStream, Task, TaskFuture, TaskInput, TaskStream};
