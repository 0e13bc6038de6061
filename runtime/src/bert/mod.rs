//! BERT-family encoders on candle.

mod classifier;
mod config;
mod embedder;
mod load;
mod model;
mod text;

pub use classifier::{ClassifierInfo, SequenceClassifier, TokenClassifier};
pub use config::BertConfig;
pub use embedder::{EmbeddingForward, EmbeddingModel, Padded, Pooling, pad_batch};
pub use model::{BertEncoder, Linear, l2_normalize, mean_pool};
pub use text::{TextTokenizer, TokenizeError, TokenizedText, Truncation};
