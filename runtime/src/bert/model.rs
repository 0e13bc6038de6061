//! A BERT encoder forward pass over safetensors weights. Linear layers on `(batch, len, hidden)`
//! run as one 2-D GEMM over `batch·len` rows, which candle's broadcast batched matmul does not.

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};

use super::BertConfig;

/// `y = x·Wᵀ + b` for inputs of any rank, as one 2-D matmul.
#[derive(Debug, Clone)]
pub struct Linear {
    weight_t: Tensor,
    bias: Tensor,
}

impl Linear {
    pub fn load(vb: VarBuilder, in_dim: usize, out_dim: usize) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = vb.get(out_dim, "bias")?;
        // Transposed once at load so every forward multiplies contiguous memory.
        Ok(Self {
            weight_t: weight.t()?.contiguous()?,
            bias,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = *dims
            .last()
            .expect("linear input has at least one dimension");
        let rows = x.elem_count() / in_dim;
        let y = x
            .reshape((rows, in_dim))?
            .matmul(&self.weight_t)?
            .broadcast_add(&self.bias)?;
        let mut out_dims = dims;
        *out_dims.last_mut().expect("non-empty dims") = y.dim(1)?;
        y.reshape(out_dims)
    }
}

fn layer_norm(vb: VarBuilder, size: usize, eps: f64) -> Result<LayerNorm> {
    let weight = vb.get(size, "weight")?;
    let bias = vb.get(size, "bias")?;
    Ok(LayerNorm::new(weight, bias, eps))
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
}

impl Layer {
    fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        let attention = vb.pp("attention");
        Ok(Self {
            query: Linear::load(attention.pp("self.query"), h, h)?,
            key: Linear::load(attention.pp("self.key"), h, h)?,
            value: Linear::load(attention.pp("self.value"), h, h)?,
            attention_out: Linear::load(attention.pp("output.dense"), h, h)?,
            attention_norm: layer_norm(attention.pp("output.LayerNorm"), h, c.layer_norm_eps)?,
            intermediate: Linear::load(vb.pp("intermediate.dense"), h, c.intermediate_size)?,
            output: Linear::load(vb.pp("output.dense"), c.intermediate_size, h)?,
            output_norm: layer_norm(vb.pp("output.LayerNorm"), h, c.layer_norm_eps)?,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
        })
    }

    /// `mask_bias`: `(batch, 1, 1, len)`, 0 for real tokens and a large negative for padding.
    fn forward(&self, x: &Tensor, mask_bias: &Tensor) -> Result<Tensor> {
        let (b, l, h) = x.dims3()?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((b, l, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(mask_bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, l, h))?;
        let attended = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let inner = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + attended)?)
    }
}

/// Embeddings + encoder layers; `forward` returns the last hidden states `(batch, len, hidden)`.
pub struct BertEncoder {
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    pub hidden_size: usize,
}

impl BertEncoder {
    /// `vb` points at the encoder root (`bert.` for task checkpoints, the root for bare ones).
    pub fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        if c.hidden_act != "gelu" {
            candle_core::bail!("unsupported hidden_act '{}' (only gelu)", c.hidden_act);
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            candle_core::bail!("hidden_size must be a multiple of num_attention_heads");
        }
        let e = vb.pp("embeddings");
        let h = c.hidden_size;
        let embedding = |name: &str, rows: usize| -> Result<Embedding> {
            Ok(Embedding::new(e.pp(name).get((rows, h), "weight")?, h))
        };
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), c))
            .collect::<Result<_>>()?;
        Ok(Self {
            words: embedding("word_embeddings", c.vocab_size)?,
            positions: embedding("position_embeddings", c.max_position_embeddings)?,
            token_types: embedding("token_type_embeddings", c.type_vocab_size)?,
            embedding_norm: layer_norm(e.pp("LayerNorm"), h, c.layer_norm_eps)?,
            layers,
            hidden_size: h,
        })
    }

    /// `ids`, `type_ids`, `mask`: `(batch, len)` u32 tensors; mask is 1 for tokens, 0 for padding.
    pub fn forward(&self, ids: &Tensor, type_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?
            .add(&self.token_types.forward(type_ids)?)?;
        let mut x = self.embedding_norm.forward(&x)?;
        // (1 - mask) * -1e4 keeps padded keys out of every softmax without producing NaNs.
        let mask_bias = ((mask.to_dtype(DType::F32)?.affine(1.0, -1.0)?) * 10_000.0)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        for layer in &self.layers {
            x = layer.forward(&x, &mask_bias)?;
        }
        Ok(x)
    }
}

/// Masked mean over the sequence: `(batch, len, hidden)` → `(batch, hidden)`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}

/// Row-wise L2 normalisation.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    x.broadcast_div(&norm)
}
