//! GGUF model files: metadata reading and the tokenizer they embed.

mod detokenize;
mod tokenizer;

use std::path::Path;

use candle_core::quantized::gguf_file;

pub use detokenize::IncrementalDecoder;
pub use tokenizer::GgufTokenizer;

use crate::RuntimeError;

/// Reads a GGUF file's header (metadata and tensor index; tensor data stays on disk).
pub fn read_content(path: &Path) -> Result<gguf_file::Content, RuntimeError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| RuntimeError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    gguf_file::Content::read(&mut file).map_err(|e| {
        RuntimeError::Unavailable(format!(
            "{} is not a readable GGUF file: {e}",
            path.display()
        ))
    })
}

/// Builds something from the tensors of `path`, whose header `ct` was already read (for its
/// tokenizer), so start-up parses the header once. Failures name the file.
pub fn load_tensors<T>(
    path: &Path,
    ct: &gguf_file::Content,
    build: impl FnOnce(&gguf_file::Content, &mut std::fs::File) -> candle_core::Result<T>,
) -> Result<T, RuntimeError> {
    let unavailable = |e: &dyn std::fmt::Display| {
        RuntimeError::Unavailable(format!("model {}: {e}", path.display()))
    };
    let mut file = std::fs::File::open(path).map_err(|e| unavailable(&e))?;
    build(ct, &mut file).map_err(|e| unavailable(&e))
}
