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
