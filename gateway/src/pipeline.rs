//! The one call pipeline. Every wire (REST, gRPC, and any later API) admits its caller with
//! [`admit_caller`] before reading the request (authentication, the key's rate limits, a slot
//! among the gateway's calls), turns the request into a [`Call`] and runs it here: the model the
//! call names → the key's scopes → validation (schema, typed request, cross-field rules) → the
//! model and its handler → the model's admission → the module, with the caller's deadline (or
//! the server's default) → the tokens used, counted against the key and into the call's
//! [`CallRecord`]. Wire adapters only convert messages and map the [`ApiError`] they get back;
//! every rule and error text lives here once.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;
use taskgate_modules::framework::lifecycle::ModelLease;
use taskgate_modules::framework::task::ending_at_first_error;
use taskgate_modules::{Model, Task, TaskError, TaskInput, TaskStream};
use taskgate_runtime::{Permit, RemoteFailure, RuntimeError, call_timing};
use taskgate_schemas::{FieldError, TaskParameters, TaskRequest};
use tokio::time::Instant;

use crate::aliases::{self, Route};
use crate::auth::Principal;
use crate::auth::rate_limit::{Admitted, KeyLimiter, RateStatus};
use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::metrics::CallRecord;
use crate::state::AppState;
use crate::usage::{StreamUsage, TokenUsage, estimate_input_tokens};

/// One task call as a wire adapter hands it over.
#[derive(Debug)]
pub struct Call {
    /// The REST envelope `{model_id, inputs, parameters}` (gRPC messages convert to it).
    pub envelope: Value,
    pub request_id: String,
    pub headers: CallHeaders,
    /// When the caller stops waiting; work still running then is cancelled.
    pub deadline: Option<Instant>,
    /// Who calls, admitted by [`admit_caller`] before the body was read.
    pub caller: Caller,
    /// What the metrics and the access log will say of the call.
    pub record: CallRecord,
}

/// An authenticated caller within its key's limits, holding its in-flight slot and one of the
/// gateway's call slots.
#[derive(Debug)]
pub struct Caller {
    pub principal: Principal,
    admitted: Option<Admitted>,
    _slot: Permit,
}

impl Caller {
    /// The state of the key's limits at admission.
    pub fn rate(&self) -> Option<RateStatus> {
        self.admitted.as_ref().map(|a| a.status)
    }
}

/// The first step of every call, before its body is read: who calls (401 when nobody known),
/// whether the key's limits admit another call (429 with when to retry), and a slot among the
/// calls the gateway holds at once (429 when all are taken).
pub fn admit_caller(state: &AppState, headers: &CallHeaders) -> Result<Caller, ApiError> {
    let principal = state.authenticate(&headers.credentials)?;
    let admitted = principal.limiter().map(|l| l.admit()).transpose()?;
    let slot = state.admit_call()?;
    Ok(Caller {
        principal,
        admitted,
        _slot: slot,
    })
}

/// A call's answer, the model that served it (an alias names one of its models) and the state
/// of its key's limits (for the `x-ratelimit-*` headers).
#[derive(Debug)]
pub struct Answer<O> {
    pub output: O,
    pub model: String,
    pub rate: Option<RateStatus>,
}

/// Fits a call's input to each model tried for it (an OpenAI chat call renders its messages
/// with that model's chat template), or refuses the model; it runs once the model is loaded.
pub type Shape<'a, T> = &'a (dyn Fn(&Model, &mut TaskInput<T>) -> Result<(), ApiError> + Sync);

fn as_sent<T: Task>(_: &Model, _: &mut TaskInput<T>) -> Result<(), ApiError> {
    Ok(())
}

/// Runs a unary task call to its answer; a call of an alias goes on to its next model while
/// the one tried is unavailable.
pub async fn unary<T: Task>(state: &AppState, call: Call) -> Result<Answer<T::Output>, ApiError>
where
    T::Output: TokenUsage,
{
    unary_shaped::<T>(state, call, &as_sent::<T>).await
}

/// [`unary`], with the input fitted to each model by `shape`.
pub async fn unary_shaped<T: Task>(
    state: &AppState,
    call: Call,
    shape: Shape<'_, T>,
) -> Result<Answer<T::Output>, ApiError>
where
    T::Output: TokenUsage,
{
    let deadline = call.deadline.or_else(|| state.default_deadline());
    let record = call.record.clone();
    let Prepared {
        route,
        input,
        caller,
        estimated_input,
    } = prepare::<T>(state, call)?;
    let (last, before_last) = route.models.split_last().ok_or_else(no_model)?;
    let mut served = None;
    for model_id in before_last {
        match run_unary::<T>(state, model_id, input.clone(), shape, deadline, &record).await {
            Err(error) if falls_back(&error, deadline) => {
                fell_back(state, &route, model_id, &error);
            }
            outcome => {
                served = Some((model_id, outcome?));
                break;
            }
        }
    }
    let (model_id, output) = match served {
        Some(served) => served,
        None => (
            last,
            run_unary::<T>(state, last, input, shape, deadline, &record).await?,
        ),
    };
    let input_tokens = output.input_tokens().unwrap_or(estimated_input);
    record.add_tokens(input_tokens, output.output_tokens());
    let used = input_tokens + output.output_tokens();
    let rate = caller.principal.limiter().map(|limiter| {
        limiter.charge_tokens(used);
        limiter.current()
    });
    Ok(Answer {
        output,
        model: model_id.clone(),
        rate,
    })
}

