//! A Llama-architecture decoder over GGUF weights. Unlike candle-transformers' model, the KV
//! cache lives outside the weights ([`KvCache`], one per sequence), so many sequences share one
//! copy of the weights.

mod model;

pub use model::{KvCache, LlamaConfig, LlamaModel, LogitsAt, argmax};
