//! One task call as the metrics, the access log and the trace see it. The wire adapter starts
//! it before anything can fail, the pipeline adds the model, its time and the tokens, the
//! adapter says how the call ended; when the last handle drops (the answer sent, the stream
//! ended, or the caller gone) it is counted, logged and its server span ended exactly once.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use taskgate_runtime::trace::{TARGET, TraceHeaders};
use tokio::time::Instant;
use tracing::Span;
use tracing::field::Empty;

use super::Metrics;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Rest,
    Grpc,
    /// The OpenAI-compatible routes (`/v1/...`), REST underneath.
    OpenAi,
}

impl Wire {
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Rest => "rest",
            Wire::Grpc => "grpc",
            Wire::OpenAi => "openai",
        }
    }
}

/// A handle on the call's record; clones share it.
#[derive(Clone)]
pub struct CallRecord(Arc<Inner>);

impl std::fmt::Debug for CallRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRecord")
            .field("task", &self.0.task)
            .field("wire", &self.0.wire)
            .finish_non_exhaustive()
    }
}

struct Inner {
    metrics: Arc<Metrics>,
    task: &'static str,
    wire: Wire,
    request_id: String,
    started: Instant,
    /// The call's server span: what the wire adapter runs the call in.
    span: Span,
    fields: Mutex<Fields>,
}

#[derive(Default)]
struct Fields {
    /// Set once the registry knows the model: an unknown id never becomes a label.
    model: Option<String>,
    key: Option<String>,
    model_time: Duration,
    /// The part of `model_time` spent in engine queues.
    queue_time: Duration,
    /// The HTTP status the call ended with (gRPC: the status its code stands for).
    status: Option<u16>,
    grpc_code: Option<tonic::Code>,
    streaming: bool,
    first_event: Option<Duration>,
    input_tokens: u64,
    output_tokens: u64,
}

impl CallRecord {
    /// `trace`, the caller's trace context, becomes the parent of the call's span.
    pub fn start(
        metrics: Arc<Metrics>,
        task: &'static str,
        wire: Wire,
        request_id: &str,
        trace: &TraceHeaders,
    ) -> Self {
        let span = tracing::info_span!(
            target: TARGET,
            "call",
            otel.name = task,
            otel.kind = "server",
            otel.status_code = Empty,
            gen_ai.operation.name = task,
            gen_ai.request.model = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            taskgate.wire = wire.as_str(),
            taskgate.request_id = request_id,
            taskgate.key = Empty,
            enduser.id = Empty,
            http.response.status_code = Empty,
            rpc.grpc.status_code = Empty,
            error.type = Empty,
        );
        crate::trace_context::set_parent(&span, trace);
        Self(Arc::new(Inner {
            metrics,
            task,
            wire,
            request_id: request_id.to_string(),
            started: Instant::now(),
            span,
            fields: Mutex::new(Fields::default()),
        }))
    }

    /// The call's server span, to run the call in.
    pub fn span(&self) -> &Span {
        &self.0.span
    }

    fn fields(&self) -> MutexGuard<'_, Fields> {
        self.0.fields.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_key(&self, key: Option<&str>) {
        self.fields().key = key.map(str::to_string);
    }

    /// The caller's own end user (OpenAI's `user`), for the trace.
    pub fn set_end_user(&self, user: &str) {
        self.0.span.record("enduser.id", user);
    }

    pub fn set_model(&self, model: &str) {
        self.fields().model = Some(model.to_string());
    }

    /// The model's time, of which `queued` waiting in its engine's queue.
    pub fn add_model_time(&self, took: Duration, queued: Duration) {
        let mut fields = self.fields();
        fields.model_time += took;
        fields.queue_time += queued.min(took);
    }

    /// Tokens one model call used; a request of several (an OpenAI list of prompts) adds
    /// them up.
    pub fn add_tokens(&self, input: u64, output: u64) {
        let mut fields = self.fields();
        fields.input_tokens += input;
        fields.output_tokens += output;
    }

    pub fn streaming(&self) {
        self.fields().streaming = true;
    }

    /// The first event of a stream is on its way.
    pub fn first_event(&self) {
        let elapsed = self.0.started.elapsed();
        self.fields().first_event.get_or_insert(elapsed);
    }

    pub fn answered(&self) {
        let mut fields = self.fields();
        fields.status = Some(200);
        if self.0.wire == Wire::Grpc {
            fields.grpc_code = Some(tonic::Code::Ok);
        }
    }

    /// The call failed with `error` (a stream: its error event replaces the 200).
    pub fn failed(&self, error: &ApiError) {
        {
            let mut fields = self.fields();
            let refused_key = match error {
                ApiError::Forbidden { key, .. } => Some(key.as_str()),
                ApiError::RateLimited(refusal) => Some(refusal.key.as_str()),
                _ => None,
            };
            if let (None, Some(key)) = (&fields.key, refused_key) {
                fields.key = Some(key.to_string());
            }
            fields.status = Some(error.status().as_u16());
            if self.0.wire == Wire::Grpc {
                fields.grpc_code = Some(error.grpc_code());
            }
        }
        let metrics = &self.0.metrics;
        if let Some(cause) = rejection_cause(error) {
            metrics.rejections.inc(&[cause]);
        }
        match error {
            ApiError::Unauthenticated(_) => metrics.key_rejections.inc(&["", "unauthenticated"]),
            ApiError::Forbidden { key, .. } => {
                metrics.key_rejections.inc(&[key.as_str(), "forbidden"])
            }
            ApiError::RateLimited(refusal) => metrics
                .key_rejections
                .inc(&[refusal.key.as_str(), "rate_limited"]),
            _ => {}
        }
    }

