//! A differentiable forward pass of the Llama decoder in [`crate::llama`], for training inputs
//! (soft prompts) against frozen weights.
//!
//! The serving model cannot be differentiated: its quantized matmuls and candle's fused
//! `rms_norm`, `softmax_last_dim` and `rope_i` record no backward pass, and candle silently
//! drops the gradient through them. This copy holds the weights dequantized to f32 once, runs
//! every projection through [`FrozenLinear`] (input gradients only), and uses candle's composed
//! norm, RoPE and softmax, which do record one. It runs whole sequences (no KV cache) with a
//! causal mask through the same layer computation as serving (`crate::llama::layer_math`) and
//! the same loader, so only the kernels differ.

use std::path::Path;

use candle_core::quantized::{QTensor, gguf_file};
use candle_core::{D, DType, Device, Result, Tensor};

use super::frozen_linear::FrozenLinear;
use crate::RuntimeError;
use crate::llama::LlamaConfig;
use crate::llama::layer_math::{Keys, LayerWeights, Norm, Proj, Rope, causal_mask, layer_forward};
use crate::llama::weights::{GgufLinear, Layer, LlamaWeights};

pub struct TrainableLlama {
    pub config: LlamaConfig,
    /// The token embeddings are also the output head's weight when the file ties them.
    weights: LlamaWeights<FrozenLinear>,
}

impl GgufLinear for FrozenLinear {
    type Embeddings = Tensor;

    fn from_qtensor(weight: QTensor) -> Result<Self> {
        FrozenLinear::new(weight.dequantize(&Device::Cpu)?.to_dtype(DType::F32)?)
    }

    /// Shares the embedding table rather than holding a second f32 copy of it.
    fn tied(embeddings: &Tensor) -> Result<Self> {
        FrozenLinear::new(embeddings.clone())
    }
}

/// Differentiable kernels: frozen projections (input gradients only) and candle's composed
/// norm, RoPE and softmax, which record a backward pass where the fused ones do not.
impl LayerWeights for Layer<FrozenLinear> {
    fn project(&self, which: Proj, x: &Tensor) -> Result<Tensor> {
        self.linear(which).forward(x)
    }

    fn rms_norm(&self, which: Norm, x: &Tensor, eps: f32) -> Result<Tensor> {
        candle_nn::ops::rms_norm_slow(x, self.norm(which), eps)
    }

    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        candle_nn::rotary_emb::rope_i_slow(x, cos, sin)
    }

    fn softmax_last_dim(&self, scores: &Tensor) -> Result<Tensor> {
        candle_nn::ops::softmax(scores, D::Minus1)
    }
}

impl TrainableLlama {
    pub fn load(path: &Path) -> std::result::Result<Self, RuntimeError> {
        Self::from_content(path, &crate::gguf::read_content(path)?)
    }

    /// Loads and dequantizes the weights of `path`, whose header `ct` was already read (for its
    /// tokenizer).
    pub fn from_content(
        path: &Path,
        ct: &gguf_file::Content,
    ) -> std::result::Result<Self, RuntimeError> {
        let (config, weights) = crate::gguf::load_tensors(path, ct, LlamaWeights::read)?;
        Ok(Self { config, weights })
    }

    pub fn hidden_size(&self) -> usize {
        self.config.embedding
    }

    pub fn device(&self) -> &Device {
        &self.weights.device
    }

    /// The token embedding table `(vocab, hidden)`, frozen.
    pub fn embedding_table(&self) -> &Tensor {
        &self.weights.embeddings
    }

    /// Input embeddings of `tokens`: `(tokens, hidden)`, carrying no gradient.
    pub fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
        self.weights.embed(tokens)
    }

    /// Final-normed hidden states `(batch, t, hidden)` of input embeddings `(batch, t, hidden)`,
    /// each position attending to itself and the positions before it. Right padding therefore
    /// leaves the real positions untouched. Project the rows that matter with
    /// [`TrainableLlama::logits`]: the vocabulary-wide head is the largest matmul by far.
    pub fn hidden(&self, embeddings: &Tensor) -> Result<Tensor> {
        let (b, t, width) = embeddings.dims3()?;
        let c = &self.config;
        if t == 0 || width != c.embedding {
            candle_core::bail!(
                "expected input embeddings (batch, t > 0, {}), got ({b}, {t}, {width})",
                c.embedding
            );
        }
        if t > c.context_length {
            candle_core::bail!("{t} positions exceed the context of {}", c.context_length);
        }
        let w = &self.weights;
        let cos = w.cos.narrow(0, 0, t)?;
        let sin = w.sin.narrow(0, 0, t)?;
        let rope = Rope {
            cos: &cos,
            sin: &sin,
        };
        let mask = causal_mask(t, 0, &w.device)?;
        let mut x = embeddings.to_dtype(DType::F32)?;
        for layer in &w.layers {
            x = layer_forward(layer, c, &x, &rope, Some(&mask), Keys::Fresh)?;
        }
        candle_nn::ops::rms_norm_slow(&x, &w.norm, c.rms_eps)
    }

    /// Logits `(..., vocab)` of final-normed hidden states `(..., hidden)`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.weights.output.forward(hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgufTokenizer;
    use crate::llama::{LlamaModel, argmax};
    use crate::test_models::smollm2_gguf;

    /// The serving path quantizes activations to 8 bits before each Q4_1 matmul (as llama.cpp
    /// does); this f32 path does not. On SmolLM2 that moves logits by about 0.5 (0.58 was
    /// measured with candle's own quantized Llama), so the bound leaves room above that while
    /// still catching a wrong layout (a missed RoPE permutation or GQA mapping moves logits by
    /// several units and changes the argmax).
    const LOGIT_TOLERANCE: f32 = 1.5;

    #[test]
    fn last_logits_agree_with_the_serving_model() {
        let Some(path) = smollm2_gguf("last_logits_agree_with_the_serving_model") else {
            return;
        };
        let _memory = crate::test_models::beside_the_memory_bound();
        let ct = crate::gguf::read_content(&path).unwrap();
        let tokenizer = GgufTokenizer::from_content(&ct).unwrap();
        let prompt =
            "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
        let tokens = tokenizer.encode(prompt).unwrap();

        let serving = LlamaModel::from_content(&path, &ct).unwrap();
        let mut cache = serving.new_cache();
        let expected = serving.forward(&tokens, &mut cache).unwrap();

        let model = TrainableLlama::from_content(&path, &ct).unwrap();
        let embeddings = model.embed(&tokens).unwrap().unsqueeze(0).unwrap();
        let hidden = model.hidden(&embeddings).unwrap();
        let last = hidden.narrow(1, tokens.len() - 1, 1).unwrap();
        let ours = model.logits(&last).unwrap().flatten_all().unwrap();

        let diff: f32 = (&ours - &expected)
            .unwrap()
            .abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap();
        let (ours_top, expected_top) = (argmax(&ours).unwrap(), argmax(&expected).unwrap());
        eprintln!("max |logit diff| = {diff}, argmax {ours_top} vs {expected_top}");
        assert_eq!(
            ours_top, expected_top,
            "argmax differs (max |logit diff| {diff})"
        );
        assert!(
            diff < LOGIT_TOLERANCE,
            "max |logit diff| {diff} exceeds {LOGIT_TOLERANCE}"
        );
    }
}
