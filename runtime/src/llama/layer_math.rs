//! One Llama decoder layer's computation over any weights: serving runs it with quantized
//! matmuls, fused kernels and a KV cache ([`super::LlamaModel`]), prompt tuning with frozen f32
//! projections and composed, differentiable kernels (`crate::tuning::prompt::TrainableLlama`),
//! so the two cannot drift apart. As `crate::bert::layer_math` is for BERT.

use candle_core::{Device, Result, Tensor};

use super::{KvCache, LlamaConfig};

/// The layer's projections, in the order [`PROJECTIONS`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proj {
    Query,
    Key,
    Value,
    AttentionOut,
    Gate,
    Up,
    Down,
}

/// The layer's two RMS normalizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    Attention,
    Ffn,
}

/// Each projection with its GGUF name below `blk.<i>.`; index = `Proj as usize`.
pub const PROJECTIONS: [(Proj, &str); 7] = [
    (Proj::Query, "attn_q"),
    (Proj::Key, "attn_k"),
    (Proj::Value, "attn_v"),
    (Proj::AttentionOut, "attn_output"),
    (Proj::Gate, "ffn_gate"),
    (Proj::Up, "ffn_up"),
    (Proj::Down, "ffn_down"),
];

/// Each normalization with its GGUF name; index = `Norm as usize`.
pub const NORMS: [(Norm, &str); 2] = [(Norm::Attention, "attn_norm"), (Norm::Ffn, "ffn_norm")];

/// What a layer's weights can do; [`layer_forward`] composes it.
pub trait LayerWeights {
    /// `x·Wᵀ` over the last dimension.
    fn project(&self, which: Proj, x: &Tensor) -> Result<Tensor>;
    fn rms_norm(&self, which: Norm, x: &Tensor, eps: f32) -> Result<Tensor>;
    /// Interleaved RoPE (GGUF permutes the Q/K weights for it) of `(b, heads, t, head_dim)`.
    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor>;
    fn softmax_last_dim(&self, scores: &Tensor) -> Result<Tensor>;
}

/// Where a layer's attention finds its keys and values.
pub enum Keys<'a, 'c> {
    /// Only the positions being run (a whole sequence at once, as training does).
    Fresh,
    /// After what a sequence's cache holds for this layer; the new ones are appended to it.
    Cached {
        cache: &'a mut KvCache,
        layer: usize,
    },
    /// One new position per row of the batch, each its own sequence: row `i` attends to what
    /// `caches[i]` holds for this layer, and its key and value are appended there.
    PerRow {
        caches: &'a mut [&'c mut KvCache],
        layer: usize,
    },
}

/// RoPE angles of the positions being run, `(t, head_dim / 2)` each, or `(b, t, head_dim / 2)`
/// when each row of the batch is at its own position.
pub struct Rope<'a> {
    pub cos: &'a Tensor,
    pub sin: &'a Tensor,
}

/// Attention then the gated feed-forward block, each after its norm and with its residual.
/// `x`: `(b, t, hidden)`; `mask`: added to the attention scores (`(t, keys)`, 0 or -inf), none
/// when every key may be seen.
pub fn layer_forward(
    w: &impl LayerWeights,
    c: &LlamaConfig,
    x: &Tensor,
    rope: &Rope<'_>,
    mask: Option<&Tensor>,
    keys: Keys<'_, '_>,
) -> Result<Tensor> {
    let (b, t, _) = x.dims3()?;
    let h = w.rms_norm(Norm::Attention, x, c.rms_eps)?;
    let heads = |which: Proj, n: usize| -> Result<Tensor> {
        w.project(which, &h)?
            .reshape((b, t, n, c.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    };
    let q = w.rope(&heads(Proj::Query, c.heads)?, rope.cos, rope.sin)?;
    let k = w.rope(&heads(Proj::Key, c.kv_heads)?, rope.cos, rope.sin)?;
    let v = heads(Proj::Value, c.kv_heads)?;
    let attended = match keys {
        Keys::Fresh => attend(w, c, &q, &k, &v, mask)?,
        Keys::Cached { cache, layer } => {
            let (k, v) = cache.append(layer, &k, &v)?;
            attend(w, c, &q, &k, &v, mask)?
        }
        // Each row alone, exactly as a step of its sequence on its own would run.
        Keys::PerRow { caches, layer } => {
            if caches.len() != b || t != 1 {
                candle_core::bail!("{} caches for a batch of {b} × {t} positions", caches.len())
            }
            let rows = caches
                .iter_mut()
                .enumerate()
                .map(|(i, cache)| {
                    let row = |x: &Tensor| x.narrow(0, i, 1);
                    let (k, v) = cache.append(layer, &row(&k)?, &row(&v)?)?;
                    attend(w, c, &row(&q)?, &k, &v, None)
                })
                .collect::<Result<Vec<_>>>()?;
            Tensor::cat(&rows, 0)?
        }
    };
    let attended = attended.transpose(1, 2)?.reshape((b, t, c.embedding))?;
    let x = (w.project(Proj::AttentionOut, &attended)? + x)?;
    let h = w.rms_norm(Norm::Ffn, &x, c.rms_eps)?;
    let gated = (w.project(Proj::Gate, &h)?.silu()? * w.project(Proj::Up, &h)?)?;
    w.project(Proj::Down, &gated)? + x
}

/// `softmax(q·kᵀ/√d + mask)·v` of one layer: `(b, heads, t, head_dim)`.
fn attend(
    w: &impl LayerWeights,
    c: &LlamaConfig,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    // Each query head attends to its group's KV head. Folding the group into the rows of one
    // matmul would avoid this copy, but changes the GEMM's row blocking between prompt and
    // decode steps, and the Q8_1-quantized activations amplify that rounding difference into
    // different tokens.
    let group = c.heads / c.kv_heads;
    let k = repeat_kv(k, group)?;
    let v = repeat_kv(v, group)?;
    let scores = (q.matmul(&k.t()?)? / (c.head_dim as f64).sqrt())?;
    let scores = match mask {
        Some(mask) => scores.broadcast_add(mask)?,
        None => scores,
    };
    w.softmax_last_dim(&scores)?.matmul(&v)
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

fn repeat_kv(x: &Tensor, times: usize) -> Result<Tensor> {
    if times == 1 {
        return Ok(x.clone());
    }
    let (b, n, t, d) = x.dims4()?;
    x.unsqueeze(2)?
        .expand((b, n, times, t, d))?
        .reshape((b, n * times, t, d))
}
