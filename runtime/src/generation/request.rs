//! What a generation asks for and what it reports, independent of any wire format.

use std::time::Duration;

use candle_core::Tensor;

use crate::sampling::{LengthPenalty, SamplingParams};

/// One sequence to generate.
#[derive(Debug, Clone)]
pub struct GenerationRequest {
    /// The prompt, already tokenized and truncated; never empty.
    pub prompt: Vec<u32>,
    /// Input embeddings `(n, hidden)` run before the prompt (a tuned soft prompt). They take
    /// `n` positions of the context but are not tokens: counts and details leave them out.
    pub prefix: Option<Tensor>,
    pub sampling: SamplingParams,
    /// Sampling seed; drawn (and reported) when absent.
    pub seed: Option<u64>,
    pub max_new_tokens: usize,
    /// EOS and stop sequences cannot end generation before this many tokens.
    pub min_new_tokens: usize,
    pub length_penalty: Option<LengthPenalty>,
    pub stop_sequences: Vec<String>,
    /// Keep a matched stop sequence at the end of the text.
    pub include_stop_sequence: bool,
    /// Wall-clock budget from the start of prefill.
    pub max_time: Option<Duration>,
    /// Report log-probability and rank of every prompt token (costs vocabulary-wide logits for
    /// the whole prompt).
    pub prompt_details: bool,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    MaxTokens,
    EosToken,
    StopSequence,
    TimeLimit,
    /// The model's context is full.
    TokenLimit,
}

/// A token with its log-probability and rank (1 = most likely) under the distribution it was
/// chosen from. The first prompt token has no distribution, hence no logprob or rank.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenDetail {
    pub id: u32,
    /// The token as the vocabulary spells it (byte-level BPE: `Ġ` marks a leading space).
    pub text: String,
    pub logprob: Option<f32>,
    pub rank: Option<u32>,
}

/// What a running generation reports, in order: one `Started`, then `Token`s, then one
/// `Finished`.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationEvent {
    Started {
        input_token_count: usize,
        /// The seed sampling used (absent for greedy decoding).
        seed: Option<u64>,
        /// Filled when `prompt_details` was asked for.
        prompt_tokens: Vec<TokenDetail>,
    },
    Token {
        /// Text completed by this token (may be empty while a character or a possible stop
        /// sequence is held back).
        text: String,
        token: TokenDetail,
    },
    Finished {
        /// Held-back text released at the end.
        text: String,
        reason: StopReason,
        generated_tokens: usize,
    },
}

#[cfg(test)]
impl GenerationRequest {
    /// Greedy decoding of `prompt` for `max_new_tokens` (at least `min_new_tokens`), with no
    /// stops, limits or details.
    pub(crate) fn greedy(prompt: Vec<u32>, max_new_tokens: usize, min_new_tokens: usize) -> Self {
        Self {
            prompt,
            prefix: None,
            sampling: SamplingParams::default(),
            seed: None,
            max_new_tokens,
            min_new_tokens,
            length_penalty: None,
            stop_sequences: Vec::new(),
            include_stop_sequence: false,
            max_time: None,
            prompt_details: false,
        }
    }
}
