//! taskgate's server-sent event streams as [`Stream`]s of typed events.
//!
//! The generated methods for `text/event-stream` routes answer raw bytes; [`stream_text_generation`]
//! and [`training_events`] call them and parse the events as they arrive. A refusal before the
//! stream starts is the method's own [`Error`]; an `event: error` after it started is
//! [`StreamError::Failed`] with taskgate's error body, and the stream ends there.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::types::{
    ErrorBody, GeneratedTextStreamResult, TextGenerationRequest, TrainingStatusResponse,
};
use crate::{ByteStream, Client, Error};

/// What can end a stream early, once it has started.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the connection broke: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("an event's data is not the expected JSON: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("the server failed the call ({}): {}", .0.code, .0.details)]
    Failed(ErrorBody),
}

/// One server-sent event: its name (`message` when unnamed) and its data lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: String,
}

/// The event-stream framing: bytes in, whole events out. An event ends at a blank line; a
/// partial line waits for the next bytes, so events may be split anywhere on the wire.
#[derive(Debug, Default)]
pub struct EventParser {
    pending: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl EventParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if let Some(event) = self.line(line) {
                events.push(event);
            }
        }
        events
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let event = self.event.take();
            if self.data.is_empty() {
                return None;
            }
            return Some(Event {
                event: event.unwrap_or_else(|| "message".to_string()),
                data: std::mem::take(&mut self.data).join("\n"),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => self.data.push(value.to_string()),
            _ => {}
        }
        None
    }
}

/// The events of a raw event-stream body.
pub fn events(body: ByteStream) -> impl Stream<Item = Result<Event, StreamError>> + Send {
    let chunks = body.into_inner();
    futures::stream::unfold(
        (
            chunks,
            EventParser::default(),
            Vec::<Event>::new().into_iter(),
        ),
        |(mut chunks, mut parser, mut ready)| async move {
            loop {
                if let Some(event) = ready.next() {
                    return Some((Ok(event), (chunks, parser, ready)));
                }
                let chunk: Bytes = match chunks.next().await? {
                    Ok(chunk) => chunk,
                    Err(e) => return Some((Err(e.into()), (chunks, parser, ready))),
                };
                ready = parser.push(&chunk).into_iter();
            }
        },
    )
}

/// Each event's data as a `T`; an `event: error` becomes [`StreamError::Failed`] and ends the
/// stream, as does any other error.
pub fn typed<T: DeserializeOwned + Send>(
    events: impl Stream<Item = Result<Event, StreamError>> + Send,
) -> impl Stream<Item = Result<T, StreamError>> + Send {
    events
        .map(|event| {
            let event = event?;
            if event.event == "error" {
                return Err(StreamError::Failed(serde_json::from_str(&event.data)?));
            }
            Ok(serde_json::from_str(&event.data)?)
        })
        .scan(false, |failed, item| {
            let end = *failed;
            *failed = item.is_err();
            futures::future::ready((!end).then_some(item))
        })
}

/// `POST /api/v1/task/server-streaming-text-generation`, one result per event.
pub async fn stream_text_generation(
    client: &Client,
    body: &TextGenerationRequest,
) -> Result<
    impl Stream<Item = Result<GeneratedTextStreamResult, StreamError>> + Send,
    Error<ErrorBody>,
> {
    let answer = client
        .server_streaming_text_generation_task_predict(body)
        .await?;
    Ok(typed(events(answer.into_inner())))
}

/// `GET /management/trainings/events`: the job's status at each change, until its final
/// state.
pub async fn training_events(
    client: &Client,
    training_id: &str,
) -> Result<impl Stream<Item = Result<TrainingStatusResponse, StreamError>> + Send, Error<ErrorBody>>
{
    let answer = client.training_events(training_id).await?;
    Ok(typed(events(answer.into_inner())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event: &str, data: &str) -> Event {
        Event {
            event: event.to_string(),
            data: data.to_string(),
        }
    }

    #[test]
    fn events_split_anywhere_on_the_wire_come_out_whole() {
        let wire =
            b"data: {\"a\":1}\n\n: keep-alive\n\nevent: error\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\n";
        for split in 0..wire.len() {
            let mut parser = EventParser::default();
            let mut seen = parser.push(&wire[..split]);
            seen.extend(parser.push(&wire[split..]));
            assert_eq!(
                seen,
                [event("message", "{\"a\":1}"), event("error", "{\"b\":\n2}")],
                "split at {split}"
            );
        }
    }

    #[test]
    fn an_unfinished_event_is_not_given_out() {
        let mut parser = EventParser::default();
        assert!(parser.push(b"data: {\"a\":1}\n").is_empty());
        assert!(parser.push(b"event: x\ndata: y").is_empty());
    }

    #[test]
    fn an_unnamed_event_after_a_named_one_is_a_message() {
        let mut parser = EventParser::default();
        let seen = parser.push(b"event: error\ndata: 1\n\ndata: 2\n\n");
        assert_eq!(seen, [event("error", "1"), event("message", "2")]);
    }

    #[tokio::test]
    async fn an_error_event_ends_the_typed_stream() {
        let body = r#"{"code": 500, "details": "the model failed", "id": "x"}"#;
        let events = futures::stream::iter([
            Ok(event("message", "1")),
            Ok(event("error", body)),
            Ok(event("message", "2")),
        ]);
        let seen: Vec<Result<u32, StreamError>> = typed(events).collect().await;
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].as_ref().unwrap(), &1);
        match &seen[1] {
            Err(StreamError::Failed(failure)) => assert_eq!(failure.details, "the model failed"),
            other => panic!("{other:?}"),
        }
    }
}
