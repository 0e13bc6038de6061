//! The REST adapter of the call pipeline: `POST /api/v1/task/<name>`. It reads the body and
//! headers into a [`Call`] and writes the pipeline's answer as JSON or server-sent events.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use taskgate_modules::Task;
use tracing::Instrument;

use crate::auth::rate_limit::RateStatus;
use crate::call_headers::SERVED_BY;
use crate::error::ApiError;
use crate::metrics::{CallRecord, Wire};
use crate::pipeline::{self, Call};
use crate::rest::caller::call_headers;
use crate::rest::request_id::RequestId;
use crate::state::AppState;
use crate::trace_context;
use crate::usage::TokenUsage;

/// How long a stream may stay silent (a slow first token, a long prompt) before an SSE comment
/// line keeps proxies and clients from timing it out.
pub(crate) const SSE_PING: std::time::Duration = std::time::Duration::from_secs(15);

/// `POST /api/v1/task/<name>` for a unary task.
pub async fn unary<T: Task>(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: Request,
) -> Response
where
    T::Output: TokenUsage,
{
    let record = start_record::<T>(&state, &request, &id);
    let result = async {
        let call = read_call(&state, request, &id, &record).await?;
        pipeline::unary::<T>(&state, call).await
    }
    .instrument(record.span().clone())
    .await;
    match result {
        Ok(answer) => {
            record.answered();
            let mut response = with_answer_headers(
                axum::Json(answer.output).into_response(),
                answer.rate,
                &answer.model,
            );
            if let Ok(timing) = HeaderValue::from_str(&record.server_timing()) {
                response.headers_mut().insert(SERVER_TIMING, timing);
            }
            response
        }
        Err(error) => {
            record.failed(&error);
            error.into_response_with_id(&id)
        }
    }
}

/// The call's record, its span a child of the caller's trace context.
fn start_record<T: Task>(state: &AppState, request: &Request, id: &str) -> CallRecord {
    let headers = request.headers();
    let trace = trace_context::read(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    CallRecord::start(state.metrics().clone(), T::NAME, Wire::Rest, id, &trace)
}

/// Where a unary call's time went, for browser devtools and `curl -v`.
pub(crate) const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// The key's `x-ratelimit-*` state and the model that served the call.
pub(crate) fn with_answer_headers(
    mut response: Response,
    rate: Option<RateStatus>,
    model: &str,
) -> Response {
    if let Some(rate) = rate {
        rate.write_headers(response.headers_mut());
    }
    if let Ok(model) = HeaderValue::from_str(model) {
        response.headers_mut().insert(SERVED_BY, model);
    }
    response
}

/// `POST /api/v1/task/<name>` for a server-streaming task: one bare `data:` line per event (the
/// default SSE event type, `message`); a failure after the 200 is an `event: error` whose data
/// is the error body, and the stream ends there.
pub async fn server_streaming<T: Task>(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: Request,
) -> Response
where
    T::Output: TokenUsage,
{
    let record = start_record::<T>(&state, &request, &id);
    let started = async {
        let call = read_call(&state, request, &id, &record).await?;
        pipeline::server_streaming::<T>(&state, call).await
    }
    .instrument(record.span().clone())
    .await;
    let (stream, rate, model) = match started {
        Ok(answer) => (answer.output, answer.rate, answer.model),
        Err(error) => {
            record.failed(&error);
            return error.into_response_with_id(&id);
        }
    };
    record.answered();
    let events = stream.map(move |item| {
        Ok::<_, std::convert::Infallible>(match item {
            Ok(event) => json_event(Event::default(), &event),
            Err(error) => {
                let error = ApiError::from(error);
                record.failed(&error);
                json_event(Event::default().event("error"), &error.body(&id))
            }
        })
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(SSE_PING).text("ping"));
    with_answer_headers(sse.into_response(), rate, &model)
}

pub(crate) fn json_event<S: serde::Serialize>(event: Event, data: &S) -> Event {
    let json = serde_json::to_string(data).expect("wire types always serialize. This is a bug.");
    event.data(json)
}

/// The caller, admitted before the body is read; then the body as the JSON envelope.
async fn read_call(
    state: &AppState,
    request: Request,
    request_id: &str,
    record: &CallRecord,
) -> Result<Call, ApiError> {
    let (parts, body) = request.into_parts();
    let headers = call_headers(&parts.headers, &parts.extensions);
    let caller = pipeline::admit_caller(state, &headers)?;
    record.set_key(caller.principal.key_id());
    let envelope = crate::rest::body::read_request_json(state, &parts.headers, body).await?;
    Ok(Call {
        envelope,
        request_id: request_id.to_string(),
        headers,
        deadline: None,
        caller,
        record: record.clone(),
    })
}
