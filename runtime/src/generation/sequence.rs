//! One sequence being generated: its cache, sampler, detokenizer and stopping rules. The
//! scheduler calls [`Sequence::step`] until it reports the end. A step ends as soon as its token
//! is chosen, and the next step runs that token through the model first, so each token reaches
//! the client one forward pass sooner than if the step also prepared the next one.

use std::time::Instant;

use super::stops::{StopMatch, StopMatcher};
use super::{GenerationEvent, GenerationRequest, StopReason, TokenDetail};
use crate::RuntimeError;
use crate::gguf::{GgufTokenizer, IncrementalDecoder};
use crate::llama::{KvCache, LlamaModel, LogitsAt};
use crate::sampling::{Sampler, StepContext, log_softmax};

/// Prompt tokens run per forward pass. It is also the most prompt the scheduler runs in a
/// round while other sequences decode, so a long prompt delays their next token by one chunk
/// rather than by its whole prefill. The boundaries are the same however busy the engine is, so
/// what a prompt leaves in the cache, and its greedy output, do not depend on the load.
pub const PREFILL_CHUNK: usize = 128;
/// The same when every position's logits are kept for prompt details.
const DETAILED_PREFILL_CHUNK: usize = 64;

/// How far the prompt has run.
#[derive(Default)]
struct Prefill {
    /// Prompt tokens in the cache.
    fed: usize,
    /// The logits of the last position run (the prefix's last, before any prompt token).
    last: Option<Vec<f32>>,
    /// With prompt details: each fed prompt token's logprob and rank.
    details: Vec<TokenDetail>,
}

pub struct Sequence {
    request: GenerationRequest,
    cache: KvCache,
    sampler: Sampler,
    decoder: IncrementalDecoder,
    stops: StopMatcher,
    /// Prompt and generated tokens.
    tokens: Vec<u32>,
    generated: usize,
    /// The last chosen token, not yet run through the model; `None` until the prompt has run.
    unfed: Option<u32>,
    prefill: Prefill,
    started: Option<Instant>,
}

fn inference(e: candle_core::Error) -> RuntimeError {
    RuntimeError::Inference(e.to_string())
}

impl Sequence {
    pub fn new(mut request: GenerationRequest, model: &LlamaModel) -> Self {
        // The prompt moves into `tokens` rather than being kept twice.
        let tokens = std::mem::take(&mut request.prompt);
        Self {
            cache: model.new_cache(),
            sampler: Sampler::new(request.sampling, request.seed),
            decoder: IncrementalDecoder::new(),
            stops: StopMatcher::new(
                request.stop_sequences.clone(),
                request.include_stop_sequence,
            ),
            tokens,
            generated: 0,
            unfed: None,
            prefill: Prefill::default(),
            started: None,
            request,
        }
    }

    /// Runs the prompt (first call) or the last chosen token, then chooses the next token.
    /// Returns the events it produced; the last is `Finished` when the sequence is done.
    pub fn step(
        &mut self,
        model: &LlamaModel,
        tokenizer: &GgufTokenizer,
    ) -> Result<Vec<GenerationEvent>, RuntimeError> {
        let Some(token) = self.unfed.take() else {
            loop {
                let (_, events) = self.prefill_step(model, tokenizer)?;
                if !events.is_empty() {
                    return Ok(events);
                }
            }
        };
        let mut logits = model
            .forward(&[token], &mut self.cache)
            .and_then(|l| l.to_vec1::<f32>())
            .map_err(inference)?;
        self.choose(&mut logits, Vec::with_capacity(2), model, tokenizer)
    }

    /// Whether the prompt has yet to run (wholly or in part).
    pub fn prefilling(&self) -> bool {
        self.unfed.is_none()
    }

    /// Runs the next chunk of the prompt (the soft-prompt prefix with the first); once the
    /// whole prompt is in, chooses the first token as [`Self::step`] does. Returns the prompt
    /// tokens it ran and the events, none until the prompt is in.
    pub fn prefill_step(
        &mut self,
        model: &LlamaModel,
        tokenizer: &GgufTokenizer,
    ) -> Result<(usize, Vec<GenerationEvent>), RuntimeError> {
        let ran = self.prefill_chunk(model, tokenizer)?;
        if self.prefill.fed < self.tokens.len() {
            return Ok((ran, Vec::new()));
        }
        let prefill = std::mem::take(&mut self.prefill);
        let mut logits = prefill
            .last
            .ok_or_else(|| RuntimeError::Inference("empty prompt".into()))?;
        let started = GenerationEvent::Started {
            input_token_count: self.tokens.len(),
            seed: (!self.request.sampling.greedy).then(|| self.sampler.seed()),
            prompt_tokens: prefill.details,
        };
        let mut events = Vec::with_capacity(3);
        events.push(started);
        Ok((ran, self.choose(&mut logits, events, model, tokenizer)?))
    }

