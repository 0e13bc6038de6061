//! A BERT encoder forward pass over safetensors weights. Linear layers on `(batch, len, hidden)`
//! run as one 2-D GEMM over `batch·len` rows, which candle's broadcast batched matmul does not.
//! The layers can also be run a range at a time and replaced, for fine-tuning the top layers.

use std::ops::Range;

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};

use super::weights_file::FileRows;

use super::BertConfig;
use super::layer_math::{DENSE, Dense, LayerWeights, NORMS, Norm, layer_forward};

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

    /// `(out, in)` weight and `(out)` bias, as the checkpoint stores them.
    pub fn weights(&self) -> Result<(Tensor, Tensor)> {
        Ok((self.weight_t.t()?.contiguous()?, self.bias.clone()))
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
    /// Indexed by `Dense as usize`.
    dense: Vec<Linear>,
    /// Indexed by `Norm as usize`.
    norms: Vec<LayerNorm>,
    heads: usize,
}

impl LayerWeights for Layer {
    fn dense(&self, which: Dense, x: &Tensor) -> Result<Tensor> {
        self.dense[which as usize].forward(x)
    }

    fn norm(&self, which: Norm, x: &Tensor) -> Result<Tensor> {
        self.norms[which as usize].forward(x)
    }

    fn softmax_last_dim(&self, scores: &Tensor) -> Result<Tensor> {
        candle_nn::ops::softmax_last_dim(scores)
    }

    fn heads(&self) -> usize {
        self.heads
    }
}

impl Layer {
    /// Every weight under its checkpoint name below `encoder.layer.<i>.`.
    fn weights(&self) -> Result<Vec<(String, Tensor)>> {
        let mut all = Vec::with_capacity(16);
        for ((_, name), linear) in DENSE.iter().zip(&self.dense) {
            let (weight, bias) = linear.weights()?;
            all.push((format!("{name}.weight"), weight));
            all.push((format!("{name}.bias"), bias));
        }
        for ((_, name), norm) in NORMS.iter().zip(&self.norms) {
            let bias = norm
                .bias()
                .ok_or_else(|| candle_core::Error::Msg(format!("{name} has no bias")))?;
            all.push((format!("{name}.weight"), norm.weight().clone()));
            all.push((format!("{name}.bias"), bias.clone()));
        }
        Ok(all)
    }

    fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        let (h, inner) = (c.hidden_size, c.intermediate_size);
        let dense = DENSE
            .iter()
            .map(|&(which, name)| {
                let (in_dim, out_dim) = match which {
                    Dense::Intermediate => (h, inner),
                    Dense::Output => (inner, h),
                    _ => (h, h),
                };
                Linear::load(vb.pp(name), in_dim, out_dim)
            })
            .collect::<Result<_>>()?;
        let norms = NORMS
            .iter()
            .map(|&(_, name)| layer_norm(vb.pp(name), h, c.layer_norm_eps))
            .collect::<Result<_>>()?;
        Ok(Self {
            dense,
            norms,
            heads: c.num_attention_heads,
        })
    }
}

/// The word embedding table: in memory, or left in the weights file and read per lookup.
enum Words {
    Resident(Embedding),
    InFile(FileRows),
}

impl Words {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Self::Resident(table) => table.forward(ids),
            Self::InFile(rows) => rows.lookup(ids),
        }
    }
}

/// Embeddings + encoder layers; `forward` returns the last hidden states `(batch, len, hidden)`.
pub struct BertEncoder {
    words: Words,
    positions: Embedding,
    token_types: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub layer_norm_eps: f64,
}

/// The checkpoint name prefix of encoder layer `i`.
pub fn layer_prefix(i: usize) -> String {
    format!("encoder.layer.{i}")
}

impl BertEncoder {
    /// `vb` points at the encoder root (`bert.` for task checkpoints, the root for bare ones).
    pub fn load(vb: VarBuilder, c: &BertConfig) -> Result<Self> {
        Self::build(vb, c, None)
    }

