//! Streaming detokenisation that never emits broken UTF-8: a token that ends inside a multi-byte
//! character (byte-level BPE splits emoji into several tokens) is held back until the character
//! is complete.

use super::GgufTokenizer;
use crate::RuntimeError;

/// Decodes a growing token sequence into text deltas.
pub struct IncrementalDecoder {
    ids: Vec<u32>,
    /// Tokens before this index have been emitted and no longer influence decoding.
    prefix: usize,
    /// Tokens before this index are covered by the emitted text.
    read: usize,
}

impl Default for IncrementalDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl IncrementalDecoder {
    pub fn new() -> Self {
        Self {
            ids: Vec::new(),
            prefix: 0,
            read: 0,
        }
    }

    /// Adds a token; returns the text it completes (possibly empty while a character is split).
    pub fn push(&mut self, tokenizer: &GgufTokenizer, id: u32) -> Result<String, RuntimeError> {
        self.ids.push(id);
        // Decoding a window that starts a little earlier keeps word-boundary spacing right.
        let before = tokenizer.decode(&self.ids[self.prefix..self.read])?;
        let now = tokenizer.decode(&self.ids[self.prefix..])?;
        if now.len() > before.len() && !now.ends_with('\u{FFFD}') && now.starts_with(&before) {
            let delta = now[before.len()..].to_string();
            self.prefix = self.read;
            self.read = self.ids.len();
            Ok(delta)
        } else {
            Ok(String::new())
        }
    }

    /// Everything still held back (at the end of generation).
    pub fn finish(&mut self, tokenizer: &GgufTokenizer) -> Result<String, RuntimeError> {
        let before = tokenizer.decode(&self.ids[self.prefix..self.read])?;
        let now = tokenizer.decode(&self.ids[self.prefix..])?;
        self.prefix = self.ids.len();
        self.read = self.ids.len();
        Ok(now.get(before.len()..).unwrap_or_default().to_string())
    }
}
