//! Runtime generation events → Caikit stream events.

use taskgate_runtime::generation::{GenerationEvent, StopReason, TokenDetail};
use taskgate_schemas::{
    FinishReason, GeneratedTextStreamResult, GeneratedToken, ProducerId, TextGenerationParameters,
    TokenStreamDetails,
};

/// Which details the caller asked for.
#[derive(Debug, Clone, Copy)]
pub struct DetailOptions {
    pub generated_tokens: bool,
    pub input_tokens: bool,
    pub logprobs: bool,
    pub ranks: bool,
}

impl DetailOptions {
    pub fn from_parameters(p: &TextGenerationParameters) -> Self {
        Self {
            generated_tokens: p.generated_tokens.unwrap_or(false),
            input_tokens: p.input_tokens.unwrap_or(false),
            logprobs: p.token_logprobs.unwrap_or(false),
            ranks: p.token_ranks.unwrap_or(false),
        }
    }

    fn token(&self, t: TokenDetail) -> GeneratedToken {
        GeneratedToken {
            text: t.text,
            logprob: t.logprob.filter(|_| self.logprobs).map(f64::from),
            rank: t.rank.filter(|_| self.ranks).map(u64::from),
        }
    }

    fn tokens(&self, wanted: bool, tokens: Vec<TokenDetail>) -> Vec<GeneratedToken> {
        if wanted {
            tokens.into_iter().map(|t| self.token(t)).collect()
        } else {
            Vec::new()
        }
    }
}

pub fn finish_reason(reason: StopReason) -> FinishReason {
    match reason {
        StopReason::MaxTokens => FinishReason::MaxTokens,
        StopReason::EosToken => FinishReason::EosToken,
        StopReason::StopSequence => FinishReason::StopSequence,
        StopReason::TimeLimit => FinishReason::TimeLimit,
        StopReason::TokenLimit => FinishReason::TokenLimit,
    }
}

/// Turns events into stream results. The first carries the input token count (and the input
/// text when it is preserved), the last the finish reason.
pub struct StreamShaper {
    pub options: DetailOptions,
    pub producer: Option<ProducerId>,
    /// Text sent in the first event (the input, for `preserve_input_text`).
    pub preface: String,
    input_token_count: u64,
    seed: Option<u64>,
}

impl StreamShaper {
    pub fn new(options: DetailOptions, producer: Option<ProducerId>, preface: String) -> Self {
        Self {
            options,
            producer,
            preface,
            input_token_count: 0,
            seed: None,
        }
    }

    pub fn event(&mut self, event: GenerationEvent) -> GeneratedTextStreamResult {
        let mut result = GeneratedTextStreamResult {
            generated_text: String::new(),
            tokens: Vec::new(),
            details: None,
            producer_id: None,
            input_tokens: Vec::new(),
        };
        match event {
            GenerationEvent::Started {
                input_token_count,
                seed,
                prompt_tokens,
            } => {
                self.input_token_count = input_token_count as u64;
                self.seed = seed;
                result.generated_text = std::mem::take(&mut self.preface);
                result.input_tokens = self
                    .options
                    .tokens(self.options.input_tokens, prompt_tokens);
                result.details = Some(self.details(FinishReason::NotFinished, 0));
            }
            GenerationEvent::Token { text, token } => {
                result.generated_text = text;
                result.tokens = self
                    .options
                    .tokens(self.options.generated_tokens, vec![token]);
            }
            GenerationEvent::Finished {
                text,
                reason,
                generated_tokens,
            } => {
                result.generated_text = text;
                result.details = Some(self.details(finish_reason(reason), generated_tokens));
                result.producer_id = self.producer.clone();
            }
        }
        result
    }

    fn details(&self, finish_reason: FinishReason, generated: usize) -> TokenStreamDetails {
        TokenStreamDetails {
            finish_reason,
            generated_tokens: generated as u32,
            seed: self.seed,
            input_token_count: self.input_token_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::generation::UnaryResult;

    fn token(id: u32, text: &str) -> TokenDetail {
        TokenDetail {
            id,
            text: text.into(),
            logprob: Some(-0.5),
            rank: Some(2),
        }
    }

    fn events() -> Vec<GenerationEvent> {
        vec![
            GenerationEvent::Started {
                input_token_count: 3,
                seed: Some(9),
                prompt_tokens: vec![token(1, "a"), token(2, "b"), token(3, "c")],
            },
            GenerationEvent::Token {
                text: "Hi".into(),
                token: token(10, "Hi"),
            },
            GenerationEvent::Token {
                text: String::new(),
                token: token(11, "Ġthe"),
            },
            GenerationEvent::Finished {
                text: " the".into(),
                reason: StopReason::StopSequence,
                generated_tokens: 2,
            },
        ]
    }

    fn options(generated: bool, logprobs: bool) -> DetailOptions {
        DetailOptions {
            generated_tokens: generated,
            input_tokens: false,
            logprobs,
            ranks: false,
        }
    }

    #[test]
    fn the_stream_opens_with_counts_and_closes_with_the_reason() {
        let mut shaper = StreamShaper::new(options(false, false), None, "prompt: ".into());
        let results: Vec<_> = events().into_iter().map(|e| shaper.event(e)).collect();
        let first = results[0].details.as_ref().unwrap();
        assert_eq!(results[0].generated_text, "prompt: ");
        assert_eq!(first.finish_reason, FinishReason::NotFinished);
        assert_eq!(first.input_token_count, 3);
        assert!(results[0].input_tokens.is_empty(), "not asked for");
        assert!(results[1].details.is_none() && results[1].tokens.is_empty());
        let last = results[3].details.as_ref().unwrap();
        assert_eq!(last.finish_reason, FinishReason::StopSequence);
        assert_eq!((last.generated_tokens, last.seed), (2, Some(9)));
    }

    #[test]
    fn the_unary_result_is_the_folded_stream() {
        let mut shaper = StreamShaper::new(options(true, true), None, String::new());
        let mut unary = UnaryResult::default();
        for event in events() {
            unary.add(shaper.event(event));
        }
        let result = unary.finish().unwrap();
        assert_eq!(result.generated_text, "Hi the");
        assert_eq!(result.generated_tokens, 2);
        assert_eq!(result.input_token_count, 3);
        assert_eq!(result.seed, Some(9));
        assert_eq!(result.tokens.len(), 2);
        assert_eq!(result.tokens[1].text, "Ġthe");
        assert_eq!(result.tokens[1].logprob, Some(-0.5));
        assert_eq!(result.tokens[1].rank, None, "ranks were not asked for");
    }

    #[test]
    fn a_stream_without_its_last_event_has_no_result() {
        let mut shaper = StreamShaper::new(options(false, false), None, String::new());
        let mut unary = UnaryResult::default();
        for event in events().into_iter().take(3) {
            unary.add(shaper.event(event));
        }
        assert!(unary.finish().is_none());
    }
}
