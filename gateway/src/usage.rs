//! How many tokens a call used, for per-key token limits: what the answer reports, or an
//! estimate from the input text where an answer reports no count.

use serde_json::Value;
use taskgate_schemas::{
    ClassificationResults, EmbeddingResult, EmbeddingResults, GeneratedTextResult,
    GeneratedTextStreamResult, RerankResult, RerankResults, SentenceSimilarityResult,
    SentenceSimilarityResults, TokenClassificationResults, TokenizationResults,
};

/// The tokens an answer (or one streamed event) accounts for.
pub trait TokenUsage {
    /// `None` when the answer does not count its input; the caller then estimates it.
    fn input_tokens(&self) -> Option<u64>;
    /// Generated tokens (so far, for a streamed event).
    fn output_tokens(&self) -> u64 {
        0
    }
}

macro_rules! input_counted {
    ($($ty:ty),*) => {$(
        impl TokenUsage for $ty {
            fn input_tokens(&self) -> Option<u64> {
                Some(self.input_token_count)
            }
        }
    )*};
}

input_counted!(
    EmbeddingResult,
    EmbeddingResults,
    SentenceSimilarityResult,
    SentenceSimilarityResults,
    RerankResult,
    RerankResults
);

impl TokenUsage for GeneratedTextResult {
    fn input_tokens(&self) -> Option<u64> {
        Some(self.input_token_count)
    }
    fn output_tokens(&self) -> u64 {
        self.generated_tokens
    }
}

impl TokenUsage for GeneratedTextStreamResult {
    fn input_tokens(&self) -> Option<u64> {
        self.details.as_ref().map(|d| d.input_token_count)
    }
    fn output_tokens(&self) -> u64 {
        self.details
            .as_ref()
            .map(|d| u64::from(d.generated_tokens))
            .unwrap_or(0)
    }
}

impl TokenUsage for TokenizationResults {
    fn input_tokens(&self) -> Option<u64> {
        Some(self.token_count)
    }
}

impl TokenUsage for ClassificationResults {
    fn input_tokens(&self) -> Option<u64> {
        None
    }
}

impl TokenUsage for TokenClassificationResults {
    fn input_tokens(&self) -> Option<u64> {
        None
    }
}

/// About four characters a token for the text in `inputs`: the usual ratio of English text
/// in subword vocabularies, used only where the answer has no count.
pub fn estimate_input_tokens(inputs: &Value) -> u64 {
    fn chars(value: &Value) -> u64 {
        match value {
            Value::String(s) => s.chars().count() as u64,
            Value::Array(items) => items.iter().map(chars).sum(),
            Value::Object(map) => map.values().map(chars).sum(),
            _ => 0,
        }
    }
    chars(inputs).div_ceil(4)
}

/// The running use of a streamed call: events repeat the input count and carry the
/// generated count so far, so the largest of each is the call's use. A stream cut short has
/// no final count; then each event after the first stands for at least one token.
#[derive(Debug, Default)]
pub struct StreamUsage {
    input: Option<u64>,
    output: u64,
    events: u64,
}

impl StreamUsage {
    pub fn record(&mut self, event: &impl TokenUsage) {
        if let Some(input) = event.input_tokens() {
            self.input = Some(self.input.unwrap_or(0).max(input));
        }
        self.output = self.output.max(event.output_tokens());
        self.events += 1;
    }

    /// Input and generated tokens, with `estimated_input` where no event counted the input.
    /// A stream whose events report a running count is taken at its word (its last event may
    /// carry no token); one that reports none is counted as an event a token after the first.
    pub fn split(&self, estimated_input: u64) -> (u64, u64) {
        let output = if self.output > 0 {
            self.output
        } else {
            self.events.saturating_sub(1)
        };
        (self.input.unwrap_or(estimated_input), output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Generated so far, as a streamed event reports it.
    struct Event(u64);

    impl TokenUsage for Event {
        fn input_tokens(&self) -> Option<u64> {
            None
        }
        fn output_tokens(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn a_reported_count_wins_over_the_event_count() {
        let mut reported = StreamUsage::default();
        for n in [0, 1, 2, 3, 4, 4] {
            reported.record(&Event(n));
        }
        assert_eq!(reported.split(7), (7, 4));
        let mut unreported = StreamUsage::default();
        for _ in 0..4 {
            unreported.record(&Event(0));
        }
        assert_eq!(unreported.split(0), (0, 3));
    }

    #[test]
    fn estimates_count_every_string_in_the_inputs() {
        assert_eq!(estimate_input_tokens(&json!("abcdefgh")), 2);
        assert_eq!(estimate_input_tokens(&json!(["abc", {"t": "de"}])), 2);
        assert_eq!(estimate_input_tokens(&json!(null)), 0);
    }
}
