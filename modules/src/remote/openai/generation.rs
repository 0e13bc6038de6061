//! OpenAI completion chunks → Caikit stream events, with stop sequences and time limits applied
//! gateway-side: OpenAI answers say neither which stop sequence matched nor whether it was kept,
//! so taskgate matches them itself (as in-process generation does) and ends the upstream
//! request once one matched.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use taskgate_runtime::RuntimeError;
use taskgate_runtime::generation::{StopMatch, StopMatcher};
use taskgate_runtime::remote::openai::{ChunkStream, Completion, Usage};
use taskgate_schemas::{
    DecodingMethod, FinishReason, GeneratedTextStreamResult, ProducerId, TextGenerationParameters,
    TokenStreamDetails,
};
use tokio::time::Instant;

use crate::TaskError;

/// What a completion's `finish_reason` means in Caikit's terms. The server never sees stop
/// sequences (taskgate matches them), so `stop` is the end-of-sequence token.
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "length" => FinishReason::MaxTokens,
        "stop" | "eos" | "eos_token" => FinishReason::EosToken,
        _ => FinishReason::Error,
    }
}

/// The parts of a call that shape its events.
pub struct Shape {
    pub producer: ProducerId,
    /// The input, sent first when `preserve_input_text` is set.
    pub preface: String,
    pub seed: Option<u64>,
    pub stops: Vec<String>,
    pub include_stop_sequence: bool,
    pub min_new_tokens: u32,
    pub max_time: Option<Duration>,
}

impl Shape {
    pub fn new(p: &TextGenerationParameters, input: &str, producer: ProducerId) -> Self {
        let sampling = p.decoding_method == Some(DecodingMethod::Sampling);
        Self {
            producer,
            preface: if p.preserve_input_text == Some(true) {
                input.to_string()
            } else {
                String::new()
            },
            seed: p.seed.filter(|_| sampling),
            stops: p.stop_sequences.clone().unwrap_or_default(),
            include_stop_sequence: p.include_stop_sequence.unwrap_or(true),
            min_new_tokens: p.min_new_tokens.unwrap_or(0),
            max_time: p.max_time.map(Duration::from_secs_f64),
        }
    }

    /// Only these need the stream; anything else can be one whole completion.
    pub fn needs_stream(&self) -> bool {
        !self.stops.is_empty() || self.max_time.is_some()
    }

    fn event(
        &self,
        text: String,
        details: Option<TokenStreamDetails>,
    ) -> GeneratedTextStreamResult {
        let finished = details
            .as_ref()
            .is_some_and(|d| d.finish_reason != FinishReason::NotFinished);
        GeneratedTextStreamResult {
            generated_text: text,
            tokens: Vec::new(),
            details,
            producer_id: finished.then(|| self.producer.clone()),
            input_tokens: Vec::new(),
        }
    }

    fn details(
        &self,
        reason: FinishReason,
        generated: u64,
        usage: Option<Usage>,
    ) -> TokenStreamDetails {
        TokenStreamDetails {
            finish_reason: reason,
            generated_tokens: usage.map_or(generated, |u| u.completion_tokens) as u32,
            seed: self.seed,
            input_token_count: usage.map_or(0, |u| u.prompt_tokens),
        }
    }

    /// A whole completion as the one event a stream would have ended with.
    pub fn whole(&self, completion: Completion) -> Vec<GeneratedTextStreamResult> {
        let reason = completion
            .finish_reason
            .as_deref()
            .map_or(FinishReason::Error, finish_reason);
        let usage = completion.usage;
        let opening = self.details(FinishReason::NotFinished, 0, usage);
        vec![
            self.event(self.preface.clone(), Some(opening)),
            self.event(completion.text, Some(self.details(reason, 0, usage))),
        ]
    }
}

