//! Reading a Llama GGUF file into weights, generic over what a projection becomes: a quantized
//! [`super::QLinear`] for serving, a dequantized frozen f32 matrix for prompt tuning. One loader,
//! so both read the same tensors the same way.

use std::fs::File;
use std::sync::Arc;

use candle_core::quantized::{QTensor, gguf_file};
use candle_core::{DType, Device, Result, Tensor};

use super::LlamaConfig;
use super::layer_math::{NORMS, Norm, PROJECTIONS, Proj};
use super::token_embeddings::EmbeddingTable;

/// A projection built from a GGUF matrix `(out, in)`.
pub trait GgufLinear: Sized {
    /// The token embedding table that goes with this kind of projection.
    type Embeddings: EmbeddingTable;

    fn from_qtensor(weight: QTensor) -> Result<Self>;
    /// The output head of a file that ties it to the token embeddings, sharing their table.
    fn tied(embeddings: &Self::Embeddings) -> Result<Self>;
}

/// One decoder layer's weights.
pub struct Layer<L> {
    /// Indexed by `Proj as usize`.
    projections: Vec<L>,
    /// `(hidden)` each, indexed by `Norm as usize`.
    norms: Vec<Tensor>,
}

impl<L> Layer<L> {
    pub fn linear(&self, which: Proj) -> &L {
        &self.projections[which as usize]
    }

    pub fn norm(&self, which: Norm) -> &Tensor {
        &self.norms[which as usize]
    }
}

pub struct LlamaWeights<L: GgufLinear> {
    /// `(vocab, hidden)`.
    pub embeddings: L::Embeddings,
    pub layers: Vec<Layer<L>>,
    /// The final norm before the output head.
    pub norm: Tensor,
    pub output: L,
    /// RoPE tables `(context_length, head_dim / 2)`.
    pub cos: Tensor,
    pub sin: Tensor,
    pub device: Device,
}

impl<L: GgufLinear> LlamaWeights<L> {
    /// The file's hyper-parameters and weights. Tensors are read (and dequantized) one at a
    /// time, so loading peaks at the loaded model plus one matrix.
    pub fn read(ct: &gguf_file::Content, file: &mut File) -> Result<(LlamaConfig, Self)> {
        let device = Device::Cpu;
        let config = LlamaConfig::from_gguf(ct)?;
        let mut tensor = |name: &str| ct.tensor(file, name, &device);
        let dense = |q: QTensor| q.dequantize(&device)?.to_dtype(DType::F32);
        let embeddings = L::Embeddings::from_qtensor(Arc::new(tensor("token_embd.weight")?))?;
        // Tied embeddings: files without `output.weight` reuse the token embedding matrix.
        let output = if ct.tensor_infos.contains_key("output.weight") {
            L::from_qtensor(tensor("output.weight")?)?
        } else {
            L::tied(&embeddings)?
        };
        let norm = dense(tensor("output_norm.weight")?)?;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut part = |name: &str| tensor(&format!("blk.{i}.{name}.weight"));
            let projections = PROJECTIONS
                .iter()
                .map(|(_, name)| L::from_qtensor(part(name)?))
                .collect::<Result<_>>()?;
            let norms = NORMS
                .iter()
                .map(|(_, name)| dense(part(name)?))
                .collect::<Result<_>>()?;
            layers.push(Layer { projections, norms });
        }
        let (cos, sin) = rope_tables(&config, &device)?;
        let weights = Self {
            embeddings,
            layers,
            norm,
            output,
            cos,
            sin,
            device,
        };
        Ok((config, weights))
    }

    /// Input embeddings of `tokens`: `(tokens, hidden)`.
    pub fn embed(&self, tokens: &[u32]) -> Result<Tensor> {
        self.embeddings.lookup(tokens)
    }
}

/// RoPE `(cos, sin)` tables `(context_length, head_dim / 2)`.
fn rope_tables(config: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
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