/// One model's try at a unary call.
async fn run_unary<T: Task>(
    state: &AppState,
    model_id: &str,
    mut input: TaskInput<T>,
    shape: Shape<'_, T>,
    deadline: Option<Instant>,
    record: &CallRecord,
) -> Result<T::Output, ApiError> {
    record.set_model(model_id);
    let model = before(deadline, state.registry().acquire(model_id)).await?;
    let handler = model.unary::<T>()?;
    shape(&model, &mut input)?;
    let _permit = model.admit()?;
    let started = Instant::now();
    let (output, queued) = call_timing::measuring(before(deadline, handler.predict(input))).await;
    record.add_model_time(started.elapsed(), queued);
    output
}

/// Starts a server-streaming task call. Errors before the first event fail the call; later ones
/// end the stream (nothing follows them). The model's admission permit and the key's in-flight
/// slot live as long as the stream, and dropping the stream (client gone, deadline passed)
/// cancels the work and counts the tokens used so far. A call of an alias goes on to its next
/// model while the one tried is unavailable, up to its first event and never after.
pub async fn server_streaming<T: Task>(
    state: &AppState,
    call: Call,
) -> Result<Answer<TaskStream<T::Output>>, ApiError>
where
    T::Output: TokenUsage,
{
    server_streaming_shaped::<T>(state, call, &as_sent::<T>).await
}

/// [`server_streaming`], with the input fitted to each model by `shape`.
pub async fn server_streaming_shaped<T: Task>(
    state: &AppState,
    call: Call,
    shape: Shape<'_, T>,
) -> Result<Answer<TaskStream<T::Output>>, ApiError>
where
    T::Output: TokenUsage,
{
    let deadline = call.deadline.or_else(|| state.default_deadline());
    let record = call.record.clone();
    record.streaming();
    let Prepared {
        route,
        input,
        caller,
        estimated_input,
    } = prepare::<T>(state, call)?;
    let (last, before_last) = route.models.split_last().ok_or_else(no_model)?;
    let mut served = None;
    for model_id in before_last {
        match start_stream::<T>(
            state,
            model_id,
            input.clone(),
            shape,
            deadline,
            &record,
            true,
        )
        .await
        {
            Err(error) if falls_back(&error, deadline) => {
                fell_back(state, &route, model_id, &error);
            }
            outcome => {
                served = Some((model_id, outcome?));
                break;
            }
        }
    }
    let (model_id, (events, hold)) = match served {
        Some(served) => served,
        None => (
            last,
            start_stream::<T>(state, last, input, shape, deadline, &record, false).await?,
        ),
    };
    let rate = caller.rate();
    let mut meter = StreamMeter {
        usage: StreamUsage::default(),
        estimated_input,
        limiter: caller.principal.limiter().cloned(),
        _caller: caller,
        record,
    };
    let events = within_deadline(events, deadline).map(move |item| {
        let _ = &hold;
        if let Ok(event) = &item {
            meter.record.first_event();
            meter.usage.record(event);
        }
        item
    });
    Ok(Answer {
        output: ending_at_first_error(events.boxed()),
        model: model_id.clone(),
        rate,
    })
}

/// What a stream holds while it runs: a slot of its model, and the model (no unloading under
/// it).
type StreamHold = (Permit, ModelLease);

/// One model's try at a streaming call. With `first_event`, waits for the stream's first event
/// and fails when that is an error, so the caller can still go on to another model.
async fn start_stream<T: Task>(
    state: &AppState,
    model_id: &str,
    mut input: TaskInput<T>,
    shape: Shape<'_, T>,
    deadline: Option<Instant>,
    record: &CallRecord,
    first_event: bool,
) -> Result<(TaskStream<T::Output>, StreamHold), ApiError> {
    record.set_model(model_id);
    let model = before(deadline, state.registry().acquire(model_id)).await?;
    let handler = model.streaming::<T>()?;
    shape(&model, &mut input)?;
    let hold = (model.admit()?, model);
    let mut events = before(deadline, handler.predict_stream(input)).await?;
    if !first_event {
        return Ok((events, hold));
    }
    let first = before(deadline, async { Ok(events.next().await) }).await?;
    match first {
        Some(Err(error)) => Err(error.into()),
        first => Ok((futures::stream::iter(first).chain(events).boxed(), hold)),
    }
}

