use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{D, DType, Device, Module, Result, Tensor};

use super::qlinear::{QLinear, QLinear as QMatMul};
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
    fn from_gguf(ct: &gguf_file::Content) -> Result<Self> {
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

/// One sequence's attention keys and values, per layer: `(1, kv_heads, len, head_dim)`.
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// Tokens already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn unavailable(path: &Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Unavailable(format!("model {}: {e}", path.display()))
}

impl LlamaModel {
    pub fn load(path: &Path) -> std::result::Result<Self, RuntimeError> {
        let mut file = std::fs::File::open(path).map_err(|e| unavailable(path, e))?;
        let ct = gguf_file::Content::read(&mut file).map_err(|e| unavailable(path, e))?;
        Self::from_gguf(&ct, &mut file).map_err(|e| unavailable(path, e))
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
        let half = config.head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| {
                1.0 / config
                    .rope_base
                    .powf(2.0 * i as f32 / config.head_dim as f32)
            })
            .collect();
        let positions = Tensor::arange(0u32, config.context_length as u32, &device)?
            .to_dtype(DType::F32)?
            .reshape((config.context_length, 1))?;
        let angles = positions.matmul(&Tensor::from_vec(inv_freq, (1, half), &device)?)?;
        Ok(Self {
            cos: angles.cos()?,
            sin: angles.sin()?,
            config,
            embeddings,
            layers,
            norm,
            output,
            device,
        })
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache {
            layers: (0..self.layers.len()).map(|_| None).collect(),
            len: 0,
        }
    }

    /// Runs `tokens` after what `cache` holds; returns the logits of the last position (vocab).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let t = tokens.len();
        let start = cache.len;
        if start + t > self.config.context_length {
            candle_core::bail!(
                "{} tokens exceed the context of {}",
                start + t,
                self.config.context_length
            );
        }
        let ids = Tensor::new(tokens, &self.device)?;
        let mut x = self.embeddings.index_select(&ids, 0)?.unsqueeze(0)?;
        let cos = self.cos.narrow(0, start, t)?;
        let sin = self.sin.narrow(0, start, t)?;
        let mask = causal_mask(t, start, &self.device)?;
        let c = &self.config;
        for (layer, slot) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, c.rms_eps)?;
            let heads = |m: &QMatMul, n: usize| -> Result<Tensor> {
                m.forward(&h)?
                    .reshape((1, t, n, c.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = candle_nn::rotary_emb::rope_i(&heads(&layer.q, c.heads)?, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_i(&heads(&layer.k, c.kv_heads)?, &cos, &sin)?;
            let v = heads(&layer.v, c.kv_heads)?;
            let (k, v) = match slot.take() {
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                None => (k, v),
            };
            *slot = Some((k.clone(), v.clone()));
            let k = repeat_kv(&k, c.heads / c.kv_heads)?;
            let v = repeat_kv(&v, c.heads / c.kv_heads)?;
            let scores = (q.matmul(&k.t()?)? / (c.head_dim as f64).sqrt())?.broadcast_add(&mask)?;
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
        cache.len += t;
        let last = x.narrow(1, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, c.rms_eps)?;
        self.output
            .forward(&last)?
            .squeeze(0)?
            .squeeze(0)?
            .to_dtype(DType::F32)
    }
}

/// `(t, start + t)`: query `i` (absolute `start + i`) sees keys up to `start + i`.
fn causal_mask(t: usize, start: usize, device: &Device) -> Result<Tensor> {
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

fn repeat_kv(x: &Tensor, times: usize) -> Result<Tensor> {
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