    /// A gRPC answer the method never saw (its message did not decode, too large or malformed):
    /// its status is in the answer's headers.
    pub fn ended_with<B>(&self, response: &axum::http::Response<B>) {
        let mut fields = self.fields();
        if fields.status.is_some() {
            return;
        }
        let code = response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .map(tonic::Code::from);
        if let Some(code) = code {
            fields.grpc_code = Some(code);
            fields.status = Some(match code {
                tonic::Code::Ok => 200,
                tonic::Code::ResourceExhausted => 429,
                tonic::Code::Unauthenticated => 401,
                tonic::Code::PermissionDenied => 403,
                tonic::Code::NotFound => 404,
                tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss => 500,
                tonic::Code::Unavailable => 503,
                tonic::Code::DeadlineExceeded => 504,
                _ => 400,
            });
        }
    }

    /// The `Server-Timing` value of a unary answer, in milliseconds: the wait in the model's
    /// engine queue, the model's own time (compute, or the backend's answer), the gateway's,
    /// and the total so far.
    pub fn server_timing(&self) -> String {
        let total = self.0.started.elapsed();
        let (model, queue) = {
            let fields = self.fields();
            (fields.model_time.min(total), fields.queue_time)
        };
        let queue = queue.min(model);
        format!(
            "queue;dur={:.3}, model;dur={:.3}, gateway;dur={:.3}, total;dur={:.3}",
            ms(queue),
            ms(model - queue),
            ms(total - model),
            ms(total)
        )
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Why a 429 was answered, as a bounded label.
fn rejection_cause(error: &ApiError) -> Option<&'static str> {
    use taskgate_modules::TaskError;
    use taskgate_runtime::{RemoteFailure, RuntimeError};
    match error {
        ApiError::RateLimited(_) => Some("key_limit"),
        ApiError::Task(TaskError::Runtime(RuntimeError::Overloaded { what, .. })) => {
            Some(if what == crate::call_limits::GATEWAY {
                "gateway_full"
            } else {
                "model_full"
            })
        }
        _ if error.status().as_u16() == 429 => Some(match error {
            ApiError::Task(TaskError::Runtime(RuntimeError::Remote {
                failure: RemoteFailure::Busy,
                ..
            })) => "backend_busy",
            _ => "other",
        }),
        _ => None,
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let fields = self.fields.lock().unwrap_or_else(|e| e.into_inner());
        let total = self.started.elapsed();
        let model = fields.model.as_deref().unwrap_or("");
        if self.metrics.enabled {
            count(self, &fields, model, total);
        }
        access_line(self, &fields, model, total);
        if !self.span.is_disabled() {
            close_span(self, &fields, model);
        }
    }
}

/// What the trace says of the call once it ended, in OpenTelemetry's GenAI and RPC terms.
fn close_span(call: &Inner, fields: &Fields, model: &str) {
    let span = &call.span;
    if !model.is_empty() {
        span.record("gen_ai.request.model", model);
    }
    if fields.status == Some(200) {
        span.record("gen_ai.usage.input_tokens", fields.input_tokens);
        span.record("gen_ai.usage.output_tokens", fields.output_tokens);
    }
    if let Some(key) = &fields.key {
        span.record("taskgate.key", key.as_str());
    }
    let status = fields.status.unwrap_or(499);
    match call.wire {
        Wire::Rest | Wire::OpenAi => span.record("http.response.status_code", status),
        Wire::Grpc => span.record(
            "rpc.grpc.status_code",
            fields.grpc_code.map_or(1, |c| c as i32),
        ),
    };
    // The server's fault marks the span as failed; a client's error does not (OpenTelemetry's
    // rule for server spans).
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status_class(status));
    } else if fields.status.is_none() {
        span.record("error.type", "cancelled");
    }
}

fn count(call: &Inner, fields: &Fields, model: &str, total: Duration) {
    let status = match fields.status {
        Some(code) => status_class(code),
        None => "cancelled",
    };
    let (metrics, task, wire) = (&call.metrics, call.task, call.wire.as_str());
    metrics.requests.inc(&[model, task, wire, status]);
    metrics
        .request_seconds
        .observe(&[model, task, wire], total.as_secs_f64());
    if fields.status == Some(200) {
        if !fields.streaming {
            let own = total.saturating_sub(fields.model_time);
            metrics.overhead_seconds.observe(&[wire], own.as_secs_f64());
        }
        metrics.input_tokens.add(&[model], fields.input_tokens);
        metrics.output_tokens.add(&[model], fields.output_tokens);
    }
    if let Some(first) = fields.first_event {
        metrics
            .first_event_seconds
            .observe(&[model, task], first.as_secs_f64());
    }
}

/// One line per call at `info`: every value is from a bounded, safe set or a number, so no
/// caller's text reaches the log.
fn access_line(call: &Inner, fields: &Fields, model: &str, total: Duration) {
    let grpc = fields.grpc_code.map(|c| format!("{c:?}"));
    tracing::info!(
        target: "taskgate::access",
        wire = call.wire.as_str(),
        task = call.task,
        model,
        status = fields.status.unwrap_or(499),
        grpc_code = grpc.as_deref().unwrap_or(""),
        duration_ms = ms(total),
        model_ms = ms(fields.model_time),
        input_tokens = fields.input_tokens,
        output_tokens = fields.output_tokens,
        key = fields.key.as_deref().unwrap_or(""),
        request_id = %call.request_id,
        "call"
    );
}

fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
