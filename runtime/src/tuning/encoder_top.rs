//! The top layers of a BERT encoder as trainable variables, for fine-tuning them with a
//! classifier head.
//!
//! The frozen layers below run once per text ([`EncodedTexts`] keeps their output), so a step
//! costs only the tuned layers. The serving encoder's fused layer norm and softmax record no
//! backward pass (candle drops the gradient through them silently), so these layers compose
//! both from differentiable operations; the result matches the serving forward pass, and the
//! tuned weights load back into it under their checkpoint names.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Result, Tensor, Var};

use super::{Features, TuningError};
use crate::bert::{
    BertEncoder, DENSE, Dense, LayerWeights, NORMS, Norm, Pooling, layer_forward, mask_bias, pool,
};

/// A trainable weight and bias.
struct Pair {
    weight: Var,
    bias: Var,
}

/// `y = x·Wᵀ + b` over the last dimension, with `W` `(out, in)`.
fn dense(p: &Pair, x: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let in_dim = dims[dims.len() - 1];
    let rows = x.elem_count() / in_dim;
    let y = x
        .reshape((rows, in_dim))?
        .matmul(&p.weight.as_tensor().t()?)?
        .broadcast_add(p.bias.as_tensor())?;
    let mut out = dims;
    let last = out.len() - 1;
    out[last] = y.dim(1)?;
    y.reshape(out)
}

/// Layer normalization over the last dimension, composed so it has a backward pass.
fn layer_norm(p: &Pair, eps: f64, x: &Tensor) -> Result<Tensor> {
    let centered = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
    let variance = centered.sqr()?.mean_keepdim(D::Minus1)?;
    centered
        .broadcast_div(&(variance + eps)?.sqrt()?)?
        .broadcast_mul(p.weight.as_tensor())?
        .broadcast_add(p.bias.as_tensor())
}

struct TrainableLayer {
    /// The checkpoint name prefix, `encoder.layer.<i>`.
    prefix: String,
    /// Indexed by `Dense as usize`.
    dense: Vec<Pair>,
    /// Indexed by `Norm as usize`.
    norms: Vec<Pair>,
    eps: f64,
    heads: usize,
}

impl LayerWeights for TrainableLayer {
    fn dense(&self, which: Dense, x: &Tensor) -> Result<Tensor> {
        dense(&self.dense[which as usize], x)
    }

    fn norm(&self, which: Norm, x: &Tensor) -> Result<Tensor> {
        layer_norm(&self.norms[which as usize], self.eps, x)
    }

    fn softmax_last_dim(&self, scores: &Tensor) -> Result<Tensor> {
        candle_nn::ops::softmax(scores, D::Minus1)
    }

    fn heads(&self) -> usize {
        self.heads
    }
}

impl TrainableLayer {
    fn from_encoder(encoder: &BertEncoder, i: usize) -> Result<Self> {
        let mut weights: HashMap<String, Tensor> = encoder.layer_weights(i)?.into_iter().collect();
        let prefix = crate::bert::layer_prefix(i);
        let mut pair = |name: &str| -> Result<Pair> {
            let mut var = |part: &str| -> Result<Var> {
                let key = format!("{prefix}.{name}.{part}");
                let tensor = weights
                    .remove(&key)
                    .ok_or_else(|| candle_core::Error::Msg(format!("no weight {key}")))?;
                // A copy: training must not write into the serving model's weights.
                Var::from_tensor(&tensor.copy()?)
            };
            Ok(Pair {
                weight: var("weight")?,
                bias: var("bias")?,
            })
        };
        let dense = DENSE
            .iter()
            .map(|(_, name)| pair(name))
            .collect::<Result<_>>()?;
        let norms = NORMS
            .iter()
            .map(|(_, name)| pair(name))
            .collect::<Result<_>>()?;
        Ok(Self {
            prefix,
            dense,
            norms,
            eps: encoder.layer_norm_eps,
            heads: encoder.num_attention_heads,
        })
    }

