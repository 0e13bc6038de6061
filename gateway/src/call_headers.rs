//! What a call's headers (REST) or metadata (gRPC) say beyond its body, read the same way for
//! both wires.

use crate::trace_context;

/// Asks a remote model for one of its configured alternative endpoints (Caikit's TGIS routing
/// header).
pub const ROUTE_INFO: &str = "x-route-info";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallHeaders {
    /// A valid W3C `traceparent` (an invalid one is dropped).
    pub traceparent: Option<String>,
    pub route_info: Option<String>,
}

impl CallHeaders {
    /// From a header lookup (`get(name)` → value as text).
    pub fn read<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self {
            traceparent: get(trace_context::TRACEPARENT).and_then(trace_context::valid),
            route_info: get(ROUTE_INFO)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        }
    }
}
