//! Spans for OpenTelemetry traces. Every span meant for export uses [`TARGET`], so the gateway
//! can hand exactly these to the exporter and keep them out of the log lines; with tracing off
//! nothing subscribes to the target and making a span costs nothing.

use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `tracing` target of exported spans.
pub const TARGET: &str = "taskgate::trace";

/// W3C Trace Context headers for a request leaving now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeaders {
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl TraceHeaders {
    /// The current span's context when it is being traced (so the remote's spans become
    /// children of taskgate's); otherwise `caller`'s headers, passed through unchanged.
    pub fn outgoing(caller: &TraceHeaders) -> TraceHeaders {
        let context = tracing::Span::current().context();
        let span = context.span();
        let current = span.span_context();
        if !current.is_valid() {
            return caller.clone();
        }
        let state = current.trace_state().header();
        TraceHeaders {
            traceparent: Some(format!(
                "00-{}-{}-{:02x}",
                current.trace_id(),
                current.span_id(),
                current.trace_flags().to_u8()
            )),
            tracestate: (!state.is_empty()).then_some(state),
        }
    }
}
