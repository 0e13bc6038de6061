//! The generic handlers: the same steps for every task, in the same order.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, future};
use serde_json::Value;
use taskgate_modules::{Model, Task, TaskError, TaskInput};
use taskgate_schemas::{TaskParameters, TaskRequest};

use crate::app::AppState;
use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::request_id::RequestId;

/// `POST /api/v1/task/<name>` for a unary task.
pub async fn unary<T: Task>(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (model, input) = prepare::<T>(&state, &headers, body, &id).await?;
        let handler = model.unary::<T>()?;
        let _permit = model.admit()?;
        Ok::<_, ApiError>(handler.predict(input).await?)
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
    let result = async {
        let (model, input) = prepare::<T>(&state, &headers, body, &id).await?;
        let handler = model.streaming::<T>()?;
        let permit = model.admit()?;
        let stream = handler.predict_stream(input).await?;
        Ok::<_, ApiError>((permit, stream))
    }
    .await;
    let (permit, stream) = match result {
        Ok(started) => started,
        Err(error) => return error.into_response_with_id(&id),
    };
    let events = stream
        .scan(false, |failed, item| {
            // Stop after the first error: the event after it would contradict it.
            if *failed {
                return future::ready(None);
            }
            *failed = item.is_err();
            future::ready(Some(item))
        })
        .map(move |item| {
            // The permit lives as long as the stream: a stream is one request in flight.
            let _ = &permit;
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

/// Body → JSON → schema → typed request → cross-field rules → model. Every failure is a
/// client error naming the field; nothing here can panic on input.
async fn prepare<T: Task>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<(Arc<Model>, TaskInput<T>), ApiError> {
    let json = crate::body::read_json(headers, body, state.max_body_bytes()).await?;
    let call = CallHeaders::read(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    resolve::<T>(state, json, request_id, call)
}

/// The request envelope `{model_id, inputs, parameters}` → schema → typed request → cross-field
/// rules → model. REST and gRPC (whose messages convert to this envelope) share every rule and
/// error text from here on.
pub(crate) fn resolve<T: Task>(
    state: &AppState,
    json: Value,
    request_id: &str,
    call: CallHeaders,
) -> Result<(Arc<Model>, TaskInput<T>), ApiError> {
    if let Value::Object(map) = &json
        && !map.contains_key("model_id")
    {
        return Err(ApiError::MissingModelId);
    }
    let schema_errors = state.validators().check(T::NAME, &json);
    if !schema_errors.is_empty() {
        return Err(ApiError::Schema(schema_errors));
    }
    let request: T::Request = serde_json::from_value(json).map_err(|e| {
        ApiError::Schema(vec![taskgate_schemas::FieldError::new("", e.to_string())])
    })?;
    let (model_id, inputs, parameters) = request.into_parts();
    let field_errors = parameters.cross_field_errors();
    if !field_errors.is_empty() {
        let message = field_errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(TaskError::InvalidArgument {
            message,
            fields: field_errors,
        }
        .into());
    }
    let model = state.registry().get(&model_id)?;
    let input = TaskInput {
        inputs,
        parameters,
        request_id: request_id.to_string(),
        traceparent: call.traceparent,
        route_info: call.route_info,
    };
    Ok((model, input))
}
