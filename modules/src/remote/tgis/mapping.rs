//! Caikit parameters and results ↔ TGIS messages. The two were designed together, so this is
//! a field-for-field mapping; TGIS's "0 = unset" conventions stand in for absent values.

use taskgate_runtime::remote::fmaas;
use taskgate_schemas::{
    DecodingMethod, FinishReason, GeneratedTextStreamResult, GeneratedToken, ProducerId,
    TextGenerationParameters, TokenStreamDetails,
};

use crate::local::text_generation::DEFAULT_MAX_NEW_TOKENS;
use crate::local::text_generation::output::DetailOptions;

pub fn parameters(p: &TextGenerationParameters) -> fmaas::Parameters {
    let sampling = p.decoding_method == Some(DecodingMethod::Sampling);
    let method = if sampling {
        fmaas::DecodingMethod::Sample
    } else {
        fmaas::DecodingMethod::Greedy
    };
    fmaas::Parameters {
        method: method as i32,
        sampling: Some(fmaas::SamplingParameters {
            temperature: p.temperature.unwrap_or(0.0) as f32,
            top_k: p.top_k.unwrap_or(0),
            top_p: p.top_p.unwrap_or(0.0) as f32,
            typical_p: p.typical_p.unwrap_or(0.0) as f32,
            seed: p.seed,
        }),
        stopping: Some(fmaas::StoppingCriteria {
            max_new_tokens: p.max_new_tokens.unwrap_or(DEFAULT_MAX_NEW_TOKENS),
            min_new_tokens: p.min_new_tokens.unwrap_or(0),
            // Rounded up: a limit never becomes "no limit" (0).
            time_limit_millis: p
                .max_time
                .map(|s| (s * 1000.0).ceil().max(1.0) as u32)
                .unwrap_or(0),
            stop_sequences: p.stop_sequences.clone().unwrap_or_default(),
            // taskgate's default, sent explicitly so every backend behaves alike.
            include_stop_sequence: Some(p.include_stop_sequence.unwrap_or(true)),
        }),
        response: Some(fmaas::ResponseOptions {
            input_text: p.preserve_input_text.unwrap_or(false),
            generated_tokens: p.generated_tokens.unwrap_or(false),
            input_tokens: p.input_tokens.unwrap_or(false),
            token_logprobs: p.token_logprobs.unwrap_or(false),
            token_ranks: p.token_ranks.unwrap_or(false),
            top_n_tokens: 0,
        }),
        decoding: Some(fmaas::DecodingParameters {
            repetition_penalty: p.repetition_penalty.unwrap_or(0.0) as f32,
            length_penalty: p.exponential_decay_length_penalty.map(|l| {
                fmaas::decoding_parameters::LengthPenalty {
                    start_index: l.start_index,
                    decay_factor: l.decay_factor as f32,
                }
            }),
            guided: None,
        }),
        truncate_input_tokens: p.truncate_input_tokens.unwrap_or(0),
    }
}

pub fn finish_reason(reason: i32) -> FinishReason {
    match fmaas::StopReason::try_from(reason) {
        Ok(fmaas::StopReason::NotFinished) => FinishReason::NotFinished,
        Ok(fmaas::StopReason::MaxTokens) => FinishReason::MaxTokens,
        Ok(fmaas::StopReason::EosToken) => FinishReason::EosToken,
        Ok(fmaas::StopReason::Cancelled) => FinishReason::Cancelled,
        Ok(fmaas::StopReason::TimeLimit) => FinishReason::TimeLimit,
        Ok(fmaas::StopReason::StopSequence) => FinishReason::StopSequence,
        Ok(fmaas::StopReason::TokenLimit) => FinishReason::TokenLimit,
        Ok(fmaas::StopReason::Error) | Err(_) => FinishReason::Error,
    }
}

/// Which details the caller asked for; TGIS fills unasked fields with zeros.
#[derive(Debug, Clone, Copy)]
pub struct Details {
    /// The same choices as in-process generation reads.
    asked: DetailOptions,
    /// The seed is meaningful only when sampling.
    sampling: bool,
}

impl Details {
    pub fn from_parameters(p: &TextGenerationParameters) -> Self {
        Self {
            asked: DetailOptions::from_parameters(p),
            sampling: p.decoding_method == Some(DecodingMethod::Sampling),
        }
    }

    fn tokens(&self, wanted: bool, tokens: Vec<fmaas::TokenInfo>) -> Vec<GeneratedToken> {
        if !wanted {
            return Vec::new();
        }
        tokens
            .into_iter()
            .map(|t| GeneratedToken {
                text: t.text,
                logprob: self.asked.logprobs.then_some(f64::from(t.logprob)),
                rank: self.asked.ranks.then_some(u64::from(t.rank)),
            })
            .collect()
    }

    fn seed(&self, seed: u64) -> Option<u64> {
        self.sampling.then_some(seed)
    }

    /// A whole generation (`Generate`'s answer) as the one event that opens and ends it.
    pub fn whole(
        &self,
        r: fmaas::GenerationResponse,
        producer: ProducerId,
    ) -> GeneratedTextStreamResult {
        GeneratedTextStreamResult {
            generated_text: r.text,
            tokens: self.tokens(self.asked.generated_tokens, r.tokens),
            details: Some(TokenStreamDetails {
                finish_reason: finish_reason(r.stop_reason),
                generated_tokens: r.generated_token_count,
                seed: self.seed(r.seed),
                input_token_count: u64::from(r.input_token_count),
            }),
            producer_id: Some(producer),
            input_tokens: self.tokens(self.asked.input_tokens, r.input_tokens),
        }
    }
}