    /// Every variable under its checkpoint name.
    fn named(&self) -> Vec<(String, &Var)> {
        let names = DENSE
            .iter()
            .map(|(_, n)| n)
            .chain(NORMS.iter().map(|(_, n)| n));
        let pairs = self.dense.iter().chain(&self.norms);
        names
            .zip(pairs)
            .flat_map(|(name, p)| {
                [
                    (format!("{}.{name}.weight", self.prefix), &p.weight),
                    (format!("{}.{name}.bias", self.prefix), &p.bias),
                ]
            })
            .collect()
    }
}

/// The last layers of an encoder, trainable, with the model's pooling.
pub struct TrainableEncoderTop {
    /// Index of the first tuned layer.
    pub first: usize,
    layers: Vec<TrainableLayer>,
    pooling: Pooling,
    normalize: bool,
}

impl TrainableEncoderTop {
    /// The last `count` layers of `encoder` (at least one, at most all).
    pub fn new(
        encoder: &BertEncoder,
        count: usize,
        pooling: Pooling,
        normalize: bool,
    ) -> std::result::Result<Self, TuningError> {
        let total = encoder.num_layers();
        if count == 0 || count > total {
            return Err(TuningError::Invalid(format!(
                "cannot tune {count} layers of an encoder with {total}"
            )));
        }
        let first = total - count;
        let layers = (first..total)
            .map(|i| TrainableLayer::from_encoder(encoder, i))
            .collect::<Result<_>>()?;
        Ok(Self {
            first,
            layers,
            pooling,
            normalize,
        })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|l| l.named().into_iter().map(|(_, v)| v.clone()))
            .collect()
    }

    /// The tuned weights under their checkpoint names.
    pub fn weights(&self) -> HashMap<String, Tensor> {
        self.layers
            .iter()
            .flat_map(|l| l.named())
            .map(|(name, var)| (name, var.as_tensor().detach()))
            .collect()
    }

    pub fn save(&self, path: &Path) -> std::result::Result<(), TuningError> {
        candle_core::safetensors::save(&self.weights(), path)
            .map_err(|e| TuningError::Failed(format!("saving {}: {e}", path.display())))
    }

    /// Sentence vectors `(batch, hidden)` from the frozen layers' output `(batch, len, hidden)`.
    pub fn forward(&self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let bias = mask_bias(mask)?;
        let mut x = hidden.clone();
        for layer in &self.layers {
            x = layer_forward(layer, &x, &bias)?;
        }
        pool(&x, mask, self.pooling, self.normalize)
    }
}

/// Texts as the frozen layers below the tuned ones leave them, with their labels: the features
/// [`TrainableEncoderTop`] turns into sentence vectors.
pub struct EncodedTexts<'a> {
    /// Per text `(tokens, hidden)`.
    pub hidden: Vec<Tensor>,
    pub labels: Vec<Vec<usize>>,
    pub top: &'a TrainableEncoderTop,
}

impl EncodedTexts<'_> {
    /// The frozen part for every text in `batch` (token ids per text, type ids 0), one text at
    /// a time so no padding enters the cached states.
    pub fn encode(
        encoder: &BertEncoder,
        first: usize,
        texts: &[Vec<u32>],
    ) -> std::result::Result<Vec<Tensor>, TuningError> {
        let mut hidden = Vec::with_capacity(texts.len());
        for ids in texts {
            let len = ids.len();
            let tokens = Tensor::from_vec(ids.clone(), (1, len), &Device::Cpu)?;
            let types = Tensor::zeros((1, len), DType::U32, &Device::Cpu)?;
            let mask = Tensor::ones((1, len), DType::U32, &Device::Cpu)?;
            let x = encoder.embed(&tokens, &types)?;
            let x = encoder.run_layers(&x, &mask_bias(&mask)?, 0..first)?;
            hidden.push(x.squeeze(0)?);
        }
        Ok(hidden)
    }
}

