//! BERT-family encoders on candle.

mod classifier;
mod config;
mod embedder;
mod layer_math;
mod load;
mod model;
mod text;
mod weights_file;

pub use classifier::{ClassifierInfo, SequenceClassifier, TokenClassifier};
pub use config::BertConfig;
pub use embedder::{EmbeddingForward, EmbeddingModel, Padded, Pooling, pad_batch, pool};
pub use layer_math::{DENSE, Dense, LayerWeights, NORMS, Norm, layer_forward};
pub use model::{BertEncoder, Linear, l2_normalize, layer_prefix, mask_bias, mean_pool};
pub use text::{TextTokenizer, TokenizeError, TokenizedText, Truncation};
