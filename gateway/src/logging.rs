use std::io::IsTerminal;

use opentelemetry_sdk::trace::SdkTracer;
use taskgate_runtime::trace::TARGET;
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber once; `RUST_LOG` overrides the configured level. A second call
/// (e.g. several servers in one test binary) keeps the first subscriber.
///
/// With a `tracer`, the spans of target [`TARGET`] go to it, and only there: the log lines
/// stay as they are with tracing on or off. Without one nothing takes those spans, so they
/// are never even built.
pub fn init(config: &LogConfig, tracer: Option<SdkTracer>) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = match format!("{TARGET}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    // Colours only for a person at a terminal: files, journald and log shippers get plain text.
    let lines = fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let lines = match config.format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines.json().boxed(),
    };
    let traces = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            // Busy/idle times per span cost two clock reads per poll and say nothing the
            // span's own start and end do not.
            .with_tracked_inactivity(false)
            .with_filter(Targets::new().with_target(TARGET, Level::INFO))
    });
    let _ = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(traces)
        .try_init();
}