/// TGIS stream messages → stream events of the same shape as in-process generation: the first
/// (counts only) and the last (finish reason) carry `details`, the ones between only text and
/// tokens.
pub struct StreamShaper {
    details: Details,
    producer: ProducerId,
    input_token_count: u64,
    seed: Option<u64>,
    first: bool,
}

impl StreamShaper {
    pub fn new(details: Details, producer: ProducerId) -> Self {
        Self {
            details,
            producer,
            input_token_count: 0,
            seed: None,
            first: true,
        }
    }

    pub fn event(&mut self, r: fmaas::GenerationResponse) -> GeneratedTextStreamResult {
        let reason = finish_reason(r.stop_reason);
        let opening = std::mem::take(&mut self.first);
        if opening {
            self.input_token_count = u64::from(r.input_token_count);
            self.seed = self.details.seed(r.seed);
        }
        let finished = reason != FinishReason::NotFinished;
        GeneratedTextStreamResult {
            generated_text: r.text,
            tokens: self
                .details
                .tokens(self.details.asked.generated_tokens, r.tokens),
            details: (opening || finished).then_some(TokenStreamDetails {
                finish_reason: reason,
                generated_tokens: r.generated_token_count,
                seed: self.seed,
                input_token_count: self.input_token_count,
            }),
            producer_id: finished.then(|| self.producer.clone()),
            input_tokens: self
                .details
                .tokens(self.details.asked.input_tokens, r.input_tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskgate_schemas::ExponentialDecayLengthPenalty;

    #[test]
    fn every_parameter_maps_to_its_tgis_field() {
        let p = TextGenerationParameters {
            max_new_tokens: Some(7),
            min_new_tokens: Some(2),
            truncate_input_tokens: Some(100),
            decoding_method: Some(DecodingMethod::Sampling),
            top_k: Some(5),
            top_p: Some(0.5),
            typical_p: Some(0.25),
            temperature: Some(0.75),
            repetition_penalty: Some(1.5),
            max_time: Some(0.0015),
            exponential_decay_length_penalty: Some(ExponentialDecayLengthPenalty {
                start_index: 3,
                decay_factor: 1.25,
            }),
            stop_sequences: Some(vec!["\n".into()]),
            seed: Some(9),
            preserve_input_text: Some(true),
            input_tokens: Some(true),
            generated_tokens: Some(true),
            token_logprobs: Some(true),
            token_ranks: Some(false),
            include_stop_sequence: Some(false),
        };
        let t = parameters(&p);
        assert_eq!(t.method, fmaas::DecodingMethod::Sample as i32);
        let s = t.sampling.unwrap();
        assert_eq!(
            (s.temperature, s.top_k, s.top_p, s.typical_p, s.seed),
            (0.75, 5, 0.5, 0.25, Some(9))
        );
        let stop = t.stopping.unwrap();
        assert_eq!(
            (
                stop.max_new_tokens,
                stop.min_new_tokens,
                stop.time_limit_millis
            ),
            (7, 2, 2)
        );
        assert_eq!(stop.stop_sequences, vec!["\n"]);
        assert_eq!(stop.include_stop_sequence, Some(false));
        let r = t.response.unwrap();
        assert!(r.input_text && r.input_tokens && r.generated_tokens && r.token_logprobs);
        assert!(!r.token_ranks);
        let d = t.decoding.unwrap();
        assert_eq!(d.repetition_penalty, 1.5);
        let l = d.length_penalty.unwrap();
        assert_eq!((l.start_index, l.decay_factor), (3, 1.25));
        assert_eq!(t.truncate_input_tokens, 100);
    }

    #[test]
    fn defaults_are_taskgates_not_the_servers() {
        let t = parameters(&TextGenerationParameters::default());
        assert_eq!(t.method, fmaas::DecodingMethod::Greedy as i32);
        let stop = t.stopping.unwrap();
        assert_eq!(stop.max_new_tokens, 20);
        assert_eq!(stop.include_stop_sequence, Some(true));
        assert_eq!(stop.time_limit_millis, 0);
    }

    #[test]
    fn the_stream_opens_with_counts_and_closes_with_the_reason() {
        let p = TextGenerationParameters {
            generated_tokens: Some(true),
            ..Default::default()
        };
        let mut shaper =
            StreamShaper::new(Details::from_parameters(&p), ProducerId::new("tgis", "1"));
        let token = |text: &str| fmaas::TokenInfo {
            text: text.into(),
            logprob: -0.5,
            rank: 1,
            top_tokens: vec![],
        };
        let opening = shaper.event(fmaas::GenerationResponse {
            input_token_count: 4,
            ..Default::default()
        });
        let middle = shaper.event(fmaas::GenerationResponse {
            text: " a".into(),
            generated_token_count: 1,
            tokens: vec![token("Ġa")],
            ..Default::default()
        });
        let last = shaper.event(fmaas::GenerationResponse {
            text: " b".into(),
            generated_token_count: 2,
            tokens: vec![token("Ġb")],
            stop_reason: fmaas::StopReason::MaxTokens as i32,
            ..Default::default()
        });
        let details = opening.details.unwrap();
        assert_eq!(
            (details.finish_reason, details.input_token_count),
            (FinishReason::NotFinished, 4)
        );
        assert!(middle.details.is_none() && middle.producer_id.is_none());
        assert_eq!(
            middle.tokens[0].logprob, None,
            "logprobs were not asked for"
        );
        let details = last.details.unwrap();
        assert_eq!(
            (details.finish_reason, details.generated_tokens),
            (FinishReason::MaxTokens, 2)
        );
        assert_eq!(details.input_token_count, 4);
        assert_eq!(details.seed, None, "greedy has no seed");
        assert!(last.producer_id.is_some());
    }
}
