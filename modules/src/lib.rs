//! Task modules: the framework (what a task, a model and a module are), the task families
//! (one trait per kind of model, the tasks implemented once over it), the in-process and
//! remote modules, and training.

pub mod families;
pub mod framework;
pub mod local;
pub mod remote;
pub mod tuning;

pub use framework::catalog::{ModelSpec, ModuleCatalog};
pub use framework::error::{ModuleError, TaskError};
pub use framework::lifecycle::{LoadPolicy, ModelLease, ModelSource, ModelState};
pub use framework::model::{Model, ModelBuilder};
pub use framework::module_settings::{BackendKind, BackendSettings, ModuleSettings};
pub use framework::registry::{ModelRegistry, ModelStatus};
pub use framework::task::{Predict, PredictStream, Task, TaskFuture, TaskInput, TaskStream};
