//! One BERT encoder layer's computation over any weights: the serving layer runs it with fused
//! kernels, the trainable copy (`crate::tuning::encoder_top`) with differentiable ones, so the
//! two cannot drift apart.

use candle_core::{Result, Tensor};

/// The layer's projections, in checkpoint order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dense {
    Query,
    Key,
    Value,
    AttentionOut,
    Intermediate,
    Output,
}

/// The layer's two normalizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    Attention,
    Output,
}

/// Each projection with its checkpoint name below `encoder.layer.<i>.`; index = `Dense as usize`.
pub const DENSE: [(Dense, &str); 6] = [
    (Dense::Query, "attention.self.query"),
    (Dense::Key, "attention.self.key"),
    (Dense::Value, "attention.self.value"),
    (Dense::AttentionOut, "attention.output.dense"),
    (Dense::Intermediate, "intermediate.dense"),
    (Dense::Output, "output.dense"),
];

/// Each normalization with its checkpoint name; index = `Norm as usize`.
pub const NORMS: [(Norm, &str); 2] = [
    (Norm::Attention, "attention.output.LayerNorm"),
    (Norm::Output, "output.LayerNorm"),
];

/// What a layer's weights can do; [`layer_forward`] composes it.
pub trait LayerWeights {
    /// `x·Wᵀ + b` over the last dimension.
    fn dense(&self, which: Dense, x: &Tensor) -> Result<Tensor>;
    fn norm(&self, which: Norm, x: &Tensor) -> Result<Tensor>;
    fn softmax_last_dim(&self, scores: &Tensor) -> Result<Tensor>;
    fn heads(&self) -> usize;
}

/// Self-attention then the feed-forward block, each with its residual and norm.
/// `mask_bias`: `(batch, 1, 1, len)`, 0 for real tokens and a large negative for padding.
pub fn layer_forward(w: &impl LayerWeights, x: &Tensor, mask_bias: &Tensor) -> Result<Tensor> {
    let (b, l, h) = x.dims3()?;
    let heads = w.heads();
    let head_dim = h / heads;
    let split = |t: Tensor| -> Result<Tensor> {
        t.reshape((b, l, heads, head_dim))?
            .transpose(1, 2)?
            .contiguous()
    };
    let q = split(w.dense(Dense::Query, x)?)?;
    let k = split(w.dense(Dense::Key, x)?)?;
    let v = split(w.dense(Dense::Value, x)?)?;
    let scale = 1.0 / (head_dim as f64).sqrt();
    let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(mask_bias)?;
    let context = w
        .softmax_last_dim(&scores)?
        .matmul(&v)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((b, l, h))?;
    let attended = w.norm(
        Norm::Attention,
        &(w.dense(Dense::AttentionOut, &context)? + x)?,
    )?;
    let inner = w.dense(Dense::Intermediate, &attended)?.gelu_erf()?;
    w.norm(Norm::Output, &(w.dense(Dense::Output, &inner)? + attended)?)
}