struct State {
    shape: Shape,
    chunks: ChunkStream,
    stops: StopMatcher,
    deadline: Option<Instant>,
    /// Chunks that carried text: the tokens generated, as far as the stream tells.
    generated: u64,
    usage: Option<Usage>,
    /// The server's finish reason, once given; the stream is read to its end for usage.
    finish: Option<FinishReason>,
    opened: bool,
    done: bool,
}

/// Caikit stream events from `chunks`: an opening event, one per chunk with text, and a final
/// event with the finish reason. A stream that ends without a finish reason, or fails, ends
/// with an error.
pub fn events(
    shape: Shape,
    chunks: ChunkStream,
    ended_early: TaskError,
) -> BoxStream<'static, Result<GeneratedTextStreamResult, TaskError>> {
    let state = State {
        stops: StopMatcher::new(shape.stops.clone(), shape.include_stop_sequence),
        deadline: shape.max_time.map(|t| Instant::now() + t),
        shape,
        chunks,
        generated: 0,
        usage: None,
        finish: None,
        opened: false,
        done: false,
    };
    futures::stream::unfold(state, move |mut state| {
        let ended_early = ended_early.clone();
        async move {
            if state.done {
                return None;
            }
            let item = state.next().await.map_err(|e| match e {
                Some(e) => TaskError::from(e),
                None => ended_early,
            });
            state.done |= item.is_err();
            Some((item, state))
        }
    })
    .boxed()
}

