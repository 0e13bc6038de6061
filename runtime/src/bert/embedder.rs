//! Sentence-transformers bi-encoders: BERT + pooling (mean or CLS) + optional normalisation.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use super::load::{BertDir, read_json, unavailable};
use super::text::TextTokenizer;
use super::{BertEncoder, l2_normalize, mean_pool};
use crate::RuntimeError;
use crate::batching::{BatchForward, Sequence};

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
        Self::load_with_layers(dir, None)
    }

    /// Like [`EmbeddingModel::load`], with the encoder's last `count` layers replaced by the
    /// weights of a safetensors file (under their checkpoint names, e.g. fine-tuned ones).
    pub fn load_with_layers(
        dir: &Path,
        layers: Option<(&Path, usize)>,
    ) -> Result<Self, RuntimeError> {
        let bert = BertDir::open(dir)?;
        let config = &bert.config;
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
        let mut encoder = bert.encoder(dir)?;
        if let Some((file, count)) = layers {
            let weights = candle_core::safetensors::load(file, &bert.device)
                .map_err(|e| unavailable(dir, format!("{}: {e}", file.display())))?;
            let Some(first) = config.num_hidden_layers.checked_sub(count) else {
                return Err(unavailable(
                    dir,
                    format!(
                        "{count} tuned layers for an encoder with {}",
                        config.num_hidden_layers
                    ),
                ));
            };
            let vb = VarBuilder::from_tensors(weights, DType::F32, &bert.device);
            encoder
                .replace_layers(vb, config, first)
                .map_err(|e| unavailable(dir, format!("tuned layers: {e}")))?;
        }
        Ok(Self {
            dimension: encoder.hidden_size,
            forward: EmbeddingForward {
                encoder,
                pooling,
                normalize,
                device: bert.device,
            },
            tokenizer,
            pooling,
            normalize,
            weights_bytes: bert.weights_bytes,
        })
    }
}

/// A batch padded to its longest sequence, as `(batch, len)` u32 tensors.
pub struct Padded {
    pub ids: Tensor,
    pub type_ids: Tensor,
    /// 1 for real tokens, 0 for padding.
    pub mask: Tensor,
}

pub fn pad_batch(batch: &[&Sequence], device: &Device) -> candle_core::Result<Padded> {
    let len = batch.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(batch.len() * len);
    let mut type_ids = Vec::with_capacity(batch.len() * len);
    let mut mask = Vec::with_capacity(batch.len() * len);
    for seq in batch {
        let pad = len - seq.len();
        ids.extend_from_slice(&seq.ids);
        ids.extend(std::iter::repeat_n(0u32, pad));
        type_ids.extend_from_slice(&seq.type_ids);
        type_ids.extend(std::iter::repeat_n(0u32, pad));
        mask.extend(std::iter::repeat_n(1u32, seq.len()));
        mask.extend(std::iter::repeat_n(0u32, pad));
    }
    let shape = (batch.len(), len);
    Ok(Padded {
        ids: Tensor::from_vec(ids, shape, device)?,
        type_ids: Tensor::from_vec(type_ids, shape, device)?,
        mask: Tensor::from_vec(mask, shape, device)?,
    })
}

/// Sentence vectors `(batch, hidden)` from last hidden states `(batch, len, hidden)`; built of
/// differentiable operations, so fine-tuning can train through it.
pub fn pool(
    hidden: &Tensor,
    mask: &Tensor,
    pooling: Pooling,
    normalize: bool,
) -> candle_core::Result<Tensor> {
    let pooled = match pooling {
        Pooling::Mean => mean_pool(hidden, mask)?,
        Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
    };
    if normalize {
        l2_normalize(&pooled)
    } else {
        Ok(pooled)
    }
}

impl EmbeddingForward {
    pub fn encoder(&self) -> &BertEncoder {
        &self.encoder
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn embed(&self, batch: &[&Sequence]) -> candle_core::Result<Vec<Vec<f32>>> {
        let padded = pad_batch(batch, &self.device)?;
        let hidden = self
            .encoder
            .forward(&padded.ids, &padded.type_ids, &padded.mask)?;
        pool(&hidden, &padded.mask, self.pooling, self.normalize)?.to_vec2::<f32>()
    }
}

impl BatchForward for EmbeddingForward {
    type Output = Vec<f32>;

    fn forward(&mut self, batch: &[&Sequence]) -> Result<Vec<Vec<f32>>, RuntimeError> {
        self.embed(batch)
            .map_err(|e| RuntimeError::Inference(e.to_string()))
    }
}