    /// The last chosen token and the cache it runs after, when a decoding step is due (none
    /// before prefill).
    pub fn unfed(&mut self) -> Option<(u32, &mut KvCache)> {
        self.unfed.map(|token| (token, &mut self.cache))
    }

    /// [`Self::step`] with the logits of the unfed token already computed, together with other
    /// sequences' ([`LlamaModel::forward_batch`]).
    pub fn step_with(
        &mut self,
        mut logits: Vec<f32>,
        model: &LlamaModel,
        tokenizer: &GgufTokenizer,
    ) -> Result<Vec<GenerationEvent>, RuntimeError> {
        self.unfed = None;
        self.choose(&mut logits, Vec::with_capacity(2), model, tokenizer)
    }

    /// Picks the next token from `logits` and reports it.
    fn choose(
        &mut self,
        logits: &mut [f32],
        mut events: Vec<GenerationEvent>,
        model: &LlamaModel,
        tokenizer: &GgufTokenizer,
    ) -> Result<Vec<GenerationEvent>, RuntimeError> {
        let chosen = self.sampler.choose(
            logits,
            StepContext {
                tokens: &self.tokens,
                generated: self.generated,
                eos: tokenizer.eos_id,
                min_new_tokens: self.request.min_new_tokens,
                length_penalty: self.request.length_penalty,
            },
        );
        self.generated += 1;
        self.tokens.push(chosen.id);
        let eos = chosen.id == tokenizer.eos_id;
        let delta = if eos {
            String::new()
        } else {
            self.decoder.push(tokenizer, chosen.id)?
        };
        let may_stop = self.generated >= self.request.min_new_tokens;
        let mut stop = self.stops.push(&delta, may_stop);
        let mut reason = self.stop_reason(eos, stop, model);
        if reason.is_some() && stop.is_none() {
            // Release what the detokenizer held back (an incomplete character at the end).
            let rest = self.decoder.finish(tokenizer)?;
            stop = self.stops.push(&rest, may_stop);
            if stop.is_some() {
                reason = Some(StopReason::StopSequence);
            }
        }
        events.push(GenerationEvent::Token {
            text: if reason.is_some() {
                String::new()
            } else {
                self.stops.take_ready()
            },
            token: TokenDetail {
                id: chosen.id,
                text: tokenizer.id_to_token(chosen.id).unwrap_or_default(),
                logprob: Some(chosen.logprob),
                rank: Some(chosen.rank),
            },
        });
        match reason {
            Some(reason) => {
                events.push(GenerationEvent::Finished {
                    text: self.stops.take_final(stop),
                    reason,
                    generated_tokens: self.generated,
                });
            }
            None => self.unfed = Some(chosen.id),
        }
        Ok(events)
    }

    fn stop_reason(
        &self,
        eos: bool,
        stop: Option<StopMatch>,
        model: &LlamaModel,
    ) -> Option<StopReason> {
        if eos {
            Some(StopReason::EosToken)
        } else if stop.is_some() {
            Some(StopReason::StopSequence)
        } else if self.generated >= self.request.max_new_tokens {
            Some(StopReason::MaxTokens)
        } else if self.cache.len() >= model.config.context_length {
            Some(StopReason::TokenLimit)
        } else if self
            .request
            .max_time
            .zip(self.started)
            .is_some_and(|(limit, started)| started.elapsed() >= limit)
        {
            Some(StopReason::TimeLimit)
        } else {
            None
        }
    }

