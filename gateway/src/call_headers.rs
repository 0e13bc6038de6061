//! What a call's headers (REST) or metadata (gRPC) say beyond its body, read the same way for
//! both wires.

use crate::auth::{Credentials, PeerCertificate};
use crate::trace_context;
use taskgate_runtime::trace::TraceHeaders;

/// Asks a remote model for one of its configured alternative endpoints (Caikit's TGIS routing
/// header).
pub const ROUTE_INFO: &str = "x-route-info";
/// Names the model that served an answer (one of an alias's models, when an alias was called).
pub const SERVED_BY: &str = "x-taskgate-model";
/// Keeps a caller's calls of a sticky alias on one model.
pub const SESSION_ID: &str = "x-session-id";
/// Longest session id kept; a longer one is cut (it only picks a target).
const MAX_SESSION_ID: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallHeaders {
    /// The W3C trace context (an invalid `traceparent` is dropped with its `tracestate`).
    pub trace: TraceHeaders,
    pub route_info: Option<String>,
    /// `x-session-id`, for aliases sticky per session.
    pub session_id: Option<String>,
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
            session_id: get(SESSION_ID)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| v.chars().take(MAX_SESSION_ID).collect()),
        }
    }

    /// With the client certificate verified by the TLS handshake, if any.
    pub fn with_peer(mut self, peer: Option<PeerCertificate>) -> Self {
        self.credentials.peer = peer;
        self
    }
}
