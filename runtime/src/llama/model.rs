use std::path::Path;

use candle_core::quantized::{QTensor, gguf_file};
use candle_core::{D, DType, Module, Result, Tensor};

use super::KvCache;
use super::layer_math::{Keys, LayerWeights, Norm, Proj, Rope, causal_mask, layer_forward};
use super::qlinear::QLinear;
use super::token_embeddings::{EmbeddingTable, QuantizedRows};
use super::weights::{GgufLinear, Layer, LlamaWeights};
use crate::RuntimeError;

/// Hyper-parameters from the GGUF metadata (`llama.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub embedding: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
    pub context_length: usize,
}

impl LlamaConfig {
    pub(crate) fn from_gguf(ct: &gguf_file::Content) -> Result<Self> {
        let get = |key: &str| {
            ct.metadata
                .get(key)
                .ok_or_else(|| candle_core::Error::Msg(format!("GGUF metadata has no {key}")))
        };
        let embedding = get("llama.embedding_length")?.to_u32()? as usize;
        let heads = get("llama.attention.head_count")?.to_u32()? as usize;
        Ok(Self {
            layers: get("llama.block_count")?.to_u32()? as usize,
            heads,
            kv_heads: get("llama.attention.head_count_kv")?.to_u32()? as usize,
            head_dim: embedding / heads,
            embedding,
            rope_base: get("llama.rope.freq_base")
                .and_then(|v| v.to_f32())
                .unwrap_or(10_000.0),
            rms_eps: get("llama.attention.layer_norm_rms_epsilon")?.to_f32()?,
            context_length: get("llama.context_length")?.to_u32()? as usize,
        })
    }
}

pub struct LlamaModel {
    pub config: LlamaConfig,
    weights: LlamaWeights<QLinear>,
}

impl GgufLinear for QLinear {
    type Embeddings = QuantizedRows;

    fn from_qtensor(weight: QTensor) -> Result<Self> {
        QLinear::from_qtensor(weight)
    }

    /// Quantized like the file stores it, for the same fast matmul as every other projection.
    fn tied(embeddings: &QuantizedRows) -> Result<Self> {
        QLinear::from_arc(embeddings.table().clone())
    }
}

/// Serving kernels: quantized matmuls and candle's fused norm, RoPE and softmax (none of which
/// record a backward pass).
impl LayerWeights for Layer<QLinear> {
    fn project(&self, which: Proj, x: &Tensor) -> Result<Tensor> {
        self.linear(which).forward(x)
    }

    fn rms_norm(&self, which: Norm, x: &Tensor, eps: f32) -> Result<Tensor> {
        candle_nn::ops::rms_norm(x, self.norm(which), eps)
    }

    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        candle_nn::rotary_emb::rope_i(x, cos, sin)
    }

    fn softmax_last_dim(&self, scores: &Tensor) -> Result<Tensor> {
        candle_nn::ops::softmax_last_dim(scores)
    }
}

impl LlamaModel {
    pub fn load(path: &Path) -> std::result::Result<Self, RuntimeError> {
        Self::from_content(path, &crate::gguf::read_content(path)?)
    }

    /// Loads the weights of `path`, whose header `ct` was already read (for its tokenizer), so
    /// start-up parses the header once.
    pub fn from_content(
        path: &Path,
        ct: &gguf_file::Content,
    ) -> std::result::Result<Self, RuntimeError> {
        let (config, weights) = crate::gguf::load_tensors(path, ct, LlamaWeights::read)?;
        Ok(Self { config, weights })
    }

