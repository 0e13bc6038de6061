//! Tokenization for encoders, with Caikit's truncation rules.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::RuntimeError;

/// One tokenized text (or text pair), after truncation.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizedText {
    /// Token ids including special tokens.
    pub ids: Vec<u32>,
    /// Segment per token: 0 for the first text, 1 for the second of a pair.
    pub type_ids: Vec<u32>,
    /// `(start, end)` Unicode code-point offsets per token; `(0, 0)` for special tokens.
    pub offsets: Vec<(usize, usize)>,
    /// The word each token belongs to (`None` for special tokens).
    pub word_ids: Vec<Option<u32>>,
    /// Whether each token is a special token ([CLS], [SEP]).
    pub special: Vec<bool>,
}

impl TokenizedText {
    /// Removes the tokens in `range`, keeping every per-token list aligned.
    fn remove(&mut self, range: std::ops::Range<usize>) {
        self.ids.drain(range.clone());
        self.type_ids.drain(range.clone());
        self.offsets.drain(range.clone());
        self.word_ids.drain(range.clone());
        self.special.drain(range);
    }

    pub fn sequence(&self) -> crate::Sequence {
        crate::Sequence {
            ids: self.ids.clone(),
            type_ids: self.type_ids.clone(),
        }
    }
}

/// What to do with a text longer than the model allows (Caikit's `truncate_input_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// Reject it (Caikit's 0, the default).
    Reject,
    /// Keep at most this many tokens, special tokens included (Caikit's > 0).
    Keep(usize),
    /// Keep as many as the model allows (Caikit's < 0).
    ModelLimit,
    /// Keep everything, even past the model limit (for tokenization only).
    Disabled,
}

impl Truncation {
    pub fn from_caikit(value: Option<i64>) -> Self {
        match value.unwrap_or(0) {
            0 => Self::Reject,
            n if n < 0 => Self::ModelLimit,
            n => Self::Keep(n as usize),
        }
    }
}

/// Why a text cannot be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenizeError {
    #[error(
        "input has {given} tokens (special tokens included), more than the model limit of \
         {limit}; set truncate_input_tokens to truncate"
    )]
    TooLong { given: usize, limit: usize },
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
}

#[derive(Clone)]
pub struct TextTokenizer {
    tokenizer: Tokenizer,
    /// The model's maximum sequence length in tokens.
    pub max_tokens: usize,
}

impl TextTokenizer {
    pub fn load(path: &Path, max_tokens: usize) -> Result<Self, RuntimeError> {
        let mut tokenizer = Tokenizer::from_file(path).map_err(|e| {
            RuntimeError::Unavailable(format!("cannot load tokenizer {}: {e}", path.display()))
        })?;
        // Truncation and padding are ours: shipped tokenizer.json files often pad to 128.
        tokenizer
            .with_truncation(None)
            .map_err(|e| RuntimeError::Unavailable(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(None);
        Ok(Self {
            tokenizer,
            max_tokens,
        })
    }

    pub fn encode(
        &self,
        text: &str,
        truncation: Truncation,
    ) -> Result<TokenizedText, TokenizeError> {
        let encoding = self
            .tokenizer
            .encode_char_offsets(text, true)
            .map_err(|e| TokenizeError::Tokenizer(e.to_string()))?;
        self.finish(encoding, truncation)
    }

    /// A (query, passage) pair as cross-encoders take it; truncation shortens the passage.
    pub fn encode_pair(
        &self,
        first: &str,
        second: &str,
        truncation: Truncation,
    ) -> Result<TokenizedText, TokenizeError> {
        let encoding = self
            .tokenizer
            .encode_char_offsets((first, second), true)
            .map_err(|e| TokenizeError::Tokenizer(e.to_string()))?;
        self.finish(encoding, truncation)
    }

    fn finish(
        &self,
        encoding: tokenizers::Encoding,
        truncation: Truncation,
    ) -> Result<TokenizedText, TokenizeError> {
        let mut text = TokenizedText {
            ids: encoding.get_ids().to_vec(),
            type_ids: encoding.get_type_ids().to_vec(),
            offsets: encoding.get_offsets().to_vec(),
            word_ids: encoding.get_word_ids().to_vec(),
            special: encoding
                .get_special_tokens_mask()
                .iter()
                .map(|m| *m == 1)
                .collect(),
        };
        let len = text.ids.len();
        let limit = match truncation {
            Truncation::Reject if len > self.max_tokens => {
                return Err(TokenizeError::TooLong {
                    given: len,
                    limit: self.max_tokens,
                });
            }
            Truncation::Reject | Truncation::ModelLimit => self.max_tokens,
            Truncation::Keep(n) => n.min(self.max_tokens),
            Truncation::Disabled => usize::MAX,
        };
        if len > limit {
            // Keep the leading tokens and the closing special token ([SEP]).
            let keep_last = usize::from(limit >= 2);
            text.remove(limit - keep_last..len - keep_last);
        }
        Ok(text)
    }
}
