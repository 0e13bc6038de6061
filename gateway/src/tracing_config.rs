//! The `tracing:` section: OpenTelemetry traces exported over OTLP. Off by default; on, every
//! task call is a server span (a child of the caller's `traceparent`) with spans for its
//! validation, queue wait, CPU work, forward passes, generation phases and remote calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    pub enabled: bool,
    pub protocol: OtlpProtocol,
    /// The collector: for `grpc` its address (default `http://127.0.0.1:4317`), for
    /// `http/protobuf` the full URL of its trace route (default
    /// `http://127.0.0.1:4318/v1/traces`).
    #[schema(min_length = 1, example = "http://127.0.0.1:4317")]
    pub endpoint: Option<String>,
    /// Sent with every export (gRPC metadata or HTTP headers), e.g. the collector's key.
    pub headers: BTreeMap<String, String>,
    /// The `service.name` resource attribute.
    #[schema(min_length = 1, example = "taskgate")]
    pub service_name: String,
    /// Share of new traces recorded; a call with a sampled `traceparent` is always recorded,
    /// an unsampled one never (the caller decided).
    #[schema(minimum = 0.0, maximum = 1.0, example = 1.0)]
    pub sampling_ratio: f64,
    /// Ended spans waiting for export; beyond it spans are dropped (and counted in
    /// `taskgate_trace_spans_dropped_total`), never a request slowed.
    #[schema(minimum = 1, maximum = 1000000, example = 2048)]
    pub max_queue_spans: usize,
    /// Most spans in one export.
    #[schema(minimum = 1, maximum = 100000, example = 512)]
    pub max_export_batch: usize,
    /// A partial batch is exported after this.
    #[schema(minimum = 10, example = 1000)]
    pub export_interval_ms: u64,
    /// One export must finish within this.
    #[schema(minimum = 100, example = 10000)]
    pub export_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum OtlpProtocol {
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            protocol: OtlpProtocol::Grpc,
            endpoint: None,
            headers: BTreeMap::new(),
            service_name: "taskgate".into(),
            sampling_ratio: 1.0,
            max_queue_spans: 2048,
            max_export_batch: 512,
            export_interval_ms: 1000,
            export_timeout_ms: 10_000,
        }
    }
}

impl TracingConfig {
    /// The collector's endpoint, or the protocol's default on this machine.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| {
            match self.protocol {
                OtlpProtocol::Grpc => "http://127.0.0.1:4317",
                OtlpProtocol::HttpProtobuf => "http://127.0.0.1:4318/v1/traces",
            }
            .to_string()
        })
    }
}
