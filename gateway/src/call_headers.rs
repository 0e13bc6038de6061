//! What a call's headers (REST) or metadata (gRPC) say beyond its body, read the same way for
//! both wires.

use crate::auth::{Credentials, PeerCertificate};
use crate::trace_context;
use taskgate_runtime::trace::TraceHeaders;

/// Asks a remote model for one of its configured alternative endpoints (Caikit's TGIS routing
/// header).
pub const ROUTE_INFO: &str = "x-route-info";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallHeaders {
    /// The W3C trace context (an invalid `traceparent` is dropped with its `tracestate`).
    pub trace: TraceHeaders,
    pub route_info: Option<String>,
    /// The API key and client certificate presented.
    pub credentials: Credentials,
}

impl CallHeaders {
    /// From a header lookup (`get(name)` → value as text; `present(name)` also for values
    /// that are not text).
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>, present: impl Fn(&str) -> bool) -> Self {
        Self {
            credentials: Credentials::read(&get, present),
            trace: trace_context::read(&get),
            route_info: get(ROUTE_INFO)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        }
    }

    /// With the client certificate verified by the TLS handshake, if any.
    pub fn with_peer(mut self, peer: Option<PeerCertificate>) -> Self {
        self.credentials.peer = peer;
        self
    }
}
