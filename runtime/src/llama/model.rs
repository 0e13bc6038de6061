use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{D, DType, Device, Module, Result, Tensor};

use super::KvCache;
use super::qlinear::QLinear;
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

struct Layer {
    attn_norm: Tensor,
    q: QLinear,
    k: QLinear,
    v: QLinear,
    o: QLinear,
    ffn_norm: Tensor,
    gate: QLinear,
    up: QLinear,
    down: QLinear,
}

pub struct LlamaModel {
    pub config: LlamaConfig,
    embeddings: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: QLinear,
    /// RoPE tables `(context_length, head_dim / 2)`.
    cos: Tensor,
    sin: Tensor,
    device: Device,
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
        crate::gguf::load_tensors(path, ct, Self::from_gguf)
    }

    fn from_gguf(ct: &gguf_file::Content, file: &mut std::fs::File) -> Result<Self> {
        let device = Device::Cpu;
        let config = LlamaConfig::from_gguf(ct)?;
        let mut tensor = |name: &str| ct.tensor(file, name, &device);
        let dense = |q: candle_core::quantized::QTensor| q.dequantize(&Device::Cpu);
        let embeddings = dense(tensor("token_embd.weight")?)?;
        // Tied embeddings: files without `output.weight` reuse the token embedding matrix.
        let output = match tensor("output.weight") {
            Ok(q) => QLinear::from_qtensor(q)?,
            Err(_) => QLinear::from_qtensor(tensor("token_embd.weight")?)?,
        };
        let norm = dense(tensor("output_norm.weight")?)?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut q = |part: &str| tensor(&format!("blk.{i}.{part}.weight"));
            layers.push(Layer {
                attn_norm: dense(q("attn_norm")?)?,
                q: QLinear::from_qtensor(q("attn_q")?)?,
                k: QLinear::from_qtensor(q("attn_k")?)?,
                v: QLinear::from_qtensor(q("attn_v")?)?,
                o: QLinear::from_qtensor(q("attn_output")?)?,
                ffn_norm: dense(q("ffn_norm")?)?,
                gate: QLinear::from_qtensor(q("ffn_gate")?)?,
                up: QLinear::from_qtensor(q("ffn_up")?)?,
                down: QLinear::from_qtensor(q("ffn_down")?)?,
            });
        }
        let (cos, sin) = rope_tables(&config, &device)?;
        Ok(Self {
            cos,
            sin,
            config,
            embeddings,
            layers,
            norm,
            output,
            device,
        })
    }

    /// Serves at most `tokens` of context (at most the file's): every sequence's KV cache, and
    /// so its memory, is bounded by it.
    pub fn limit_context(&mut self, tokens: usize) {
        self.config.context_length = self.config.context_length.min(tokens.max(1));
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.layers.len(), self.config.context_length)
    }

    /// Width of the input embeddings (what [`LlamaModel::forward_embeddings`] takes per token).
    pub fn hidden_size(&self) -> usize {
        self.config.embedding
    }

    /// Input embeddings of `tokens`: `(tokens, hidden_size)`. Callers may put learned vectors
    /// (soft prompts) before them and run the result with [`LlamaModel::forward_embeddings`].
    pub fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
        let ids = Tensor::new(tokens, &self.device)?;
        self.embeddings.index_select(&ids, 0)
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
        let mut x = embeddings.to_dtype(DType::F32)?.unsqueeze(0)?;
        let cos = self.cos.narrow(0, start, t)?;
        let sin = self.sin.narrow(0, start, t)?;
        // A single new token may attend to every cached position: no mask needed.
        let mask = if t > 1 {
            Some(causal_mask(t, start, &self.device)?)
        } else {
            None
        };
        let group = c.heads / c.kv_heads;
        for (index, layer) in self.layers.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, c.rms_eps)?;
            let heads = |m: &QLinear, n: usize| -> Result<Tensor> {
                m.forward(&h)?
                    .reshape((1, t, n, c.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = candle_nn::rotary_emb::rope_i(&heads(&layer.q, c.heads)?, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_i(&heads(&layer.k, c.kv_heads)?, &cos, &sin)?;
            let v = heads(&layer.v, c.kv_heads)?;
            let (k, v) = cache.append(index, &k, &v)?;
            // Each query head attends to its group's KV head. Folding the group into the rows
            // of one matmul would avoid this copy, but changes the GEMM's row blocking between
            // prompt and decode steps, and the Q8_1-quantized activations amplify that
            // rounding difference into different tokens.
            let k = repeat_kv(&k, group)?;
            let v = repeat_kv(&v, group)?;
            let scores = (q.matmul(&k.t()?)? / (c.head_dim as f64).sqrt())?;
            let scores = match &mask {
                Some(mask) => scores.broadcast_add(mask)?,
                None => scores,
            };
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let attended = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((1, t, c.embedding))?;
            x = (layer.o.forward(&attended)? + x)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, c.rms_eps)?;
            let gated =
                (candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?;
            x = (layer.down.forward(&gated)? + x)?;
        }
        cache.advance(t);
        let x = match at {
            LogitsAt::Last => x.narrow(1, t - 1, 1)?,
            LogitsAt::All => x,
        };
        let x = candle_nn::ops::rms_norm(&x, &self.norm, c.rms_eps)?;
        let logits = self.output.forward(&x)?.squeeze(0)?.to_dtype(DType::F32)?;
        match at {
            LogitsAt::Last => logits.squeeze(0),
            LogitsAt::All => Ok(logits),
        }
    }
}

/// Which positions [`LlamaModel::forward_embeddings`] returns logits for. Every position costs
/// a vocabulary-wide projection per token, so only prompt log-probabilities ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitsAt {
    Last,
    All,
}

/// RoPE `(cos, sin)` tables `(context_length, head_dim / 2)`, shared with the trainable forward
/// pass in `tuning` so both compute the same angles.
pub(crate) fn rope_tables(config: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = config.head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| {
            1.0 / config
                .rope_base
                .powf(2.0 * i as f32 / config.head_dim as f32)
        })
        .collect();
    let positions = Tensor::arange(0u32, config.context_length as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((config.context_length, 1))?;
    let angles = positions.matmul(&Tensor::from_vec(inv_freq, (1, half), device)?)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// `(t, start + t)`: query `i` (absolute `start + i`) sees keys up to `start + i`.
pub(crate) fn causal_mask(t: usize, start: usize, device: &Device) -> Result<Tensor> {
    let total = start + t;
    let values: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j > start + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_vec(values, (t, total), device)
}

pub(crate) fn repeat_kv(x: &Tensor, times: usize) -> Result<Tensor> {
    if times == 1 {
        return Ok(x.clone());
    }
    let (b, n, t, d) = x.dims4()?;
    x.unsqueeze(2)?
        .expand((b, n, times, t, d))?
        .reshape((b, n * times, t, d))
}

/// Index of the largest logit (greedy decoding).
pub fn argmax(logits: &Tensor) -> Result<u32> {
    logits.argmax(D::Minus1)?.to_scalar::<u32>()
}
