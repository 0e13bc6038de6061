//! What every module builds on: tasks (typed request, output, shape) and the task list, models
//! and their handlers, the registry of served models, the catalogue of modules with their typed
//! settings, and the error types.

pub mod catalog;
pub mod chat;
pub mod error;
pub mod lifecycle;
pub mod model;
pub mod module_settings;
pub mod registry;
pub mod settings;
pub mod settings_schema;
pub mod task;
pub mod tasks;
