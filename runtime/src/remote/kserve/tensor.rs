//! Output tensors of an Open Inference Protocol answer, whatever form they came in (REST JSON
//! `data`, gRPC typed `contents`, gRPC `raw_output_contents`), as one row of numbers per input
//! text. A tensor the text tasks cannot use is refused with what was expected.

use half::f16;

/// How an output tensor's values arrived.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// REST `data`, flat or nested; read only once the datatype is known to be numeric.
    Json(serde_json::Value),
    /// gRPC typed `contents`.
    Numbers(Vec<f64>),
    /// gRPC `raw_output_contents`: little-endian elements of the tensor's datatype.
    Raw(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputTensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
    pub values: Values,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    #[error("the answer has no outputs")]
    NoOutputs,
    #[error("the answer has no output '{wanted}' (it has: {})", available.join(", "))]
    MissingOutput {
        wanted: String,
        available: Vec<String>,
    },
    #[error(
        "output '{output}' has datatype {datatype}; expected a number type (FP16, FP32, FP64, \
         INT8-64 or UINT8-64)"
    )]
    Datatype { output: String, datatype: String },
    #[error(
        "output '{output}' has shape {shape:?}; expected [{texts}, d] or [{texts}], one row per input text"
    )]
    Shape {
        output: String,
        shape: Vec<i64>,
        texts: usize,
    },
    #[error("output '{output}' of shape {shape:?} carries {found} values")]
    Length {
        output: String,
        shape: Vec<i64>,
        found: usize,
    },
    #[error("output '{output}' ({datatype}) has {bytes} raw bytes, not a multiple of {size}")]
    RawLength {
        output: String,
        datatype: String,
        bytes: usize,
        size: usize,
    },
    #[error("output '{output}' has a non-numeric value in its data: {value}")]
    NotNumeric { output: String, value: String },
}

/// `outputs` selected by name, or the first when no name is configured.
pub(crate) fn select(
    outputs: Vec<OutputTensor>,
    wanted: Option<&str>,
) -> Result<OutputTensor, TensorError> {
    let Some(wanted) = wanted else {
        return outputs.into_iter().next().ok_or(TensorError::NoOutputs);
    };
    let available: Vec<String> = outputs.iter().map(|o| o.name.clone()).collect();
    outputs
        .into_iter()
        .find(|o| o.name == wanted)
        .ok_or_else(|| TensorError::MissingOutput {
            wanted: wanted.to_string(),
            available,
        })
}

/// Bytes per element of a numeric datatype; `None` for BOOL, BYTES and unknown names.
fn element_size(datatype: &str) -> Option<usize> {
    Some(match datatype {
        "INT8" | "UINT8" => 1,
        "INT16" | "UINT16" | "FP16" => 2,
        "INT32" | "UINT32" | "FP32" => 4,
        "INT64" | "UINT64" | "FP64" => 8,
        _ => return None,
    })
}

/// One little-endian element; `chunk` has the datatype's size.
fn decode_le(datatype: &str, chunk: &[u8]) -> f64 {
    // Zero-padded to 8 bytes: each type reads its own width from the front.
    let mut wide = [0u8; 8];
    wide[..chunk.len()].copy_from_slice(chunk);
    let (w2, w4) = ([wide[0], wide[1]], [wide[0], wide[1], wide[2], wide[3]]);
    match datatype {
        "INT8" => f64::from(wide[0] as i8),
        "UINT8" => f64::from(wide[0]),
        "INT16" => f64::from(i16::from_le_bytes(w2)),
        "UINT16" => f64::from(u16::from_le_bytes(w2)),
        "FP16" => f16::from_le_bytes(w2).to_f64(),
        "INT32" => f64::from(i32::from_le_bytes(w4)),
        "UINT32" => f64::from(u32::from_le_bytes(w4)),
        "FP32" => f64::from(f32::from_le_bytes(w4)),
        "INT64" => i64::from_le_bytes(wide) as f64,
        "UINT64" => u64::from_le_bytes(wide) as f64,
        _ => f64::from_le_bytes(wide),
    }
}

impl OutputTensor {
    /// One row per text: shape `[texts, d]` gives rows of `d` values, `[texts]` rows of one.
    pub(crate) fn rows(self, texts: usize) -> Result<Vec<Vec<f32>>, TensorError> {
        let Some(size) = element_size(&self.datatype) else {
            return Err(TensorError::Datatype {
                output: self.name,
                datatype: self.datatype,
            });
        };
        let width = match self.shape[..] {
            [n] if n == texts as i64 => 1,
            [n, d] if n == texts as i64 && d > 0 => d as usize,
            _ => {
                return Err(TensorError::Shape {
                    output: self.name,
                    shape: self.shape,
                    texts,
                });
            }
        };
        let values = match self.values {
            Values::Json(data) => json_numbers(&self.name, &data)?,
            Values::Numbers(numbers) => numbers,
            Values::Raw(bytes) if bytes.len() % size != 0 => {
                return Err(TensorError::RawLength {
                    output: self.name,
                    datatype: self.datatype,
                    bytes: bytes.len(),
                    size,
                });
            }
            Values::Raw(bytes) => bytes
                .chunks_exact(size)
                .map(|chunk| decode_le(&self.datatype, chunk))
                .collect(),
        };
        if values.len() != texts * width {
            return Err(TensorError::Length {
                output: self.name,
                shape: self.shape,
                found: values.len(),
            });
        }
        Ok(values
            .chunks(width)
            .map(|row| row.iter().map(|v| *v as f32).collect())
            .collect())
    }
}

/// REST `data`, flat or nested, as numbers in row-major order.
fn json_numbers(output: &str, data: &serde_json::Value) -> Result<Vec<f64>, TensorError> {
    fn walk(
        output: &str,
        value: &serde_json::Value,
        out: &mut Vec<f64>,
    ) -> Result<(), TensorError> {
        match value {
            serde_json::Value::Array(items) => {
                items.iter().try_for_each(|item| walk(output, item, out))
            }
            serde_json::Value::Number(n) => {
                out.push(n.as_f64().unwrap_or(f64::NAN));
                Ok(())
            }
            other => Err(TensorError::NotNumeric {
                output: output.to_string(),
                value: other.to_string().chars().take(40).collect(),
            }),
        }
    }
    let mut out = Vec::new();
    walk(output, data, &mut out)?;
    Ok(out)
}

/// BYTES elements in the raw form: each a 4-byte little-endian length, then the bytes.
pub(crate) fn pack_bytes(texts: &[String]) -> Vec<u8> {
    let mut packed = Vec::with_capacity(texts.iter().map(|t| t.len() + 4).sum());
    for text in texts {
        packed.extend_from_slice(&(text.len() as u32).to_le_bytes());
        packed.extend_from_slice(text.as_bytes());
    }
    packed
}

#[cfg(test)]
#[path = "tensor_tests.rs"]
mod tests;