    /// One chunk of the prompt into the cache (after the prefix, on the first call); the
    /// tokens it ran.
    fn prefill_chunk(
        &mut self,
        model: &LlamaModel,
        tokenizer: &GgufTokenizer,
    ) -> Result<usize, RuntimeError> {
        let details = self.request.prompt_details;
        let at = if details {
            LogitsAt::All
        } else {
            LogitsAt::Last
        };
        if self.started.is_none() {
            self.started = Some(Instant::now());
            if let Some(prefix) = &self.request.prefix {
                // Its last position scores the first prompt token, as training saw it.
                let logits = model
                    .forward_embeddings(prefix, &mut self.cache, LogitsAt::Last)
                    .and_then(|l| l.to_vec1::<f32>())
                    .map_err(inference)?;
                self.prefill.last = Some(logits);
            }
        }
        // In chunks: attention scores grow with chunk × context (a whole 8k prompt at once
        // would need gigabytes), and with details so do the vocabulary-wide logits per position.
        let chunk_size = if details {
            DETAILED_PREFILL_CHUNK
        } else {
            PREFILL_CHUNK
        };
        // Until the first token is chosen, `tokens` is exactly the prompt.
        let fed = self.prefill.fed;
        let chunk = &self.tokens[fed..self.tokens.len().min(fed + chunk_size)];
        if chunk.is_empty() {
            return Ok(0);
        }
        let logits = model
            .embed(chunk)
            .and_then(|x| model.forward_embeddings(&x, &mut self.cache, at))
            .map_err(inference)?;
        self.prefill.fed += chunk.len();
        if !details {
            self.prefill.last = Some(logits.to_vec1::<f32>().map_err(inference)?);
            return Ok(chunk.len());
        }
        // Each token is scored by the logits of the position before it.
        let rows = logits.to_vec2::<f32>().map_err(inference)?;
        for (i, &id) in chunk.iter().enumerate() {
            let before = if i == 0 {
                self.prefill.last.as_ref()
            } else {
                rows.get(i - 1)
            };
            self.prefill.details.push(detail(id, before, tokenizer));
        }
        self.prefill.last = rows.into_iter().last();
        Ok(chunk.len())
    }
}

/// A prompt token's logprob and rank under `logits` of the position before it (none for the
/// first token).
fn detail(id: u32, logits: Option<&Vec<f32>>, tokenizer: &GgufTokenizer) -> TokenDetail {
    let scored = logits.map(|row| {
        let logprobs = log_softmax(row);
        let own = logprobs
            .get(id as usize)
            .copied()
            .unwrap_or(f32::NEG_INFINITY);
        let rank = 1 + logprobs.iter().filter(|&&l| l > own).count() as u32;
        (own, rank)
    });
    TokenDetail {
        id,
        text: tokenizer.id_to_token(id).unwrap_or_default(),
        logprob: scored.map(|s| s.0),
        rank: scored.map(|s| s.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models::smollm2_gguf;

    fn request(prompt: Vec<u32>, max_new_tokens: usize) -> GenerationRequest {
        GenerationRequest::greedy(prompt, max_new_tokens, 0)
    }

    /// A step hands its token over before the model has run it: the cache then holds only
    /// what came before, and the next step feeds it. The tokens are the greedy ones a plain
    /// forward-argmax loop picks.
    #[test]
    fn each_token_leaves_before_its_forward_pass() {
        let Some(path) = smollm2_gguf("each_token_leaves_before_its_forward_pass") else {
            return;
        };
        let _memory = crate::test_models::beside_the_memory_bound();
        let ct = crate::gguf::read_content(&path).unwrap();
        let tokenizer = GgufTokenizer::from_content(&ct).unwrap();
        let model = LlamaModel::from_content(&path, &ct).unwrap();
        let prompt = tokenizer.encode("The capital of France is").unwrap();
        let mut sequence = Sequence::new(request(prompt.clone(), 3), &model);
        let mut cache = model.new_cache();
        let mut logits = model.forward(&prompt, &mut cache).unwrap();
        for step in 0..3 {
            let events = sequence.step(&model, &tokenizer).unwrap();
            assert_eq!(sequence.cache.len(), prompt.len() + step, "step {step}");
            let chosen = events
                .iter()
                .find_map(|e| match e {
                    GenerationEvent::Token { token, .. } => Some(token.id),
                    _ => None,
                })
                .unwrap();
            let want = crate::llama::argmax(&logits).unwrap();
            assert_eq!(chosen, want, "step {step}");
            let finished = matches!(events.last(), Some(GenerationEvent::Finished { .. }));
            assert_eq!(finished, step == 2, "step {step}");
            logits = model.forward(&[want], &mut cache).unwrap();
        }
    }
}
