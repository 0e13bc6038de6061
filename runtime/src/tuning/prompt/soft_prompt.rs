//! A trained soft prompt and its file: safetensors with one `prompt_embeddings` tensor (the name
//! PEFT uses) and the verbalizer in the header's metadata.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use safetensors::{Dtype, SafeTensors, View};

use super::examples::verbalize;
use crate::tuning::{TuningError, durable};

const TENSOR: &str = "prompt_embeddings";
/// The only metadata key: safetensors writes metadata in `HashMap` order, so with a second key
/// the same prompt could be written as different bytes.
const VERBALIZER: &str = "verbalizer";

/// Learned input embeddings placed before the (verbalized) input tokens.
#[derive(Debug, Clone)]
pub struct SoftPrompt {
    /// `(num_virtual_tokens, hidden)`, f32.
    pub embeddings: Tensor,
    /// The template inputs were written into during training (`{{input}}` marks the input).
    pub verbalizer: String,
}

impl SoftPrompt {
    pub fn num_virtual_tokens(&self) -> usize {
        self.embeddings.dims().first().copied().unwrap_or(0)
    }

    /// `input` written into the verbalizer, as the prompt saw it during training.
    pub fn verbalize(&self, input: &str) -> String {
        verbalize(&self.verbalizer, input)
    }

    /// The soft prompt followed by `token_embeddings` `(t, hidden)`: the input embeddings for
    /// `LlamaModel::forward_embeddings`.
    pub fn prepend(&self, token_embeddings: &Tensor) -> candle_core::Result<Tensor> {
        Tensor::cat(&[&self.embeddings, token_embeddings], 0)
    }

    /// Writes the prompt atomically ([`durable::write_file`]): readers see the old file or the
    /// new one, never a torn one.
    pub fn save(&self, path: &Path) -> Result<(), TuningError> {
        let (rows, hidden) = self.embeddings.dims2()?;
        let values = self
            .embeddings
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let matrix = F32Matrix {
            shape: [rows, hidden],
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let metadata = HashMap::from([(VERBALIZER.to_string(), self.verbalizer.clone())]);
        let bytes = safetensors::serialize([(TENSOR, matrix)], Some(metadata))
            .map_err(|e| TuningError::Failed(format!("serializing the soft prompt: {e}")))?;
        durable::write_file(path, &bytes)
    }

    pub fn load(path: &Path) -> Result<Self, TuningError> {
        let fail = |reason: String| TuningError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| fail(e.to_string()))?;
        let verbalizer = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(VERBALIZER))
            .cloned()
            .ok_or_else(|| fail(format!("no '{VERBALIZER}' in the metadata")))?;
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| fail(e.to_string()))?;
        let view = tensors
            .tensor(TENSOR)
            .map_err(|e| fail(format!("{TENSOR}: {e}")))?;
        let [rows, hidden] = view.shape() else {
            return Err(fail(format!("{TENSOR} has shape {:?}", view.shape())));
        };
        if view.dtype() != Dtype::F32 || *rows == 0 {
            return Err(fail(format!(
                "{TENSOR} must be non-empty F32, got {:?} {:?}",
                view.dtype(),
                view.shape()
            )));
        }
        let embeddings =
            Tensor::from_raw_buffer(view.data(), DType::F32, &[*rows, *hidden], &Device::Cpu)?;
        Ok(Self {
            embeddings,
            verbalizer,
        })
    }
}

/// A row-major f32 matrix already in safetensors' little-endian layout.
struct F32Matrix {
    shape: [usize; 2],
    bytes: Vec<u8>,
}

impl View for F32Matrix {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn prompt() -> SoftPrompt {
        let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
        SoftPrompt {
            embeddings: Tensor::from_vec(values, (3, 4), &Device::Cpu).unwrap(),
            verbalizer: "Review: {{input}}\nSentiment:".into(),
        }
    }

    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taskgate-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = scratch("soft-prompt-round-trip");
        let path = dir.join("prompt.safetensors");
        let original = prompt();
        original.save(&path).unwrap();
        let loaded = SoftPrompt::load(&path).unwrap();
        assert_eq!(loaded.verbalizer, original.verbalizer);
        assert_eq!(loaded.num_virtual_tokens(), 3);
        assert_eq!(
            loaded.embeddings.to_vec2::<f32>().unwrap(),
            original.embeddings.to_vec2::<f32>().unwrap()
        );
        // Saving again replaces the file with identical bytes and leaves no temporary behind.
        let first = std::fs::read(&path).unwrap();
        original.save(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("prompt.safetensors")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_names_what_is_wrong() {
        let dir = scratch("soft-prompt-bad-files");
        let missing = SoftPrompt::load(&dir.join("absent.safetensors")).unwrap_err();
        assert!(matches!(missing, TuningError::Read { .. }), "{missing}");

        let garbage = dir.join("garbage.safetensors");
        std::fs::write(&garbage, b"not safetensors").unwrap();
        assert!(matches!(
            SoftPrompt::load(&garbage).unwrap_err(),
            TuningError::Read { .. }
        ));

        // A safetensors file without the verbalizer is not a soft prompt.
        let other = dir.join("other.safetensors");
        candle_core::safetensors::save(&HashMap::from([(TENSOR, prompt().embeddings)]), &other)
            .unwrap();
        let error = SoftPrompt::load(&other).unwrap_err().to_string();
        assert!(error.contains("verbalizer"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn save_to_an_unwritable_place_fails_cleanly() {
        // A regular file cannot be a parent directory.
        let dir = scratch("soft-prompt-unwritable");
        std::fs::write(dir.join("file"), b"").unwrap();
        let error = prompt()
            .save(&dir.join("file/prompt.safetensors"))
            .unwrap_err();
        assert!(matches!(error, TuningError::Write { .. }), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
