//! W3C Trace Context: a caller's `traceparent` (with its `tracestate`) is the parent of the
//! call's server span when traces are exported, and is passed on to remote runtimes unchanged
//! when they are not. A malformed `traceparent` is dropped, and its `tracestate` with it (as the
//! spec asks; the call still runs).

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use taskgate_runtime::trace::TraceHeaders;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// The spec's limit on what a `tracestate` must be able to carry; a longer one is dropped
/// rather than truncated (a cut entry would be corrupt).
const MAX_TRACESTATE: usize = 512;

/// The trace context of a call's headers.
pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> TraceHeaders {
    let Some(traceparent) = get(TRACEPARENT).and_then(valid) else {
        return TraceHeaders::default();
    };
    let tracestate = get(TRACESTATE)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE)
        .filter(|s| s.bytes().all(|b| (b' '..=b'~').contains(&b)))
        .map(str::to_string);
    TraceHeaders {
        traceparent: Some(traceparent),
        tracestate,
    }
}

/// Makes the caller's span (when it sent one) the parent of `span`; nothing when traces are off.
pub fn set_parent(span: &tracing::Span, trace: &TraceHeaders) {
    if span.is_disabled() {
        return;
    }
    let Some(traceparent) = &trace.traceparent else {
        return;
    };
    let mut carrier = HashMap::new();
    carrier.insert(TRACEPARENT.to_string(), traceparent.clone());
    if let Some(tracestate) = &trace.tracestate {
        carrier.insert(TRACESTATE.to_string(), tracestate.clone());
    }
    let parent = TraceContextPropagator::new().extract(&carrier);
    // Refused only for a span already started, and this one was just made.
    let _ = span.set_parent(parent);
}

/// `version-traceid-parentid-flags`, lowercase hex, version 00 (or a later one with at least
/// these fields), neither id all zeros.
pub fn valid(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let [version, trace_id, parent_id, flags, ..] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let well_formed = hex(version, 2)
        && *version != "ff"
        && (*version != "00" || parts.len() == 4)
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent_id.bytes().any(|b| b != b'0');
    well_formed.then(|| value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_example() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(valid(header).as_deref(), Some(header));
    }

    #[test]
    fn tracestate_is_kept_only_beside_a_valid_traceparent() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let headers = |tp: &'static str, ts: &'static str| {
            move |name: &str| match name {
                TRACEPARENT => Some(tp),
                TRACESTATE => Some(ts),
                _ => None,
            }
        };
        let read_both = read(headers(parent, "vendor=abc,other=1"));
        assert_eq!(read_both.traceparent.as_deref(), Some(parent));
        assert_eq!(read_both.tracestate.as_deref(), Some("vendor=abc,other=1"));
        assert_eq!(read(headers("junk", "vendor=abc")), TraceHeaders::default());
        let long = Box::leak("a=b,".repeat(200).into_boxed_str());
        assert_eq!(read(headers(parent, long)).tracestate, None);
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(valid(bad), None, "{bad}");
        }
    }
}
