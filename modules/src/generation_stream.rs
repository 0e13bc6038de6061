//! How every streamed generation ends: the event carrying the finish reason is the last one
//! sent, and a source that stops before it is an error, never a silently short result.

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use taskgate_schemas::{FinishReason, GeneratedTextStreamResult};

use crate::TaskError;

/// `events`, ended right after the finish event; `ended_early` when the source stops first.
pub fn until_finished<S>(
    events: S,
    ended_early: TaskError,
) -> BoxStream<'static, Result<GeneratedTextStreamResult, TaskError>>
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

#[cfg(test)]
mod tests {
    use super::*;
    use taskgate_runtime::RuntimeError;
    use taskgate_schemas::TokenStreamDetails;

    fn event(reason: Option<FinishReason>) -> Result<GeneratedTextStreamResult, TaskError> {
        Ok(GeneratedTextStreamResult {
            generated_text: "x".into(),
            tokens: vec![],
            details: reason.map(|finish_reason| TokenStreamDetails {
                finish_reason,
                generated_tokens: 1,
                seed: None,
                input_token_count: 1,
            }),
            producer_id: None,
            input_tokens: vec![],
        })
    }

    fn early() -> TaskError {
        RuntimeError::Inference("ended early".into()).into()
    }

    #[tokio::test]
    async fn nothing_follows_the_finish_event() {
        let source = futures::stream::iter(vec![
            event(None),
            event(Some(FinishReason::MaxTokens)),
            event(None),
        ]);
        let items: Vec<_> = until_finished(source, early()).collect().await;
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(Result::is_ok));
    }

    #[tokio::test]
    async fn a_source_that_stops_first_ends_with_the_error() {
        let source =
            futures::stream::iter(vec![event(Some(FinishReason::NotFinished)), event(None)]);
        let items: Vec<_> = until_finished(source, early()).collect().await;
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].as_ref().unwrap_err(), &early());
    }
}
