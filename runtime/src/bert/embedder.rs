//! Sentence-transformers bi-encoders: BERT + pooling (mean or CLS) + optional normalisation.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use super::text::TextTokenizer;
use super::{BertConfig, BertEncoder, l2_normalize, mean_pool};
use crate::RuntimeError;
use crate::batching::BatchForward;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
}

/// A loaded embedding model: the forward half goes to the batcher's owner thread, the
/// tokenizer stays with the async side.
pub struct EmbeddingModel {
    pub forward: EmbeddingForward,
    pub tokenizer: TextTokenizer,
    pub dimension: usize,
    pub pooling: Pooling,
    pub normalize: bool,
    pub weights_bytes: u64,
}

pub struct EmbeddingForward {
    encoder: BertEncoder,
    pooling: Pooling,
    normalize: bool,
    device: Device,
}

fn unavailable(dir: &Path, what: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Unavailable(format!("model {}: {what}", dir.display()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[derive(Deserialize, Default)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceModule {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

impl EmbeddingModel {
    /// Loads a sentence-transformers directory (config.json, model.safetensors, tokenizer.json,
    /// optional modules.json, 1_Pooling/config.json, sentence_bert_config.json).
    pub fn load(dir: &Path) -> Result<Self, RuntimeError> {
        let config: BertConfig =
            read_json(&dir.join("config.json")).map_err(|e| unavailable(dir, e))?;
        let pooling_config: PoolingConfig = match dir.join("1_Pooling/config.json") {
            p if p.exists() => read_json(&p).map_err(|e| unavailable(dir, e))?,
            _ => PoolingConfig {
                pooling_mode_mean_tokens: true,
                ..Default::default()
            },
        };
        if pooling_config.pooling_mode_max_tokens {
            return Err(unavailable(dir, "max-token pooling is not supported"));
        }
        let pooling = match (
            pooling_config.pooling_mode_cls_token,
            pooling_config.pooling_mode_mean_tokens,
        ) {
            (true, false) => Pooling::Cls,
            (false, true) => Pooling::Mean,
            _ => {
                return Err(unavailable(
                    dir,
                    "1_Pooling/config.json must select exactly one of CLS or mean pooling",
                ));
            }
        };
        let normalize = match dir.join("modules.json") {
            p if p.exists() => read_json::<Vec<SentenceModule>>(&p)
                .map_err(|e| unavailable(dir, e))?
                .iter()
                .any(|m| m.kind.ends_with("Normalize")),
            _ => false,
        };
        let max_tokens = match dir.join("sentence_bert_config.json") {
            p if p.exists() => {
                read_json::<SentenceBertConfig>(&p)
                    .map_err(|e| unavailable(dir, e))?
                    .max_seq_length
            }
            _ => None,
        }
        .unwrap_or(config.max_position_embeddings)
        .min(config.max_position_embeddings);
        let tokenizer = TextTokenizer::load(&dir.join("tokenizer.json"), max_tokens)?;
        let weights = dir.join("model.safetensors");
        let weights_bytes = std::fs::metadata(&weights).map(|m| m.len()).unwrap_or(0);
        let device = Device::Cpu;
        // SAFETY: the weights file is memory-mapped read-only; taskgate never writes it while
        // serving, and model directories are not meant to be modified in place.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| unavailable(dir, e))?;
        let root = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let encoder = BertEncoder::load(root, &config).map_err(|e| unavailable(dir, e))?;
        Ok(Self {
            dimension: encoder.hidden_size,
            forward: EmbeddingForward {
                encoder,
                pooling,
                normalize,
                device,
            },
            tokenizer,
            pooling,
            normalize,
            weights_bytes,
        })
    }
}

/// Pads a batch to its longest sequence: `(ids, mask)` as `(batch, len)` u32 tensors.
pub fn pad_batch(batch: &[&[u32]], device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let len = batch.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(batch.len() * len);
    let mut mask = Vec::with_capacity(batch.len() * len);
    for seq in batch {
        ids.extend_from_slice(seq);
        mask.extend(std::iter::repeat_n(1u32, seq.len()));
        let pad = len - seq.len();
        ids.extend(std::iter::repeat_n(0u32, pad));
        mask.extend(std::iter::repeat_n(0u32, pad));
    }
    let shape = (batch.len(), len);
    Ok((
        Tensor::from_vec(ids, shape, device)?,
        Tensor::from_vec(mask, shape, device)?,
    ))
}

impl EmbeddingForward {
    fn embed(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let (ids, mask) = pad_batch(batch, &self.device)?;
        let hidden = self.encoder.forward(&ids, &ids.zeros_like()?, &mask)?;
        let pooled = match self.pooling {
            Pooling::Mean => mean_pool(&hidden, &mask)?,
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
        };
        let pooled = if self.normalize {
            l2_normalize(&pooled)?
        } else {
            pooled
        };
        pooled.to_vec2::<f32>()
    }
}

impl BatchForward for EmbeddingForward {
    type Output = Vec<f32>;

    fn forward(&mut self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, RuntimeError> {
        self.embed(batch)
            .map_err(|e| RuntimeError::Inference(e.to_string()))
    }
}
