//! The REST adapter of the call pipeline: `POST /api/v1/task/<name>`. It reads the body and
//! headers into a [`Call`] and writes the pipeline's answer as JSON or server-sent events.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use taskgate_modules::Task;

use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::pipeline::{self, Call};
use crate::rest::request_id::RequestId;
use crate::state::AppState;

/// `POST /api/v1/task/<name>` for a unary task.
pub async fn unary<T: Task>(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let call = read_call(&state, &headers, body, &id).await?;
        pipeline::unary::<T>(&state, call).await
    }
    .await;
    match result {
        Ok(output) => axum::Json(output).into_response(),
        Err(error) => error.into_response_with_id(&id),
    }
}

/// `POST /api/v1/task/<name>` for a server-streaming task: one bare `data:` line per event (the
/// default SSE event type, `message`); a failure after the 200 is an `event: error` whose data
/// is the error body, and the stream ends there.
pub async fn server_streaming<T: Task>(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = async {
        let call = read_call(&state, &headers, body, &id).await?;
        pipeline::server_streaming::<T>(&state, call).await
    }
    .await;
    let stream = match started {
        Ok(stream) => stream,
        Err(error) => return error.into_response_with_id(&id),
    };
    let events = stream.map(move |item| {
        Ok::<_, std::convert::Infallible>(match item {
            Ok(event) => json_event(Event::default(), &event),
            Err(error) => {
                let body = ApiError::from(error).body(&id);
                json_event(Event::default().event("error"), &body)
            }
        })
    });
    Sse::new(events).into_response()
}

fn json_event<S: serde::Serialize>(event: Event, data: &S) -> Event {
    let json = serde_json::to_string(data).expect("wire types always serialize. This is a bug.");
    event.data(json)
}

/// The body as the JSON envelope, and what the headers say beyond it.
async fn read_call(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<Call, ApiError> {
    let envelope = crate::rest::body::read_json(headers, body, state.max_body_bytes()).await?;
    Ok(Call {
        envelope,
        request_id: request_id.to_string(),
        headers: CallHeaders::read(|name| headers.get(name).and_then(|v| v.to_str().ok())),
        deadline: None,
    })
}
