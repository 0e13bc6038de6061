//! Opening a BERT directory: config, weights read tensor by tensor, the encoder's weight prefix.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use serde::Deserialize;

use super::weights_file::WeightsFile;
use super::{BertConfig, BertEncoder};
use crate::RuntimeError;

/// The word embedding table under the encoder root.
const WORDS: &str = "embeddings.word_embeddings.weight";

pub(crate) fn unavailable(dir: &Path, what: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Unavailable(format!("model {}: {what}", dir.display()))
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) struct BertDir {
    pub config: BertConfig,
    weights: PathBuf,
    /// The word embedding table's name in the weights file.
    words: String,
    /// The checkpoint root (heads such as `classifier.*` live here).
    pub root: VarBuilder<'static>,
    /// The encoder's root: `bert.` in task checkpoints, the root in bare ones.
    pub encoder_root: VarBuilder<'static>,
    /// What the model holds in memory: the weights file less the word embeddings, which
    /// stay in it.
    pub weights_bytes: u64,
    pub device: Device,
}

impl BertDir {
    pub fn open(dir: &Path) -> Result<Self, RuntimeError> {
        let config: BertConfig =
            read_json(&dir.join("config.json")).map_err(|e| unavailable(dir, e))?;
        let weights = dir.join("model.safetensors");
        let device = Device::Cpu;
        let file = WeightsFile::open(&weights).map_err(|e| unavailable(dir, e))?;
        let task_checkpoint = file.contains_tensor(&format!("bert.{WORDS}"));
        let words = if task_checkpoint {
            format!("bert.{WORDS}")
        } else {
            WORDS.to_string()
        };
        let weights_bytes = std::fs::metadata(&weights)
            .map(|m| m.len())
            .unwrap_or(0)
            .saturating_sub(file.row_table_bytes(&words).unwrap_or(0));
        let root = VarBuilder::from_backend(Box::new(file), DType::F32, device.clone());
        let encoder_root = if task_checkpoint {
            root.pp("bert")
        } else {
            root.clone()
        };
        Ok(Self {
            config,
            weights,
            words,
            root,
            encoder_root,
            weights_bytes,
            device,
        })
    }

    /// The encoder, its word embeddings left in the weights file when they are an f32 matrix
    /// (else in memory like every other weight).
    pub fn encoder(&self, dir: &Path) -> Result<BertEncoder, RuntimeError> {
        let in_file = WeightsFile::open(&self.weights).and_then(|file| file.rows(&self.words));
        match in_file {
            Ok(words) => {
                BertEncoder::load_with_words_in_file(self.encoder_root.clone(), &self.config, words)
            }
            Err(_) => BertEncoder::load(self.encoder_root.clone(), &self.config),
        }
        .map_err(|e| unavailable(dir, e))
    }
}
