//! Autoregressive generation on the Llama engine: requests, stopping rules, and the scheduler
//! thread that runs concurrent sequences.

mod engine;
#[cfg(test)]
mod engine_tests;
mod request;
mod sequence;
mod stops;

pub use engine::{EngineConfig, EngineStats, GenerationEngine, GenerationStream};
pub use request::{GenerationEvent, GenerationRequest, StopReason, TokenDetail};
pub use stops::{StopMatch, StopMatcher};
