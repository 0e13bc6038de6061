//! The `sentence-embeddings` module: a sentence-transformers bi-encoder run in process on
//! candle, serving embeddings, sentence similarity, rerank (by cosine) and tokenization.

mod predict;
mod service;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use taskgate_runtime::Batcher;
use taskgate_runtime::bert::EmbeddingModel;

use crate::families::embeddings::serve_embedding_family;
use crate::framework::tasks::Tokenization;
use crate::local::encoder_settings::EncoderSettings;
use crate::{Model, ModelSpec, ModuleError};
pub use service::SentenceEmbeddings;

pub const MODULE_NAME: &str = "sentence-embeddings";

pub struct SentenceEmbeddingsFactory;

/// What fine-tuning needs of an in-process encoder; a model of this module offers it as an
/// extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunableEncoder {
    /// The sentence-transformers directory the model was loaded from.
    pub dir: PathBuf,
    /// Layers of its encoder.
    pub layers: usize,
    /// Its width, attention heads and longest input, for training-memory estimates.
    pub hidden: usize,
    pub heads: usize,
    pub max_tokens: usize,
}

impl SentenceEmbeddingsFactory {
    pub fn build(spec: &ModelSpec, settings: &EncoderSettings) -> Result<Model, ModuleError> {
        let settings = settings.setup(spec)?;
        let loaded = EmbeddingModel::load(&settings.path).map_err(|e| spec.runtime_error(e))?;
        let tunable = TunableEncoder {
            dir: settings.path.clone(),
            layers: loaded.forward.encoder().num_layers(),
            hidden: loaded.dimension,
            // BERT-family encoders use 64-wide heads.
            heads: (loaded.dimension / 64).max(1),
            max_tokens: loaded.tokenizer.max_tokens,
        };
        let metadata = json!({
            "dimension": loaded.dimension,
            "max_seq_length": loaded.tokenizer.max_tokens,
            "pooling": format!("{:?}", loaded.pooling).to_lowercase(),
            "normalize": loaded.normalize,
            "max_batch_tokens": settings.batching.max_batch_tokens,
            "max_client_batch_size": settings.max_client_batch_size,
        });
        let batcher = Batcher::spawn(&spec.id, "embed", loaded.forward, settings.batching)
            .map_err(|e| spec.runtime_error(e))?;
        let service = Arc::new(SentenceEmbeddings::new(
            batcher.clone(),
            loaded.tokenizer,
            settings.max_client_batch_size,
        ));
        let mut builder = Model::builder(&spec.id, MODULE_NAME, "candle")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .extension(Arc::new(tunable))
            .path(settings.path)
            .size(loaded.weights_bytes)
            .live_metadata(Arc::new(move |meta| {
                let stats = batcher.stats();
                meta.insert(
                    "forward_passes".into(),
                    stats.forward_passes.load(Ordering::Relaxed).into(),
                );
                meta.insert(
                    "sequences_embedded".into(),
                    stats.sequences.load(Ordering::Relaxed).into(),
                );
                meta.insert(
                    "largest_batch".into(),
                    stats.largest_batch.load(Ordering::Relaxed).into(),
                );
            }));
        builder = serve_embedding_family(builder, service.clone()).serve::<Tokenization>(service);
        if let Value::Object(map) = metadata {
            for (key, value) in map {
                builder = builder.metadata(&key, value);
            }
        }
        Ok(builder.build())
    }
}