    /// Like [`Self::load`], with the word embeddings read from their file per lookup.
    pub(crate) fn load_with_words_in_file(
        vb: VarBuilder,
        c: &BertConfig,
        words: FileRows,
    ) -> Result<Self> {
        if words.dims() != (c.vocab_size, c.hidden_size) {
            candle_core::bail!(
                "word embeddings are {:?}, the config says ({}, {})",
                words.dims(),
                c.vocab_size,
                c.hidden_size
            );
        }
        Self::build(vb, c, Some(words))
    }

    fn build(vb: VarBuilder, c: &BertConfig, words_in_file: Option<FileRows>) -> Result<Self> {
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
            .map(|i| Layer::load(vb.pp(layer_prefix(i)), c))
            .collect::<Result<_>>()?;
        let words = match words_in_file {
            Some(rows) => Words::InFile(rows),
            None => Words::Resident(embedding("word_embeddings", c.vocab_size)?),
        };
        Ok(Self {
            words,
            positions: embedding("position_embeddings", c.max_position_embeddings)?,
            token_types: embedding("token_type_embeddings", c.type_vocab_size)?,
            embedding_norm: layer_norm(e.pp("LayerNorm"), h, c.layer_norm_eps)?,
            layers,
            hidden_size: h,
            num_attention_heads: c.num_attention_heads,
            layer_norm_eps: c.layer_norm_eps,
        })
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The weights of layer `i` under their checkpoint names (`encoder.layer.<i>.…`).
    pub fn layer_weights(&self, i: usize) -> Result<Vec<(String, Tensor)>> {
        let layer = self
            .layers
            .get(i)
            .ok_or_else(|| candle_core::Error::Msg(format!("no encoder layer {i}")))?;
        let prefix = layer_prefix(i);
        Ok(layer
            .weights()?
            .into_iter()
            .map(|(name, t)| (format!("{prefix}.{name}"), t))
            .collect())
    }

    /// Replaces layers `first..` with the ones `vb` holds under their checkpoint names.
    pub fn replace_layers(&mut self, vb: VarBuilder, c: &BertConfig, first: usize) -> Result<()> {
        for i in first..self.layers.len() {
            self.layers[i] = Layer::load(vb.pp(layer_prefix(i)), c)?;
        }
        Ok(())
    }

    /// `ids`, `type_ids`, `mask`: `(batch, len)` u32 tensors; mask is 1 for tokens, 0 for padding.
    pub fn forward(&self, ids: &Tensor, type_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let x = self.embed(ids, type_ids)?;
        self.run_layers(&x, &mask_bias(mask)?, 0..self.layers.len())
    }

    /// The normalized input embeddings `(batch, len, hidden)`.
    pub fn embed(&self, ids: &Tensor, type_ids: &Tensor) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?
            .add(&self.token_types.forward(type_ids)?)?;
        self.embedding_norm.forward(&x)
    }

    /// Runs `layers` of the encoder on hidden states `x`.
    pub fn run_layers(
        &self,
        x: &Tensor,
        mask_bias: &Tensor,
        layers: Range<usize>,
    ) -> Result<Tensor> {
        let count = self.layers.len();
        let Some(layers) = self.layers.get(layers.clone()) else {
            candle_core::bail!("layers {layers:?} of an encoder with {count}");
        };
        let mut x = x.clone();
        for layer in layers {
            x = layer_forward(layer, &x, mask_bias)?;
        }
        Ok(x)
    }
}

/// `(batch, 1, 1, len)` attention bias from a `(batch, len)` mask: (1 - mask) * -1e4 keeps
/// padded keys out of every softmax without producing NaNs.
pub fn mask_bias(mask: &Tensor) -> Result<Tensor> {
    ((mask.to_dtype(DType::F32)?.affine(1.0, -1.0)?) * 10_000.0)?
        .unsqueeze(1)?
        .unsqueeze(1)
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
