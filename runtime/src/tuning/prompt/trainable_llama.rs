//! A differentiable forward pass of the Llama decoder in [`crate::llama`], for training inputs
//! (soft prompts) against frozen weights.
//!
//! The serving model cannot be differentiated: its quantized matmuls and candle's fused
//! `rms_norm`, `softmax_last_dim` and `rope_i` record no backward pass, and candle silently
//! drops the gradient through them. This copy holds the weights dequantized to f32 once, runs
//! every projection through [`FrozenLinear`] (input gradients only), and uses candle's composed
//! norm, RoPE and softmax, which do record one. It runs whole sequences (no KV cache) with a
//! causal mask and mirrors `LlamaModel::forward_embeddings` step by step, including the
//! interleaved RoPE that GGUF's permuted Q/K weights need.

use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{D, DType, Device, Result, Tensor};

use super::frozen_linear::FrozenLinear;
use crate::RuntimeError;
use crate::llama::{LlamaConfig, causal_mask, repeat_kv, rope_tables};

struct Layer {
    attn_norm: Tensor,
    q: FrozenLinear,
    k: FrozenLinear,
    v: FrozenLinear,
    o: FrozenLinear,
    ffn_norm: Tensor,
    gate: FrozenLinear,
    up: FrozenLinear,
    down: FrozenLinear,
}

pub struct TrainableLlama {
    pub config: LlamaConfig,
    /// `(vocab, hidden)`; also the output head's weight when the file ties them.
    embeddings: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: FrozenLinear,
    cos: Tensor,
    sin: Tensor,
    device: Device,
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
        crate::gguf::load_tensors(path, ct, Self::from_gguf)
    }

    fn from_gguf(ct: &gguf_file::Content, file: &mut std::fs::File) -> Result<Self> {
        let device = Device::Cpu;
        let config = LlamaConfig::from_gguf(ct)?;
        // One tensor is dequantized at a time, so loading peaks at the f32 model plus one matrix.
        let mut dense = |name: &str| -> Result<Tensor> {
            ct.tensor(file, name, &device)?
                .dequantize(&device)?
                .to_dtype(DType::F32)
        };
        let embeddings = dense("token_embd.weight")?;
        // Tied embeddings: files without `output.weight` reuse the token embedding matrix.
        let output = if ct.tensor_infos.contains_key("output.weight") {
            FrozenLinear::new(dense("output.weight")?)?
        } else {
            FrozenLinear::new(embeddings.clone())?
        };
        let norm = dense("output_norm.weight")?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut part = |name: &str| dense(&format!("blk.{i}.{name}.weight"));
            let mut linear = |name: &str| FrozenLinear::new(part(name)?);
            layers.push(Layer {
                q: linear("attn_q")?,
                k: linear("attn_k")?,
                v: linear("attn_v")?,
                o: linear("attn_output")?,
                gate: linear("ffn_gate")?,
                up: linear("ffn_up")?,
                down: linear("ffn_down")?,
                attn_norm: part("attn_norm")?,
                ffn_norm: part("ffn_norm")?,
            });
        }
        let (cos, sin) = rope_tables(&config, &device)?;
        Ok(Self {
            config,
            embeddings,
            layers,
            norm,
            output,
            cos,
            sin,
            device,
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.config.embedding
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The token embedding table `(vocab, hidden)`, frozen.
    pub fn embedding_table(&self) -> &Tensor {
        &self.embeddings
    }

    /// Input embeddings of `tokens`: `(tokens, hidden)`, carrying no gradient.
    pub fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
        let ids = Tensor::new(tokens, &self.device)?;
        self.embeddings.index_select(&ids, 0)
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
        let cos = self.cos.narrow(0, 0, t)?;
        let sin = self.sin.narrow(0, 0, t)?;
        let mask = causal_mask(t, 0, &self.device)?;
        let group = c.heads / c.kv_heads;
        let mut x = embeddings.to_dtype(DType::F32)?;
        for layer in &self.layers {
            let h = candle_nn::ops::rms_norm_slow(&x, &layer.attn_norm, c.rms_eps)?;
            let heads = |m: &FrozenLinear, n: usize| -> Result<Tensor> {
                m.forward(&h)?
                    .reshape((b, t, n, c.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = candle_nn::rotary_emb::rope_i_slow(&heads(&layer.q, c.heads)?, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_i_slow(&heads(&layer.k, c.kv_heads)?, &cos, &sin)?;
            let v = heads(&layer.v, c.kv_heads)?;
            let k = repeat_kv(&k, group)?.contiguous()?;
            let v = repeat_kv(&v, group)?.contiguous()?;
            let scores = (q.matmul(&k.t()?)? / (c.head_dim as f64).sqrt())?;
            let probs = candle_nn::ops::softmax(&scores.broadcast_add(&mask)?, D::Minus1)?;
            let attended = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b, t, c.embedding))?;
            x = (layer.o.forward(&attended)? + x)?;
            let h = candle_nn::ops::rms_norm_slow(&x, &layer.ffn_norm, c.rms_eps)?;
            let gated = (layer.gate.forward(&h)?.silu()? * layer.up.forward(&h)?)?;
            x = (layer.down.forward(&gated)? + x)?;
        }
        candle_nn::ops::rms_norm_slow(&x, &self.norm, c.rms_eps)
    }

    /// Logits `(..., vocab)` of final-normed hidden states `(..., hidden)`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.output.forward(hidden)
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
