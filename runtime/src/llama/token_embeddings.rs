//! The token embedding table, as serving and training each need it. Serving looks rows up in
//! the file's quantized matrix and dequantizes only those (a 49k-token vocabulary is 113 MB as
//! f32 and 30 MB as the file's Q8_0); training keeps the dense f32 table, which its tied output
//! head multiplies by anyway.

use std::sync::Arc;

use candle_core::quantized::{QTensor, ggml_file};
use candle_core::{DType, Device, Result, Tensor, bail};

/// Token ids to input embeddings `(tokens, hidden)` in f32.
pub trait EmbeddingTable: Sized {
    /// From the file's `(vocab, hidden)` matrix, shared with a tied output head.
    fn from_qtensor(table: Arc<QTensor>) -> Result<Self>;
    fn lookup(&self, tokens: &[u32]) -> Result<Tensor>;
    /// Memory this table holds beyond the file's own copy of the matrix.
    fn bytes_beyond_file(&self) -> u64;
}

/// Dequantized once: what a differentiable forward pass multiplies by.
impl EmbeddingTable for Tensor {
    fn from_qtensor(table: Arc<QTensor>) -> Result<Self> {
        table.dequantize(&Device::Cpu)?.to_dtype(DType::F32)
    }

    fn lookup(&self, tokens: &[u32]) -> Result<Tensor> {
        let ids = Tensor::new(tokens, self.device())?;
        self.index_select(&ids, 0)
    }

    fn bytes_beyond_file(&self) -> u64 {
        (self.elem_count() * self.dtype().size_in_bytes()) as u64
    }
}

/// Rows of the file's quantized matrix, dequantized per lookup (a decode step looks up one).
#[derive(Debug, Clone)]
pub struct QuantizedRows {
    table: Arc<QTensor>,
    vocab: usize,
    hidden: usize,
    row_bytes: usize,
}

impl QuantizedRows {
    /// The matrix itself, for an output head tied to it.
    pub fn table(&self) -> &Arc<QTensor> {
        &self.table
    }
}

impl EmbeddingTable for QuantizedRows {
    fn from_qtensor(table: Arc<QTensor>) -> Result<Self> {
        let (vocab, hidden) = table.shape().dims2()?;
        let dtype = table.dtype();
        if !table.device().is_cpu() {
            bail!("quantized token embeddings must be on the CPU")
        }
        if hidden % dtype.block_size() != 0 {
            bail!(
                "token embeddings of width {hidden} do not split into {dtype:?} blocks of {}",
                dtype.block_size()
            )
        }
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        Ok(Self {
            table,
            vocab,
            hidden,
            row_bytes,
        })
    }

    fn lookup(&self, tokens: &[u32]) -> Result<Tensor> {
        if tokens.is_empty() {
            return Tensor::zeros((0, self.hidden), DType::F32, &Device::Cpu);
        }
        let data = self.table.data()?;
        // Whole u64 words keep the gathered blocks aligned for every GGML block type
        // (candle reads the bytes as a slice of blocks).
        let len = tokens.len() * self.row_bytes;
        let mut words = vec![0u64; len.div_ceil(8)];
        let rows = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..len];
        for (row, &token) in rows.chunks_exact_mut(self.row_bytes).zip(tokens) {
            let token = token as usize;
            if token >= self.vocab {
                bail!(
                    "token id {token} is outside the vocabulary of {}",
                    self.vocab
                )
            }
            row.copy_from_slice(&data[token * self.row_bytes..][..self.row_bytes]);
        }
        let picked = ggml_file::qtensor_from_ggml(
            self.table.dtype(),
            rows,
            vec![tokens.len(), self.hidden],
            &Device::Cpu,
        )?;
        picked.dequantize(&Device::Cpu)?.to_dtype(DType::F32)
    }

    /// None: the rows are read from the file's matrix where they lie.
    fn bytes_beyond_file(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::GgmlDType;

    use super::*;

    fn table(dtype: GgmlDType) -> Arc<QTensor> {
        let values: Vec<f32> = (0..8 * 256)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let dense = Tensor::from_vec(values, (8, 256), &Device::Cpu).unwrap();
        Arc::new(QTensor::quantize(&dense, dtype).unwrap())
    }

    #[test]
    fn rows_equal_the_dequantized_table_for_every_block_type() {
        for dtype in [
            GgmlDType::F32,
            GgmlDType::F16,
            GgmlDType::Q4_0,
            GgmlDType::Q4_1,
            GgmlDType::Q8_0,
            GgmlDType::Q4K,
            GgmlDType::Q6K,
        ] {
            let q = table(dtype);
            let dense = <Tensor as EmbeddingTable>::from_qtensor(q.clone()).unwrap();
            let rows = QuantizedRows::from_qtensor(q).unwrap();
            let tokens = [7, 0, 3, 3];
            let got = rows.lookup(&tokens).unwrap();
            let want = dense.lookup(&tokens).unwrap();
            assert_eq!(got.dims(), &[4, 256], "{dtype:?}");
            let diff = (got - want)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert_eq!(diff, 0.0, "{dtype:?}");
        }
    }

    #[test]
    fn no_tokens_are_no_rows_and_unknown_ids_are_refused() {
        let rows = QuantizedRows::from_qtensor(table(GgmlDType::Q8_0)).unwrap();
        assert_eq!(rows.lookup(&[]).unwrap().dims(), &[0, 256]);
        let err = rows.lookup(&[1, 8]).unwrap_err().to_string();
        assert!(
            err.contains("token id 8 is outside the vocabulary of 8"),
            "{err}"
        );
        assert_eq!(rows.bytes_beyond_file(), 0);
    }
}
