use std::sync::Mutex;

use taskgate_runtime::RuntimeError;
use taskgate_schemas::{GeneratedToken, ProducerId, TokenStreamDetails};

use super::*;

type Event = Result<GeneratedTextStreamResult, TaskError>;

fn event(text: &str, reason: Option<FinishReason>) -> Event {
    Ok(GeneratedTextStreamResult {
        generated_text: text.into(),
        tokens: vec![GeneratedToken {
            text: text.into(),
            logprob: Some(-0.5),
            rank: None,
        }],
        details: reason.map(|finish_reason| TokenStreamDetails {
            finish_reason,
            generated_tokens: 2,
            seed: Some(7),
            input_token_count: 3,
        }),
        producer_id: reason
            .filter(|r| *r != FinishReason::NotFinished)
            .map(|_| ProducerId::new("fake", "1")),
        input_tokens: vec![],
    })
}

fn early() -> TaskError {
    RuntimeError::Inference("ended early".into()).into()
}

/// Plays back `events` (or refuses to start); `start_whole` plays `whole` when given.
#[derive(Default)]
struct FakeGenerator {
    events: Vec<Event>,
    whole: Option<Vec<Event>>,
    refusal: Option<TaskError>,
    /// Which of the two starts ran, in order.
    starts: Mutex<Vec<&'static str>>,
}

impl FakeGenerator {
    fn playing(events: Vec<Event>) -> Arc<Self> {
        Arc::new(Self {
            events,
            ..Self::default()
        })
    }

    fn play(&self, which: &'static str, events: Vec<Event>) -> TaskFuture<Generation> {
        self.starts.lock().unwrap().push(which);
        let refusal = self.refusal.clone();
        Box::pin(async move {
            if let Some(error) = refusal {
                return Err(error);
            }
            Ok(Generation {
                events: futures::stream::iter(events).boxed(),
                ended_early: early(),
            })
        })
    }
}

impl Generator for FakeGenerator {
    fn start(&self, _input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        self.play("start", self.events.clone())
    }

    fn start_whole(&self, input: TaskInput<TextGeneration>) -> TaskFuture<Generation> {
        match &self.whole {
            Some(events) => self.play("start_whole", events.clone()),
            None => self.start(input),
        }
    }
}

fn input<T: crate::Task<Request = taskgate_schemas::TextGenerationRequest>>() -> TaskInput<T> {
    TaskInput {
        inputs: "prompt".into(),
        parameters: Default::default(),
        request_id: "r".into(),
        trace: Default::default(),
        route_info: None,
    }
}

async fn unary(generator: &Arc<FakeGenerator>) -> Result<GeneratedTextResult, TaskError> {
    GenerationFamily(generator.clone())
        .predict(input::<TextGeneration>())
        .await
}

async fn streamed(generator: &Arc<FakeGenerator>) -> Result<Vec<Event>, TaskError> {
    let events = GenerationFamily(generator.clone())
        .predict_stream(input::<ServerStreamingTextGeneration>())
        .await?;
    Ok(events.collect().await)
}

fn three_events() -> Vec<Event> {
    vec![
        event("in:", Some(FinishReason::NotFinished)),
        event(" a", None),
        event(" b", Some(FinishReason::MaxTokens)),
    ]
}

#[tokio::test]
async fn the_unary_answer_is_the_fold_of_the_stream() {
    let generator = FakeGenerator::playing(three_events());
    let events = streamed(&generator).await.unwrap();
    let events: Vec<GeneratedTextStreamResult> = events.into_iter().map(Result::unwrap).collect();
    let answer = unary(&generator).await.unwrap();
    let text: String = events.iter().map(|e| e.generated_text.as_str()).collect();
    assert_eq!(answer.generated_text, text);
    assert_eq!(answer.generated_text, "in: a b");
    let tokens: Vec<_> = events.iter().flat_map(|e| e.tokens.clone()).collect();
    assert_eq!(answer.tokens, tokens);
    let last = events[2].details.as_ref().unwrap();
    assert_eq!(answer.finish_reason, last.finish_reason);
    assert_eq!(
        (
            answer.generated_tokens,
            answer.input_token_count,
            answer.seed
        ),
        (2, 3, Some(7))
    );
    assert_eq!(answer.producer_id, events[2].producer_id);
    assert_eq!(*generator.starts.lock().unwrap(), ["start", "start"]);
}