    /// Serves at most `tokens` of context (at most the file's): every sequence's KV cache, and
    /// so its memory, is bounded by it.
    pub fn limit_context(&mut self, tokens: usize) {
        self.config.context_length = self.config.context_length.min(tokens.max(1));
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.weights.layers.len(), self.config.context_length)
    }

    /// Width of the input embeddings (what [`LlamaModel::forward_embeddings`] takes per token).
    pub fn hidden_size(&self) -> usize {
        self.config.embedding
    }

    /// Bytes the token embeddings hold beyond the file's own tensors (none: rows are
    /// dequantized from the file's matrix per lookup).
    pub fn lookup_table_bytes(&self) -> u64 {
        self.weights.embeddings.bytes_beyond_file()
    }

    /// Input embeddings of `tokens`: `(tokens, hidden_size)`. Callers may put learned vectors
    /// (soft prompts) before them and run the result with [`LlamaModel::forward_embeddings`].
    pub fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
        self.weights.embed(tokens)
    }

    /// Runs `tokens` after what `cache` holds; returns the logits of the last position (vocab).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        self.forward_embeddings(&self.embed(tokens)?, cache, LogitsAt::Last)
    }

    /// Runs input embeddings `(t, hidden_size)` after what `cache` holds. Returns the logits of
    /// the last position `(vocab)` or of every position `(t, vocab)`.
    pub fn forward_embeddings(
        &self,
        embeddings: &Tensor,
        cache: &mut KvCache,
        at: LogitsAt,
    ) -> Result<Tensor> {
        let (t, width) = embeddings.dims2()?;
        let c = &self.config;
        if t == 0 || width != c.embedding {
            candle_core::bail!(
                "expected input embeddings (t > 0, {}), got ({t}, {width})",
                c.embedding
            );
        }
        let start = cache.len();
        if start + t > c.context_length {
            candle_core::bail!(
                "{} tokens exceed the context of {}",
                start + t,
                c.context_length
            );
        }
        let w = &self.weights;
        let mut x = embeddings.to_dtype(DType::F32)?.unsqueeze(0)?;
        let cos = w.cos.narrow(0, start, t)?;
        let sin = w.sin.narrow(0, start, t)?;
        let rope = Rope {
            cos: &cos,
            sin: &sin,
        };
        // A single new token may attend to every cached position: no mask needed.
        let mask = if t > 1 {
            Some(causal_mask(t, start, &w.device)?)
        } else {
            None
        };
        for (index, layer) in w.layers.iter().enumerate() {
            let keys = Keys::Cached {
                cache: &mut *cache,
                layer: index,
            };
            x = layer_forward(layer, c, &x, &rope, mask.as_ref(), keys)?;
        }
        cache.advance(t);
        let x = match at {
            LogitsAt::Last => x.narrow(1, t - 1, 1)?,
            LogitsAt::All => x,
        };
        let x = candle_nn::ops::rms_norm(&x, &w.norm, c.rms_eps)?;
        let logits = w.output.forward(&x)?.squeeze(0)?.to_dtype(DType::F32)?;
        match at {
            LogitsAt::Last => logits.squeeze(0),
            LogitsAt::All => Ok(logits),
        }
    }
}

impl LlamaModel {
    /// One decoding step of several sequences at once: `tokens[i]` runs after what `caches[i]`
    /// holds. Returns each sequence's logits (vocab). The projections read each weight once for
    /// every row, which is what makes concurrent streams cheaper together than stepped one by
    /// one; attention runs per sequence, and each row's logits equal what [`Self::forward`]
    /// gives that sequence alone.
    pub fn forward_batch(
        &self,
        tokens: &[u32],
        caches: &mut [&mut KvCache],
    ) -> Result<Vec<Vec<f32>>> {
        let c = &self.config;
        if tokens.is_empty() || tokens.len() != caches.len() {
            candle_core::bail!("{} tokens for {} sequences", tokens.len(), caches.len())
        }
        if let Some(full) = caches.iter().find(|k| k.len() + 1 > c.context_length) {
            candle_core::bail!(
                "{} tokens exceed the context of {}",
                full.len() + 1,
                c.context_length
            );
        }
        let w = &self.weights;
        let positions: Vec<u32> = caches.iter().map(|k| k.len() as u32).collect();
        let positions = Tensor::new(positions.as_slice(), &w.device)?;
        let cos = w.cos.index_select(&positions, 0)?.unsqueeze(1)?;
        let sin = w.sin.index_select(&positions, 0)?.unsqueeze(1)?;
        let rope = Rope {
            cos: &cos,
            sin: &sin,
        };
        let mut x = self.embed(tokens)?.unsqueeze(1)?;
        for (index, layer) in w.layers.iter().enumerate() {
            let keys = Keys::PerRow {
                caches: &mut *caches,
                layer: index,
            };
            x = layer_forward(layer, c, &x, &rope, None, keys)?;
        }
        for cache in caches.iter_mut() {
            cache.advance(1);
        }
        let x = candle_nn::ops::rms_norm(&x, &w.norm, c.rms_eps)?;
        w.output
            .forward(&x)?
            .squeeze(1)?
            .to_dtype(DType::F32)?
            .to_vec2()
    }
}

/// Which positions [`LlamaModel::forward_embeddings`] returns logits for. Every position costs
/// a vocabulary-wide projection per token, so only prompt log-probabilities ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitsAt {
    Last,
    All,
}

/// Index of the largest logit (greedy decoding).
pub fn argmax(logits: &Tensor) -> Result<u32> {
    logits.argmax(D::Minus1)?.to_scalar::<u32>()
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