impl Features for EncodedTexts<'_> {
    fn len(&self) -> usize {
        self.hidden.len()
    }

    fn width(&self) -> usize {
        self.hidden.first().map_or(0, |h| h.dims()[1])
    }

    fn labels(&self) -> &[Vec<usize>] {
        &self.labels
    }

    fn rows(&self, rows: &[usize]) -> std::result::Result<Tensor, TuningError> {
        let longest = rows
            .iter()
            .map(|&i| self.hidden[i].dims()[0])
            .max()
            .unwrap_or(1);
        let width = self.width();
        let (mut padded, mut mask) = (Vec::with_capacity(rows.len()), Vec::new());
        for &i in rows {
            let states = &self.hidden[i];
            let len = states.dims()[0];
            let states = if len < longest {
                let pad = Tensor::zeros((longest - len, width), DType::F32, &Device::Cpu)?;
                Tensor::cat(&[states, &pad], 0)?
            } else {
                states.clone()
            };
            padded.push(states);
            mask.extend(std::iter::repeat_n(1u32, len));
            mask.extend(std::iter::repeat_n(0u32, longest - len));
        }
        let hidden = Tensor::stack(&padded, 0)?;
        let mask = Tensor::from_vec(mask, (rows.len(), longest), &Device::Cpu)?;
        Ok(self.top.forward(&hidden, &mask)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trainable copy computes what the serving encoder computes, and gradients reach every
    /// tuned weight (candle would drop them silently through a fused op).
    #[test]
    fn the_trainable_top_matches_the_encoder_and_gets_gradients() {
        let test = "the_trainable_top_matches_the_encoder_and_gets_gradients";
        let Some(dir) = crate::test_models::minilm_dir(test) else {
            return;
        };
        let _memory = crate::test_models::beside_the_memory_bound();
        let model = crate::bert::EmbeddingModel::load(&dir).unwrap();
        let encoder = model.forward.encoder();
        let top = TrainableEncoderTop::new(encoder, 2, model.pooling, model.normalize).unwrap();
        assert_eq!(top.first, encoder.num_layers() - 2);
        let texts = [
            vec![101u32, 7592, 2088, 102],
            vec![101, 2023, 2003, 1037, 3231, 102],
        ];
        let hidden = EncodedTexts::encode(encoder, top.first, &texts).unwrap();
        let encoded = EncodedTexts {
            hidden,
            labels: vec![vec![0], vec![1]],
            top: &top,
        };
        let tuned = encoded.rows(&[0, 1]).unwrap();
        // The serving path: the whole encoder on the padded batch, then the same pooling.
        let sequences: Vec<crate::Sequence> = texts
            .iter()
            .map(|ids| crate::Sequence {
                ids: ids.clone(),
                type_ids: vec![0; ids.len()],
            })
            .collect();
        let refs: Vec<&crate::Sequence> = sequences.iter().collect();
        let padded = crate::bert::pad_batch(&refs, &Device::Cpu).unwrap();
        let full = encoder
            .forward(&padded.ids, &padded.type_ids, &padded.mask)
            .unwrap();
        let served = pool(&full, &padded.mask, model.pooling, model.normalize).unwrap();
        let difference = (&tuned - &served)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(difference < 1e-4, "max difference {difference}");

        let grads = tuned.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for (name, var) in top.layers.iter().flat_map(|l| l.named()) {
            let grad = grads.get(var.as_tensor());
            assert!(grad.is_some(), "no gradient for {name}");
        }
        assert_eq!(top.weights().len(), 2 * 16);

        // Changed weights, saved and loaded into a serving model, give what the trainable
        // copy computes with them.
        for (_, var) in top.layers.iter().flat_map(|l| l.named()) {
            var.set(&(var.as_tensor() * 1.1).unwrap()).unwrap();
        }
        let changed = encoded.rows(&[0, 1]).unwrap();
        let file =
            std::env::temp_dir().join(format!("taskgate-top-{}.safetensors", std::process::id()));
        top.save(&file).unwrap();
        let mut tuned_model =
            crate::bert::EmbeddingModel::load_with_layers(&dir, Some((&file, 2))).unwrap();
        std::fs::remove_file(&file).unwrap();
        let served =
            crate::batching::BatchForward::forward(&mut tuned_model.forward, &refs).unwrap();
        let changed = changed.to_vec2::<f32>().unwrap();
        for (a, b) in changed.iter().flatten().zip(served.iter().flatten()) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert!(
            (changed[0][0] - tuned.to_vec2::<f32>().unwrap()[0][0]).abs() > 1e-6,
            "the changed weights changed nothing"
        );
    }
}
