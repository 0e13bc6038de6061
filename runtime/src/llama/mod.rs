//! A Llama-architecture decoder over GGUF weights. Unlike candle-transformers' model, the KV
//! cache lives outside the weights ([`KvCache`], one per sequence), so many sequences share one
//! copy of the weights.

mod kv_cache;
mod model;
mod qlinear;

pub use kv_cache::KvCache;
pub use model::{LlamaConfig, LlamaModel, LogitsAt, argmax};
pub(crate) use model::{causal_mask, repeat_kv, rope_tables};
pub use qlinear::QLinear;
