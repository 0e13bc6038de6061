//! The `sentence-embeddings` module: a sentence-transformers bi-encoder run in process on
//! candle, serving embeddings, sentence similarity, rerank (by cosine) and tokenization.

mod predict;
mod scoring;
mod service;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use taskgate_runtime::bert::EmbeddingModel;
use taskgate_runtime::{Batcher, BatchingConfig};

use crate::tasks::{
    Embedding, EmbeddingTasks, Rerank, RerankTasks, SentenceSimilarity, SentenceSimilarityTasks,
    Tokenization,
};
use crate::{Model, ModelSpec, ModuleError, ModuleFactory};
pub use service::SentenceEmbeddings;

pub const MODULE_NAME: &str = "sentence-embeddings";
/// Texts one request may carry (`max_client_batch_size`).
pub const DEFAULT_MAX_CLIENT_BATCH_SIZE: usize = 64;

pub struct SentenceEmbeddingsFactory;

struct Settings {
    path: PathBuf,
    batching: BatchingConfig,
    max_client_batch_size: usize,
}

fn settings(spec: &ModelSpec) -> Result<Settings, ModuleError> {
    let empty = serde_json::Map::new();
    let config = match &spec.config {
        Value::Null => &empty,
        Value::Object(map) => map,
        other => return Err(spec.config_error("", format!("expected a map, got {other}"))),
    };
    const KEYS: [&str; 4] = [
        "path",
        "max_batch_tokens",
        "max_client_batch_size",
        "queue_capacity",
    ];
    if let Some(unknown) = config.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(spec.config_error(
            unknown,
            format!("unknown key (expected one of: {})", KEYS.join(", ")),
        ));
    }
    let positive = |key: &str, default: usize| -> Result<usize, ModuleError> {
        match config.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| spec.config_error(key, "expected a positive integer")),
        }
    };
    let path = match (config.get("path"), &spec.path) {
        (Some(Value::String(p)), _) => PathBuf::from(p),
        (Some(_), _) => return Err(spec.config_error("path", "expected a directory path")),
        (None, Some(p)) => p.clone(),
        (None, None) => return Err(spec.config_error("path", "required: the model directory")),
    };
    let defaults = BatchingConfig::default();
    Ok(Settings {
        path,
        batching: BatchingConfig {
            max_batch_tokens: positive("max_batch_tokens", defaults.max_batch_tokens)?,
            queue_capacity: positive("queue_capacity", spec.max_concurrent_requests)?,
        },
        max_client_batch_size: positive("max_client_batch_size", DEFAULT_MAX_CLIENT_BATCH_SIZE)?,
    })
}

impl ModuleFactory for SentenceEmbeddingsFactory {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn build(&self, spec: &ModelSpec) -> Result<Model, ModuleError> {
        let settings = settings(spec)?;
        let runtime_error = |source| ModuleError::Runtime {
            model: spec.id.clone(),
            source,
        };
        let loaded = EmbeddingModel::load(&settings.path).map_err(runtime_error)?;
        let metadata = json!({
            "dimension": loaded.dimension,
            "max_seq_length": loaded.tokenizer.max_tokens,
            "pooling": format!("{:?}", loaded.pooling).to_lowercase(),
            "normalize": loaded.normalize,
            "max_batch_tokens": settings.batching.max_batch_tokens,
            "max_client_batch_size": settings.max_client_batch_size,
        });
        let batcher = Batcher::spawn(
            &format!("embed-{}", spec.id),
            loaded.forward,
            settings.batching,
        )
        .map_err(runtime_error)?;
        let service = Arc::new(SentenceEmbeddings::new(
            batcher.clone(),
            loaded.tokenizer,
            settings.max_client_batch_size,
        ));
        let mut builder = Model::builder(&spec.id, MODULE_NAME, "candle")
            .max_concurrent_requests(spec.max_concurrent_requests)
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
            }))
            .serve::<Embedding>(service.clone())
            .serve::<EmbeddingTasks>(service.clone())
            .serve::<SentenceSimilarity>(service.clone())
            .serve::<SentenceSimilarityTasks>(service.clone())
            .serve::<Rerank>(service.clone())
            .serve::<RerankTasks>(service.clone())
            .serve::<Tokenization>(service);
        if let Value::Object(map) = metadata {
            for (key, value) in map {
                builder = builder.metadata(&key, value);
            }
        }
        Ok(builder.build())
    }
}
