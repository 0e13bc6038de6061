//! The one call pipeline. Every wire (REST, gRPC, and any later API) turns its request into a
//! [`Call`] and runs it here: the model the call names → authorization → validation (schema,
//! typed request, cross-field rules) → the model and its handler → admission → the module, with
//! the caller's deadline. Wire adapters only convert messages and map the [`ApiError`] they get
//! back; every rule and error text lives here once.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;
use taskgate_modules::framework::task::ending_at_first_error;
use taskgate_modules::{Model, Task, TaskError, TaskInput, TaskStream};
use taskgate_schemas::{FieldError, TaskParameters, TaskRequest};
use tokio::time::Instant;

use crate::authorize::Access;
use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::state::AppState;

/// One task call as a wire adapter hands it over.
#[derive(Debug, Clone)]
pub struct Call {
    /// The REST envelope `{model_id, inputs, parameters}` (gRPC messages convert to it).
    pub envelope: Value,
    pub request_id: String,
    pub headers: CallHeaders,
    /// When the caller stops waiting; work still running then is cancelled.
    pub deadline: Option<Instant>,
}

/// Runs a unary task call to its answer.
pub async fn unary<T: Task>(state: &AppState, call: Call) -> Result<T::Output, ApiError> {
    let deadline = call.deadline;
    let (model, input) = prepare::<T>(state, call)?;
    let handler = model.unary::<T>()?;
    let _permit = model.admit()?;
    before(deadline, handler.predict(input)).await
}

/// Starts a server-streaming task call. Errors before the first event fail the call; later ones
/// end the stream (nothing follows them). The model's admission permit lives as long as the
/// stream, and dropping the stream (client gone, deadline passed) cancels the work.
pub async fn server_streaming<T: Task>(
    state: &AppState,
    call: Call,
) -> Result<TaskStream<T::Output>, ApiError> {
    let deadline = call.deadline;
    let (model, input) = prepare::<T>(state, call)?;
    let handler = model.streaming::<T>()?;
    let permit = model.admit()?;
    let events = before(deadline, handler.predict_stream(input)).await?;
    let events = within_deadline(events, deadline).map(move |item| {
        let _ = &permit;
        item
    });
    Ok(ending_at_first_error(events.boxed()))
}

/// The named model → authorization → schema → typed request → cross-field rules → model. Every
/// failure is a client error naming the field; nothing here can panic on input.
fn prepare<T: Task>(state: &AppState, call: Call) -> Result<(Arc<Model>, TaskInput<T>), ApiError> {
    let Call {
        envelope,
        request_id,
        headers,
        ..
    } = call;
    if let Value::Object(map) = &envelope
        && !map.contains_key("model_id")
    {
        return Err(ApiError::MissingModelId);
    }
    state.authorizer().authorize(&Access {
        task: T::NAME,
        model_id: envelope.get("model_id").and_then(Value::as_str),
        headers: &headers,
    })?;
    let schema_errors = state.validators().check(T::NAME, &envelope);
    if !schema_errors.is_empty() {
        return Err(ApiError::Schema(schema_errors));
    }
    let request: T::Request = serde_json::from_value(envelope)
        .map_err(|e| ApiError::Schema(vec![FieldError::new("", e.to_string())]))?;
    let (model_id, inputs, parameters) = request.into_parts();
    let field_errors = parameters.cross_field_errors();
    if !field_errors.is_empty() {
        return Err(TaskError::invalid_fields(field_errors).into());
    }
    let model = state.registry().get(&model_id)?;
    let input = TaskInput {
        inputs,
        parameters,
        request_id,
        traceparent: headers.traceparent,
        route_info: headers.route_info,
    };
    Ok((model, input))
}

/// `work`, unless `deadline` passes first; then `work` is dropped, which cancels it.
async fn before<O>(
    deadline: Option<Instant>,
    work: impl Future<Output = Result<O, TaskError>>,
) -> Result<O, ApiError> {
    let output = match deadline {
        None => work.await,
        Some(deadline) => tokio::time::timeout_at(deadline, work)
            .await
            .map_err(|_| deadline_exceeded())?,
    };
    Ok(output?)
}

fn deadline_exceeded() -> TaskError {
    TaskError::DeadlineExceeded(
        "Deadline exceeded: the call's grpc-timeout passed before the task finished".into(),
    )
}

/// Ends the stream with DEADLINE_EXCEEDED when `deadline` passes first.
fn within_deadline<O: Send + 'static>(
    stream: TaskStream<O>,
    deadline: Option<Instant>,
) -> TaskStream<O> {
    let Some(deadline) = deadline else {
        return stream;
    };
    futures::stream::unfold(Some(stream), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(next) => next.map(|item| (item, Some(stream))),
            Err(_) => Some((Err(deadline_exceeded()), None)),
        }
    })
    .boxed()
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
