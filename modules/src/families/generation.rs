//! The text-generation family: every generation source (in-process engine, prompt-tuned model,
//! TGIS, OpenAI-compatible servers) implements one streaming [`Generator`], and one adapter
//! serves `text-generation` and `server-streaming-text-generation` over it. The unary answer is
//! the fold of the stream, so it is always the concatenation of the streamed deltas with the
//! last event's details; and how a stream ends (the finish event is the last one sent, a source
//! that stops before it is an error) is decided here, once, for every source.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use taskgate_runtime::{RemoteFailure, RuntimeError};
use taskgate_schemas::{FinishReason, GeneratedTextResult, GeneratedTextStreamResult};

use crate::framework::tasks::{ServerStreamingTextGeneration, TextGeneration};
use crate::{ModelBuilder, Predict, PredictStream, TaskError, TaskFuture, TaskInput, TaskStream};

/// A started generation.
pub struct Generation {
    /// Stream events: the first carries the input counts, the one with a finish reason other
    /// than `NOT_FINISHED` ends the generation.
    pub events: TaskStream<GeneratedTextStreamResult>,
    /// What the call fails with when `events` stops before the finish event.
    pub ended_early: TaskError,
}

/// A source of generated text.
pub trait Generator: Send + Sync + 'static {
    /// Starts one generation. Whatever fails before the first event (invalid input, a full
    /// queue, an unreachable remote) fails the call; dropping the events cancels the work.
    fn start(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation>;

    /// Starts a generation whose events are only folded into one answer. A source whose
    /// remote answers a whole generation in one call overrides this to make that call (it is
    /// then bounded by the remote's request timeout, as a unary call should be); its events
    /// are folded exactly as streamed ones are.
    fn start_whole(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        self.start(input)
    }
}

/// What a remote generation that stops before its finish event fails with.
pub fn remote_ended_early(backend: &str) -> TaskError {
    RuntimeError::Remote {
        backend: backend.to_string(),
        failure: RemoteFailure::Failed,
        message: "the stream ended before its finish reason".into(),
    }
    .into()
}

/// Both generation tasks over one generator.
pub struct GenerationFamily<G>(pub Arc<G>);

/// Registers `text-generation` and `server-streaming-text-generation` of `generator`.
pub fn serve_generation_family<G: Generator>(
    builder: ModelBuilder,
    generator: Arc<G>,
) -> ModelBuilder {
    let family = Arc::new(GenerationFamily(generator));
    builder
        .serve::<TextGeneration>(family.clone())
        .serve_stream::<ServerStreamingTextGeneration>(family)
}

impl<G: Generator> Predict<TextGeneration> for GenerationFamily<G> {
    fn predict(&self, input: TaskInput<TextGeneration>) -> TaskFuture<GeneratedTextResult> {
        let started = self.0.start_whole(input);
        Box::pin(async move { fold(started.await?).await })
    }
}

impl<G: Generator> PredictStream<ServerStreamingTextGeneration> for GenerationFamily<G> {
    fn predict_stream(
        &self,
        input: TaskInput<ServerStreamingTextGeneration>,
    ) -> TaskFuture<TaskStream<GeneratedTextStreamResult>> {
        let started = self.0.start(input.into_task());
        Box::pin(async move {
            let Generation {
                events,
                ended_early,
            } = started.await?;
            Ok(until_finished(events, ended_early))
        })
    }
}

/// The unary answer of a generation: its events up to the finish event, folded.
pub async fn fold(generation: Generation) -> Result<GeneratedTextResult, TaskError> {
    let ended_early = generation.ended_early.clone();
    let mut events = until_finished(generation.events, generation.ended_early);
    let mut result = UnaryResult::default();
    while let Some(event) = events.next().await {
        result.add(event?);
    }
    result.finish().ok_or(ended_early)
}

/// `events`, ended right after the finish event; `ended_early` when the source stops first.
pub fn until_finished<S>(events: S, ended_early: TaskError) -> TaskStream<GeneratedTextStreamResult>
where
    S: Stream<Item = Result<GeneratedTextStreamResult, TaskError>> + Send + 'static,
{
    futures::stream::unfold((events.boxed(), false), move |(mut events, finished)| {
        let ended_early = ended_early.clone();
        async move {
            if finished {
                return None;
            }
            let item = events.next().await.unwrap_or(Err(ended_early));
            let last = match &item {
                Ok(event) => event
                    .details
                    .as_ref()
                    .is_some_and(|d| d.finish_reason != FinishReason::NotFinished),
                Err(_) => true,
            };
            Some((item, (events, last)))
        }
    })
    .boxed()
}

/// Folds stream results into the unary result: the same events, so the unary text is exactly
/// the concatenation of the streamed deltas.
#[derive(Default)]
pub struct UnaryResult {
    result: Option<GeneratedTextResult>,
}

impl UnaryResult {
    pub fn add(&mut self, event: GeneratedTextStreamResult) {
        let result = self.result.get_or_insert_with(|| GeneratedTextResult {
            generated_text: String::new(),
            generated_tokens: 0,
            finish_reason: FinishReason::NotFinished,
            producer_id: None,
            input_token_count: 0,
            seed: None,
            tokens: Vec::new(),
            input_tokens: Vec::new(),
        });
        result.generated_text.push_str(&event.generated_text);
        result.tokens.extend(event.tokens);
        result.input_tokens.extend(event.input_tokens);
        if let Some(details) = event.details {
            result.finish_reason = details.finish_reason;
            result.generated_tokens = u64::from(details.generated_tokens);
            result.input_token_count = details.input_token_count;
            result.seed = details.seed;
        }
        if event.producer_id.is_some() {
            result.producer_id = event.producer_id;
        }
    }

    /// The result, once the final event arrived.
    pub fn finish(self) -> Option<GeneratedTextResult> {
        self.result
            .filter(|r| r.finish_reason != FinishReason::NotFinished)
    }
}

#[cfg(test)]
#[path = "generation_tests.rs"]
mod tests;
