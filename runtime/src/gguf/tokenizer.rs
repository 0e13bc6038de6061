//! The tokenizer embedded in a GGUF file, made exact.
//!
//! candle's `TokenizerFromGguf` falls back to a byte-level pre-tokenizer that adds a prefix space
//! for `tokenizer.ggml.pre` values it has no pipeline for (SmolLM2's `smollm`), which turns
//! `<|im_start|>user` into `<|im_start|>` + `Ġuser` and corrupts ChatML prompts. For such files
//! the pre-tokenizer is replaced by one without the prefix space; `pre` values nobody verified
//! are refused rather than guessed.

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::Tokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

use crate::RuntimeError;
use crate::chat_template::ChatTemplate;

/// `pre` values candle has a dedicated pipeline for.
const CANDLE_PIPELINES: [&str; 4] = ["qwen2", "llama3", "smaug-bpe", "lfm2"];
/// `pre` values whose GPT-2 byte-level split, without a prefix space, was checked against the
/// reference tokenizer.
const VERIFIED_BYTE_LEVEL: [&str; 1] = ["smollm"];

/// `start..end` in code points.
pub type CharSpan = (usize, usize);

#[derive(Clone)]
pub struct GgufTokenizer {
    tokenizer: Tokenizer,
    /// End of sequence (`<|im_end|>` for ChatML models).
    pub eos_id: u32,
    pub bos_id: Option<u32>,
    /// Whether prompts start with BOS (`tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
    /// `tokenizer.chat_template` (Jinja), when present.
    pub chat_template: Option<String>,
}

fn metadata<'a>(ct: &'a Content, key: &str) -> Option<&'a Value> {
    ct.metadata.get(key)
}

fn unavailable(what: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Unavailable(format!("GGUF tokenizer: {what}"))
}

impl GgufTokenizer {
    pub fn from_content(ct: &Content) -> Result<Self, RuntimeError> {
        let pre = metadata(ct, "tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| "gpt2".into());
        let mut tokenizer = Tokenizer::from_gguf(ct).map_err(unavailable)?;
        if VERIFIED_BYTE_LEVEL.contains(&pre.as_str()) {
            tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        } else if !CANDLE_PIPELINES.contains(&pre.as_str()) {
            return Err(unavailable(format!(
                "tokenizer.ggml.pre '{pre}' has not been verified (known: {}, {})",
                VERIFIED_BYTE_LEVEL.join(", "),
                CANDLE_PIPELINES.join(", ")
            )));
        }
        let id = |key: &str| metadata(ct, key).and_then(|v| v.to_u32().ok());
        let eos_id =
            id("tokenizer.ggml.eos_token_id").ok_or_else(|| unavailable("no eos_token_id"))?;
        Ok(Self {
            tokenizer,
            eos_id,
            bos_id: id("tokenizer.ggml.bos_token_id"),
            add_bos: metadata(ct, "tokenizer.ggml.add_bos_token")
                .and_then(|v| v.to_bool().ok())
                .unwrap_or(false),
            chat_template: metadata(ct, "tokenizer.chat_template")
                .and_then(|v| v.to_string().ok())
                .cloned(),
        })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) become their ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, RuntimeError> {
        let encoding = self.tokenizer.encode(text, false).map_err(unavailable)?;
        let mut ids = encoding.get_ids().to_vec();
        if self.add_bos
            && let Some(bos) = self.bos_id
        {
            ids.insert(0, bos);
        }
        Ok(ids)
    }

    /// Token ids of `text` with each token's span in code points (`start..end`); a BOS added
    /// in front has the empty span `0..0`.
    pub fn encode_with_offsets(
        &self,
        text: &str,
    ) -> Result<(Vec<u32>, Vec<CharSpan>), RuntimeError> {
        let encoding = self
            .tokenizer
            .encode_char_offsets(text, false)
            .map_err(unavailable)?;
        let mut ids = encoding.get_ids().to_vec();
        let mut offsets = encoding.get_offsets().to_vec();
        if self.add_bos
            && let Some(bos) = self.bos_id
        {
            ids.insert(0, bos);
            offsets.insert(0, (0, 0));
        }
        Ok((ids, offsets))
    }

    /// Text of `ids`, special tokens skipped. Partial UTF-8 sequences decode to U+FFFD; stream
    /// with [`super::IncrementalDecoder`] instead.
    pub fn decode(&self, ids: &[u32]) -> Result<String, RuntimeError> {
        self.tokenizer.decode(ids, true).map_err(unavailable)
    }

    /// The file's chat template, ready to render (`None` when the file has none).
    pub fn chat_template(&self) -> Option<Result<ChatTemplate, RuntimeError>> {
        let source = self.chat_template.as_deref()?;
        let token = |id: Option<u32>| id.and_then(|id| self.id_to_token(id)).unwrap_or_default();
        Some(ChatTemplate::new(
            source,
            &token(self.bos_id),
            &token(Some(self.eos_id)),
        ))
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.tokenizer.id_to_token(id)
    }

    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }
}
