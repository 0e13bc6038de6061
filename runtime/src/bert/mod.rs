//! BERT-family encoders on candle.

mod config;
mod embedder;
mod model;
mod text;

pub use config::BertConfig;
pub use embedder::{EmbeddingForward, EmbeddingModel, Pooling, pad_batch};
pub use model::{BertEncoder, Linear, l2_normalize, mean_pool};
pub use text::{TextTokenizer, TokenizeError, TokenizedText, Truncation};
