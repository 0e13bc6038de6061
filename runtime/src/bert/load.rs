//! Opening a BERT directory: config, memory-mapped weights, the encoder's weight prefix.

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use serde::Deserialize;

use super::{BertConfig, BertEncoder};
use crate::RuntimeError;

pub(crate) fn unavailable(dir: &Path, what: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Unavailable(format!("model {}: {what}", dir.display()))
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) struct BertDir {
    pub config: BertConfig,
    /// The checkpoint root (heads such as `classifier.*` live here).
    pub root: VarBuilder<'static>,
    /// The encoder's root: `bert.` in task checkpoints, the root in bare ones.
    pub encoder_root: VarBuilder<'static>,
    pub weights_bytes: u64,
    pub device: Device,
}

impl BertDir {
    pub fn open(dir: &Path) -> Result<Self, RuntimeError> {
        let config: BertConfig =
            read_json(&dir.join("config.json")).map_err(|e| unavailable(dir, e))?;
        let weights = dir.join("model.safetensors");
        let weights_bytes = std::fs::metadata(&weights).map(|m| m.len()).unwrap_or(0);
        let device = Device::Cpu;
        // SAFETY: the weights file is memory-mapped read-only; model directories are not meant
        // to be modified while they are served.
        let root = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| unavailable(dir, e))?;
        let encoder_root = if root.contains_tensor("bert.embeddings.word_embeddings.weight") {
            root.pp("bert")
        } else {
            root.clone()
        };
        Ok(Self {
            config,
            root,
            encoder_root,
            weights_bytes,
            device,
        })
    }

    pub fn encoder(&self, dir: &Path) -> Result<BertEncoder, RuntimeError> {
        BertEncoder::load(self.encoder_root.clone(), &self.config).map_err(|e| unavailable(dir, e))
    }
}
