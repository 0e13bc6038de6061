//! OpenTelemetry traces over OTLP (gRPC or HTTP/protobuf). [`start`] builds the exporter, a
//! sampler and the bounded [`ExportQueue`] it reads from; [`crate::logging::init`] puts the
//! tracer behind the `tracing` spans of target [`taskgate_runtime::trace::TARGET`].

mod export_queue;
mod http_client;

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter};

pub use export_queue::{ExportQueue, write_metrics};

use crate::tracing_config::{OtlpProtocol, TracingConfig};

#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    #[error("tracing.endpoint '{endpoint}': {message}")]
    Endpoint { endpoint: String, message: String },
    #[error("tracing.headers: '{name}' cannot be sent: {message}")]
    Header { name: String, message: String },
}

/// Traces being exported: the tracer spans are made with, and what flushes them at shutdown.
pub struct TraceExport {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    queue: ExportQueue,
}

impl TraceExport {
    pub fn tracer(&self) -> SdkTracer {
        self.tracer.clone()
    }

    /// Exports what is queued, waiting at most `timeout` (the collector may be gone).
    pub async fn flush(&self, timeout: Duration) {
        if tokio::time::timeout(timeout, self.queue.flush())
            .await
            .is_err()
        {
            tracing::warn!("trace export did not finish before shutdown; queued spans are lost");
        }
        let _ = self.provider.shutdown();
    }
}

/// The exporter the config asks for, or `None` with tracing off. Must run inside the tokio
/// runtime: the export task and the gRPC channel live on it.
pub fn start(config: &TracingConfig) -> Result<Option<TraceExport>, TracingError> {
    if !config.enabled {
        return Ok(None);
    }
    let endpoint = config.endpoint();
    let timeout = Duration::from_millis(config.export_timeout_ms);
    let bad_endpoint = |message: String| TracingError::Endpoint {
        endpoint: endpoint.clone(),
        message,
    };
    // Checked for both protocols: the HTTP exporter would skip a bad header without a word.
    let metadata = metadata(&config.headers)?;
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let mut exporter = match config.protocol {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(timeout)
            .with_metadata(metadata)
            .build(),
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(timeout)
            .with_headers(
                config
                    .headers
                    .clone()
                    .into_iter()
                    .collect::<HashMap<_, _>>(),
            )
            .with_http_client(http_client::ReqwestClient::new(timeout).map_err(bad_endpoint)?)
            .build(),
    }
    .map_err(|e| bad_endpoint(e.to_string()))?;
    exporter.set_resource(&resource);
    let queue = ExportQueue::start(
        exporter,
        export_queue::Limits {
            max_queue_spans: config.max_queue_spans,
            max_export_batch: config.max_export_batch,
            interval: Duration::from_millis(config.export_interval_ms),
            timeout,
        },
    );
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampling_ratio)));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(queue.clone())
        .with_sampler(sampler)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("taskgate");
    tracing::info!(%endpoint, protocol = ?config.protocol, "exporting traces");
    Ok(Some(TraceExport {
        provider,
        tracer,
        queue,
    }))
}

fn metadata(
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<tonic::metadata::MetadataMap, TracingError> {
    let mut map = tonic::metadata::MetadataMap::new();
    for (name, value) in headers {
        let bad = |message: String| TracingError::Header {
            name: name.clone(),
            message,
        };
        let key = tonic::metadata::MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        let value = value
            .parse()
            .map_err(|_| bad("not a valid header value".into()))?;
        map.insert(key, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_builds_nothing() {
        assert!(start(&TracingConfig::default()).unwrap().is_none());
    }

    #[test]
    fn a_header_that_cannot_be_sent_is_refused_on_either_protocol() {
        for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
            let config = TracingConfig {
                enabled: true,
                protocol,
                headers: [("bad header".to_string(), "v".to_string())].into(),
                ..TracingConfig::default()
            };
            let error = start(&config).err().expect("refused").to_string();
            assert!(error.contains("tracing.headers: 'bad header'"), "{error}");
        }
    }
}