/// Whether a call of an alias goes on to its next model after `error`: the model is gone,
/// failed to load, or its runtime is unreachable, overloaded past its circuit, or timed out
/// — not the caller's own mistakes, and not once the call's own deadline has passed.
fn falls_back(error: &ApiError, deadline: Option<Instant>) -> bool {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return false;
    }
    matches!(
        error,
        ApiError::Task(
            TaskError::ModelNotFound(_)
                | TaskError::ModelUnavailable { .. }
                | TaskError::DeadlineExceeded(_)
                | TaskError::Runtime(
                    RuntimeError::Unavailable(_)
                        | RuntimeError::Remote {
                            failure: RemoteFailure::Unreachable
                                | RemoteFailure::TimedOut
                                | RemoteFailure::Failed,
                            ..
                        }
                )
        )
    )
}

fn fell_back(state: &AppState, route: &Route, model_id: &str, error: &ApiError) {
    let alias = route.alias.as_deref().unwrap_or_default();
    tracing::warn!(%alias, model = %model_id, %error, "alias target unavailable; trying the next model");
    let metrics = state.metrics();
    if metrics.enabled {
        metrics.alias_fallbacks.inc(&[alias, model_id]);
    }
}

fn no_model() -> ApiError {
    ApiError::Task(TaskError::ModelNotFound(String::new()))
}

/// Counts a stream's tokens against its key when the stream ends or is dropped.
struct StreamMeter {
    usage: StreamUsage,
    estimated_input: u64,
    limiter: Option<Arc<KeyLimiter>>,
    _caller: Caller,
    record: CallRecord,
}

impl Drop for StreamMeter {
    fn drop(&mut self) {
        let (input, output) = self.usage.split(self.estimated_input);
        self.record.add_tokens(input, output);
        if let Some(limiter) = &self.limiter {
            limiter.charge_tokens(input + output);
        }
    }
}

/// A call checked and ready for its model.
struct Prepared<T: Task> {
    /// The models to try, in order (one unless an alias was called).
    route: Route,
    input: TaskInput<T>,
    /// Held until the call ends (the key's in-flight slot), and charged for its tokens.
    caller: Caller,
    estimated_input: u64,
}

/// The named model → the key's scopes → schema → typed request → cross-field rules → model. Every failure is a client error naming the field; nothing here
/// can panic on input.
fn prepare<T: Task>(state: &AppState, call: Call) -> Result<Prepared<T>, ApiError> {
    let Call {
        envelope,
        request_id,
        headers,
        caller,
        record,
        ..
    } = call;
    if let Value::Object(map) = &envelope
        && !map.contains_key("model_id")
    {
        return Err(ApiError::MissingModelId);
    }
    let model_named = envelope.get("model_id").and_then(Value::as_str);
    caller.principal.check_call(T::NAME, model_named)?;
    let validating =
        tracing::info_span!(target: taskgate_runtime::trace::TARGET, "validate").entered();
    let schema_errors = state.validators().check(T::NAME, &envelope);
    if !schema_errors.is_empty() {
        return Err(ApiError::Schema(schema_errors));
    }
    let estimated_input = envelope
        .get("inputs")
        .map(estimate_input_tokens)
        .unwrap_or(0);
    let mut envelope = envelope;
    crate::validation::integral_parameters(&mut envelope);
    let request: T::Request = serde_json::from_value(envelope)
        .map_err(|e| ApiError::Schema(vec![FieldError::new("", e.to_string())]))?;
    let (model_id, inputs, parameters) = request.into_parts();
    let field_errors = parameters.cross_field_errors();
    if !field_errors.is_empty() {
        return Err(TaskError::invalid_fields(field_errors).into());
    }
    drop(validating);
    let route = state.aliases().route(
        &model_id,
        aliases::Caller {
            key: caller.principal.key_id(),
            session: headers.session_id.as_deref(),
        },
    );
    if route.alias.is_none() && !state.registry().contains(&model_id) {
        return Err(TaskError::ModelNotFound(model_id).into());
    }
    record.set_model(&model_id);
    let input = TaskInput {
        inputs,
        parameters,
        request_id,
        trace: headers.trace,
        route_info: headers.route_info,
    };
    Ok(Prepared {
        route,
        input,
        caller,
        estimated_input,
    })
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
        "Deadline exceeded: the call's deadline (its grpc-timeout, or the server's \
         call_timeout_seconds) passed before the task finished"
            .into(),
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
