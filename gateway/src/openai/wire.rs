//! What every OpenAI route does around the pipeline: the call's record, the caller admitted
//! before the body is read, the body checked against the route's JSON Schema and read as its
//! typed request, and answers written with the task API's headers.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use taskgate_schemas::FieldError;

use std::future::Future;

use taskgate_modules::TaskError;
use tracing::Instrument;

use super::error::{FieldNames, respond};
use crate::auth::rate_limit::RateStatus;
use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::metrics::{CallRecord, Wire};
use crate::pipeline::{self, Call, Caller};
use crate::rest::caller::call_headers;
use crate::rest::tasks::{SERVER_TIMING, SSE_PING, with_answer_headers};
use crate::state::AppState;
use crate::trace_context;

/// An OpenAI route's typed request body.
pub trait RouteRequest: DeserializeOwned {
    /// The name its JSON Schema is registered under.
    const SCHEMA: &'static str;

    /// OpenAI's `user`: the caller's own end user.
    fn user(&self) -> Option<&str>;
}

/// Runs one OpenAI route: the call's record (labelled with the task `task` the route runs);
/// in its span the caller admitted and the body received as `R`, then `run`; a failure
/// answered in OpenAI's shape with `names`.
pub async fn serve<R, F, Fut>(
    state: AppState,
    request: Request,
    id: String,
    task: &'static str,
    names: FieldNames,
    run: F,
) -> Response
where
    R: RouteRequest,
    F: FnOnce(R, Caller, CallContext) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let record = start_record(&state, &request, &id, task);
    let outcome = async {
        let (body, caller, context) = receive::<R>(state, request, &id, &record).await?;
        if let Some(user) = body.user() {
            record.set_end_user(user);
        }
        run(body, caller, context).await
    }
    .instrument(record.span().clone())
    .await;
    outcome.unwrap_or_else(|error| {
        record.failed(&error);
        respond(error, &id, names)
    })
}

/// The events that end a stream at a failure after its 200: the error, then `[DONE]`.
pub fn stream_failure(record: &CallRecord, error: TaskError, names: FieldNames) -> Vec<Event> {
    let error = ApiError::from(error);
    record.failed(&error);
    vec![json_event(&super::error::body(&error, names)), done()]
}

/// A call's record, its span a child of the caller's trace context.
fn start_record(state: &AppState, request: &Request, id: &str, task: &'static str) -> CallRecord {
    let headers = request.headers();
    let trace = trace_context::read(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    CallRecord::start(state.metrics().clone(), task, Wire::OpenAi, id, &trace)
}

/// What every pipeline call of one OpenAI request shares.
pub struct CallContext {
    state: AppState,
    headers: CallHeaders,
    request_id: String,
    record: CallRecord,
}

/// The caller, admitted before the body is read; then the body, checked against `R`'s schema
/// and read as `R`.
async fn receive<R: RouteRequest>(
    state: AppState,
    request: Request,
    request_id: &str,
    record: &CallRecord,
) -> Result<(R, Caller, CallContext), ApiError> {
    let (parts, body) = request.into_parts();
    let headers = call_headers(&parts.headers, &parts.extensions);
    let caller = pipeline::admit_caller(&state, &headers)?;
    record.set_key(caller.principal.key_id());
    let mut body = crate::rest::body::read_request_json(&state, &parts.headers, body).await?;
    let errors = state.validators().check(R::SCHEMA, &body);
    if !errors.is_empty() {
        return Err(ApiError::Schema(errors));
    }
    crate::validation::integral_numbers(&mut body);
    let request = serde_path_to_error::deserialize(body).map_err(|e| {
        let pointer = to_pointer(&e.path().to_string());
        ApiError::Schema(vec![FieldError::new(pointer, e.into_inner().to_string())])
    })?;
    let context = CallContext {
        state,
        headers,
        request_id: request_id.to_string(),
        record: record.clone(),
    };
    Ok((request, caller, context))
}

impl CallContext {
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The request id, which answers' ids are made of.
    pub fn id(&self) -> &str {
        &self.request_id
    }

    pub fn record(&self) -> &CallRecord {
        &self.record
    }

    /// One more admission of the same caller, for a request that runs several calls (each
    /// counts against the key's limits and takes a slot of its own).
    pub fn admit_again(&self) -> Result<Caller, ApiError> {
        pipeline::admit_caller(&self.state, &self.headers)
    }

    /// The pipeline call for `envelope` (`{model_id, inputs, parameters}`), by this caller.
    pub fn call(&self, envelope: Value, caller: Caller) -> Call {
        Call {
            envelope,
            request_id: self.request_id.clone(),
            headers: self.headers.clone(),
            deadline: None,
            caller,
            record: self.record.clone(),
        }
    }
}

/// `messages[0].content` (serde's path) as a JSON pointer, `/messages/0/content`.
fn to_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut pointer = String::from("/");
    pointer.push_str(
        &path
            .replace("[", "/")
            .replace("]", "")
            .replace('.', "/")
            .replace("//", "/"),
    );
    pointer
}

/// A JSON answer with the key's rate state, the served model and the call's timing.
pub fn json_answer<S: Serialize>(
    body: &S,
    rate: Option<RateStatus>,
    model: &str,
    record: &CallRecord,
) -> Response {
    let mut response = with_answer_headers(axum::Json(body).into_response(), rate, model);
    if let Ok(timing) = HeaderValue::from_str(&record.server_timing()) {
        response.headers_mut().insert(SERVER_TIMING, timing);
    }
    response
}

/// Server-sent events as OpenAI's clients parse them: `data: {json}` lines (the caller ends
/// them with [`done`]), and comment lines through long silences.
pub fn event_stream<S>(events: S, rate: Option<RateStatus>, model: &str) -> Response
where
    S: Stream<Item = Result<Event, std::convert::Infallible>> + Send + 'static,
{
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(SSE_PING).text("ping"));
    with_answer_headers(sse.into_response(), rate, model)
}

pub fn json_event<S: Serialize>(data: &S) -> Event {
    crate::rest::tasks::json_event(Event::default(), data)
}

/// The stream's last line.
pub fn done() -> Event {
    Event::default().data("[DONE]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_paths_become_pointers() {
        assert_eq!(to_pointer("messages[0].content"), "/messages/0/content");
        assert_eq!(to_pointer("temperature"), "/temperature");
        assert_eq!(to_pointer("."), "");
    }
}
