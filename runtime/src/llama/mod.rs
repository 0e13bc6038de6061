//! A Llama-architecture decoder over GGUF weights. Unlike candle-transformers' model, the KV
//! cache lives outside the weights ([`KvCache`], one per sequence), so many sequences share one
//! copy of the weights.

mod kv_cache;
pub(crate) mod layer_math;
mod model;
mod qlinear;
pub(crate) mod token_embeddings;
pub(crate) mod weights;

pub use kv_cache::KvCache;
pub use model::{LlamaConfig, LlamaModel, LogitsAt, argmax};
pub use qlinear::{QLinear, kernel_name as qlinear_kernel_name};
