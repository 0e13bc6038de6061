//! Model runtimes: where inference actually happens. This crate knows nothing about HTTP or task
//! shapes; it provides admission control, dedicated compute threads, the pool for request-sized
//! CPU work and model discovery that task modules build on.

pub mod admission;
pub mod batching;
pub mod bert;
pub mod call_timing;
pub mod chat_template;
pub mod cpu_kernels;
pub mod cpu_pool;
pub mod discovery;
pub mod error;
pub mod generation;
pub mod gguf;
pub mod llama;
pub mod metrics;
pub mod remote;
pub mod resident_memory;
pub mod sampling;
#[cfg(test)]
mod test_models;
pub mod trace;
pub mod tuning;

pub use admission::{Admission, Permit};
pub use batching::{BatchForward, Batcher, BatchingConfig, Sequence};
pub use cpu_pool::{CpuPool, CpuPoolLimits, offload};
pub use discovery::{DiscoveredModel, Discovery, ModelManifest, SkippedDir, discover_models};
pub use error::{RemoteFailure, RuntimeError};
