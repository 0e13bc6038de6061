//! A Llama-architecture decoder over GGUF weights. Unlike candle-transformers' model, the KV
//! cache lives outside the weights ([`KvCache`], one per sequence), so many sequences share one
//! copy of the weights.

mod model;
mod qlinear;

pub use model::{KvCache, LlamaConfig, LlamaModel, argmax};
pub use qlinear::QLinear;