impl State {
    /// The next event; `Err(None)` when the stream ended without a finish reason.
    async fn next(&mut self) -> Result<GeneratedTextStreamResult, Option<RuntimeError>> {
        if !std::mem::replace(&mut self.opened, true) {
            let opening = self.shape.details(FinishReason::NotFinished, 0, None);
            let preface = std::mem::take(&mut self.shape.preface);
            return Ok(self.shape.event(preface, Some(opening)));
        }
        loop {
            let next = match self.deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, self.chunks.next()).await
                {
                    Ok(next) => next,
                    Err(_) => return Ok(self.finish(FinishReason::TimeLimit, None)),
                },
                None => self.chunks.next().await,
            };
            let Some(chunk) = next else {
                return match self.finish {
                    Some(reason) => Ok(self.finish(reason, None)),
                    None => Err(None),
                };
            };
            let chunk = chunk.map_err(Some)?;
            if chunk.usage.is_some() {
                self.usage = chunk.usage;
            }
            if let Some(reason) = &chunk.finish_reason {
                self.finish = Some(finish_reason(reason));
            }
            if chunk.text.is_empty() {
                continue;
            }
            self.generated += 1;
            let search = self.generated >= u64::from(self.shape.min_new_tokens);
            if let Some(stop) = self.stops.push(&chunk.text, search) {
                return Ok(self.finish(FinishReason::StopSequence, Some(stop)));
            }
            let ready = self.stops.take_ready();
            if !ready.is_empty() {
                return Ok(self.shape.event(ready, None));
            }
        }
    }

    /// The final event; the upstream request is closed with it.
    fn finish(
        &mut self,
        reason: FinishReason,
        stop: Option<StopMatch>,
    ) -> GeneratedTextStreamResult {
        self.done = true;
        self.chunks = futures::stream::empty().boxed();
        // Usage counts what the server generated, which is more than was kept when taskgate
        // cut the stream short.
        let usage = self
            .usage
            .filter(|_| stop.is_none() && reason != FinishReason::TimeLimit);
        let text = self.stops.take_final(stop);
        let details = self.shape.details(reason, self.generated, usage);
        self.shape.event(text, Some(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskgate_runtime::RemoteFailure;

    fn shape(stops: &[&str], include: bool) -> Shape {
        Shape {
            producer: ProducerId::new("openai", "0"),
            preface: "in:".into(),
            seed: None,
            stops: stops.iter().map(|s| s.to_string()).collect(),
            include_stop_sequence: include,
            min_new_tokens: 0,
            max_time: None,
        }
    }

    fn chunks(texts: &[&str], finish: Option<&str>) -> ChunkStream {
        let mut items: Vec<Result<Completion, RuntimeError>> = texts
            .iter()
            .map(|t| {
                Ok(Completion {
                    text: t.to_string(),
                    ..Completion::default()
                })
            })
            .collect();
        if let Some(reason) = finish {
            items.push(Ok(Completion {
                finish_reason: Some(reason.into()),
                ..Completion::default()
            }));
        }
        futures::stream::iter(items).boxed()
    }

    async fn collect(
        shape: Shape,
        chunks: ChunkStream,
    ) -> Vec<Result<GeneratedTextStreamResult, TaskError>> {
        events(shape, chunks, TaskError::Cancelled).collect().await
    }

    fn text(events: &[Result<GeneratedTextStreamResult, TaskError>]) -> String {
        events
            .iter()
            .map(|e| e.as_ref().unwrap().generated_text.as_str())
            .collect()
    }

    fn last_details(events: &[Result<GeneratedTextStreamResult, TaskError>]) -> TokenStreamDetails {
        let last = events.last().unwrap().as_ref().unwrap();
        last.details.clone().unwrap()
    }

    fn last_reason(events: &[Result<GeneratedTextStreamResult, TaskError>]) -> FinishReason {
        events
            .last()
            .unwrap()
            .as_ref()
            .unwrap()
            .details
            .as_ref()
            .unwrap()
            .finish_reason
    }

    #[tokio::test]
    async fn a_stop_sequence_split_across_chunks_ends_the_stream() {
        let events = collect(
            shape(&["END"], true),
            chunks(&["a", " E", "N", "D", "more"], None),
        )
        .await;
        assert_eq!(text(&events), "in:a END");
        assert_eq!(last_reason(&events), FinishReason::StopSequence);
        let details = last_details(&events);
        assert_eq!(details.generated_tokens, 4);
        let events = collect(shape(&["END"], false), chunks(&["a", " E", "ND"], None)).await;
        assert_eq!(text(&events), "in:a ");
    }

    #[tokio::test]
    async fn the_servers_finish_reason_and_usage_end_an_unstopped_stream() {
        let mut items = chunks(&["x", "y"], Some("length"))
            .collect::<Vec<_>>()
            .await;
        items.push(Ok(Completion {
            usage: Some(Usage {
                prompt_tokens: 4,
                completion_tokens: 2,
            }),
            ..Completion::default()
        }));
        let events = collect(shape(&[], true), futures::stream::iter(items).boxed()).await;
        assert_eq!(text(&events), "in:xy");
        let details = last_details(&events);
        assert_eq!(
            (details.finish_reason, details.input_token_count),
            (FinishReason::MaxTokens, 4)
        );
        assert!(
            events
                .last()
                .unwrap()
                .as_ref()
                .unwrap()
                .producer_id
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_stream_cut_short_or_failing_ends_with_an_error() {
        let events = collect(shape(&[], true), chunks(&["x"], None)).await;
        assert!(matches!(events.last().unwrap(), Err(TaskError::Cancelled)));
        let failing = futures::stream::iter(vec![Err(RuntimeError::Remote {
            backend: "b".into(),
            failure: RemoteFailure::Failed,
            message: "gone".into(),
        })])
        .boxed();
        let events = collect(shape(&[], true), failing).await;
        assert_eq!(events.len(), 2);
        assert!(matches!(events[1], Err(TaskError::Runtime(_))));
    }

    #[tokio::test]
    async fn max_time_ends_a_slow_stream_with_time_limit() {
        let mut s = shape(&[], true);
        s.max_time = Some(Duration::from_millis(50));
        let slow = futures::stream::iter(vec![Ok(Completion {
            text: "a".into(),
            ..Completion::default()
        })])
        .chain(futures::stream::pending())
        .boxed();
        let events = collect(s, slow).await;
        assert_eq!(text(&events), "in:a");
        assert_eq!(last_reason(&events), FinishReason::TimeLimit);
    }
}
