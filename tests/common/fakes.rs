//! Fake modules implementing the real task traits, for route tests without a model.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use taskgate_modules::framework::tasks::{
    ServerStreamingTextGeneration, TextClassification, TextGeneration,
};
use taskgate_modules::{
    Model, Predict, PredictStream, TaskError, TaskFuture, TaskInput, TaskStream,
};
use taskgate_runtime::RuntimeError;
use taskgate_schemas::{
    ClassificationResult, ClassificationResults, FinishReason, GeneratedTextResult,
    GeneratedTextStreamResult, TokenStreamDetails,
};
use tokio::sync::Semaphore;

/// "Generates" the prompt's words back, one word per token.
#[derive(Default)]
pub struct EchoGenerator {
    /// Fail the stream after this many events.
    pub fail_after: Option<usize>,
    /// Delay between stream events.
    pub event_delay: Duration,
    /// Set when a stream is dropped before it finished (the client went away).
    pub cancelled: Arc<AtomicBool>,
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(|w| format!("{w} ")).collect()
}

impl Predict<TextGeneration> for EchoGenerator {
    fn predict(&self, input: TaskInput<TextGeneration>) -> TaskFuture<GeneratedTextResult> {
        let max = input.parameters.max_new_tokens.unwrap_or(20) as usize;
        let tokens: Vec<String> = words(&input.inputs).into_iter().take(max).collect();
        Box::pin(async move {
            Ok(GeneratedTextResult {
                generated_text: tokens.concat(),
                generated_tokens: tokens.len() as u64,
                finish_reason: FinishReason::EosToken,
                producer_id: None,
                input_token_count: words(&input.inputs).len() as u64,
                seed: input.parameters.seed,
                tokens: Vec::new(),
                input_tokens: Vec::new(),
            })
        })
    }
}

struct CancelOnDrop {
    finished: bool,
    flag: Arc<AtomicBool>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.finished {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

impl PredictStream<ServerStreamingTextGeneration> for EchoGenerator {
    fn predict_stream(
        &self,
        input: TaskInput<ServerStreamingTextGeneration>,
    ) -> TaskFuture<TaskStream<GeneratedTextStreamResult>> {
        let tokens = words(&input.inputs);
        let count = tokens.len();
        let fail_after = self.fail_after;
        let delay = self.event_delay;
        let mut guard = CancelOnDrop {
            finished: false,
            flag: self.cancelled.clone(),
        };
        Box::pin(async move {
            let stream = futures::stream::iter(tokens.into_iter().enumerate())
                .then(move |(i, text)| async move {
                    tokio::time::sleep(delay).await;
                    if fail_after == Some(i) {
                        return Err(TaskError::Runtime(RuntimeError::Inference(
                            "the fake model failed mid-stream".into(),
                        )));
                    }
                    let last = i + 1 == count;
                    Ok(GeneratedTextStreamResult {
                        generated_text: text,
                        tokens: Vec::new(),
                        details: last.then_some(TokenStreamDetails {
                            finish_reason: FinishReason::EosToken,
                            generated_tokens: count as u32,
                            seed: None,
                            input_token_count: count as u64,
                        }),
                        producer_id: None,
                        input_tokens: Vec::new(),
                    })
                })
                .inspect(move |item| {
                    // Borrow the whole guard so the closure owns it (not just the field).
                    let guard = &mut guard;
                    if matches!(item, Ok(event) if event.details.is_some()) {
                        guard.finished = true;
                    }
                });
            Ok(stream.boxed())
        })
    }
}

/// Classifies only once a permit is released, to hold requests in flight.
pub struct GatedClassifier {
    pub gate: Arc<Semaphore>,
    pub started: Arc<AtomicUsize>,
}

impl Predict<TextClassification> for GatedClassifier {
    fn predict(&self, _input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let gate = self.gate.clone();
        self.started.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let _permit = gate.acquire().await.expect("gate stays open");
            Ok(ClassificationResults {
                results: vec![ClassificationResult {
                    label: "ok".into(),
                    score: 1.0,
                }],
                producer_id: None,
            })
        })
    }
}

pub fn echo_model(id: &str, generator: EchoGenerator) -> Model {
    let generator = Arc::new(generator);
    Model::builder(id, "fake-echo", "fake")
        .serve::<TextGeneration>(generator.clone())
        .serve_stream::<ServerStreamingTextGeneration>(generator)
        .build()
}
