//! Autoregressive generation on the Llama engine: requests, stopping rules, and the scheduler
//! thread that runs concurrent sequences.

mod engine;
mod request;
mod sequence;
mod stops;

pub use engine::{EngineConfig, EngineStats, GenerationEngine, GenerationStream};
pub use request::{GenerationEvent, GenerationRequest, StopReason, TokenDetail};
pub use stops::{StopMatch, StopMatcher};