#[tokio::test]
async fn a_unary_call_folds_the_whole_answer_when_the_source_has_one() {
    let generator = Arc::new(FakeGenerator {
        events: three_events(),
        whole: Some(vec![event("whole", Some(FinishReason::EosToken))]),
        ..FakeGenerator::default()
    });
    let answer = unary(&generator).await.unwrap();
    assert_eq!(answer.generated_text, "whole");
    assert_eq!(answer.finish_reason, FinishReason::EosToken);
    assert_eq!(streamed(&generator).await.unwrap().len(), 3);
    assert_eq!(*generator.starts.lock().unwrap(), ["start_whole", "start"]);
}

#[tokio::test]
async fn the_family_sends_nothing_after_the_finish_event() {
    let mut events = three_events();
    events.push(event(" after", None));
    events.push(Err(early()));
    let generator = FakeGenerator::playing(events);
    let streamed = streamed(&generator).await.unwrap();
    assert_eq!(streamed.len(), 3);
    assert!(streamed.iter().all(Result::is_ok));
    assert_eq!(unary(&generator).await.unwrap().generated_text, "in: a b");
}

#[tokio::test]
async fn a_source_that_stops_before_its_finish_event_is_an_error() {
    let mut events = three_events();
    events.pop();
    let generator = FakeGenerator::playing(events);
    let streamed = streamed(&generator).await.unwrap();
    assert_eq!(streamed.len(), 3);
    assert_eq!(streamed[2].as_ref().unwrap_err(), &early());
    assert_eq!(unary(&generator).await.unwrap_err(), early());

    // A `NOT_FINISHED` reason does not end the stream either.
    let generator = FakeGenerator::playing(vec![event("x", Some(FinishReason::NotFinished))]);
    assert_eq!(unary(&generator).await.unwrap_err(), early());
    let empty = FakeGenerator::playing(vec![]);
    let streamed = self::streamed(&empty).await.unwrap();
    assert_eq!(streamed.len(), 1);
    assert_eq!(unary(&empty).await.unwrap_err(), early());
}

#[tokio::test]
async fn an_error_ends_the_stream_and_fails_the_unary_call() {
    let failure = TaskError::Runtime(RuntimeError::Inference("step failed".into()));
    let generator = FakeGenerator::playing(vec![
        event("in:", Some(FinishReason::NotFinished)),
        Err(failure.clone()),
        event(" b", Some(FinishReason::MaxTokens)),
    ]);
    let streamed = streamed(&generator).await.unwrap();
    assert_eq!(streamed.len(), 2);
    assert_eq!(streamed[1].as_ref().unwrap_err(), &failure);
    assert_eq!(unary(&generator).await.unwrap_err(), failure);
}

#[tokio::test]
async fn errors_before_the_first_event_fail_the_call() {
    let refusal = TaskError::invalid_field("/inputs", "no");
    let generator = Arc::new(FakeGenerator {
        events: three_events(),
        refusal: Some(refusal.clone()),
        ..FakeGenerator::default()
    });
    assert_eq!(streamed(&generator).await.unwrap_err(), refusal);
    assert_eq!(unary(&generator).await.unwrap_err(), refusal);
}

#[tokio::test]
async fn nothing_follows_the_finish_event() {
    let source = futures::stream::iter(vec![
        event("x", None),
        event("y", Some(FinishReason::MaxTokens)),
        event("z", None),
    ]);
    let items: Vec<_> = until_finished(source, early()).collect().await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(Result::is_ok));
}

#[tokio::test]
async fn a_source_that_stops_first_ends_with_the_error() {
    let source = futures::stream::iter(vec![
        event("x", Some(FinishReason::NotFinished)),
        event("y", None),
    ]);
    let items: Vec<_> = until_finished(source, early()).collect().await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[2].as_ref().unwrap_err(), &early());
}
