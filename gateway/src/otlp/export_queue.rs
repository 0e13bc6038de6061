//! Ended spans wait here for export, in a bounded queue: a request never waits on the
//! collector, and a slow or absent collector costs dropped spans (counted for `/metrics`),
//! not memory. One task on the async runtime sends them in batches, one export at a time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use taskgate_runtime::metrics::CounterFamily;
use tokio::sync::{mpsc, oneshot};

pub struct Limits {
    pub max_queue_spans: usize,
    pub max_export_batch: usize,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Counts for `/metrics`; one exporter per process.
struct Counters {
    spans: CounterFamily,
    exports: CounterFamily,
}

static COUNTERS: OnceLock<Counters> = OnceLock::new();

fn counters() -> &'static Counters {
    COUNTERS.get_or_init(|| Counters {
    spans: CounterFamily::new(
        "taskgate_trace_spans_total",
        "Ended trace spans by outcome: exported, dropped (the export queue was full), or failed (the collector refused them or did not answer).",
        &["outcome"],
    ),
    exports: CounterFamily::new(
        "taskgate_trace_exports_total",
        "OTLP export calls by outcome: ok, failed, timed_out.",
        &["outcome"],
    ),
    })
}

/// The export counters in Prometheus's text format (nothing until tracing is on).
pub fn write_metrics(out: &mut String) {
    if let Some(counters) = COUNTERS.get() {
        counters.spans.write(out);
        counters.exports.write(out);
    }
}

/// The span processor handed to the tracer provider.
#[derive(Debug, Clone)]
pub struct ExportQueue {
    spans: mpsc::Sender<SpanData>,
    flushes: mpsc::Sender<oneshot::Sender<()>>,
}

impl ExportQueue {
    /// Starts the export task on the current runtime.
    pub fn start<E: SpanExporter + 'static>(exporter: E, limits: Limits) -> Self {
        let (spans, queued) = mpsc::channel(limits.max_queue_spans.max(1));
        // Flush requests come from shutdown only: one or two, never a flood.
        let (flushes, flush_requests) = mpsc::channel(4);
        counters();
        tokio::spawn(export_loop(
            Arc::new(exporter),
            queued,
            flush_requests,
            limits,
        ));
        Self { spans, flushes }
    }

    /// Exports everything queued before this call.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        if self.flushes.send(done).await.is_ok() {
            let _ = finished.await;
        }
    }
}

impl SpanProcessor for ExportQueue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.spans.try_send(span).is_err() {
            counters().spans.inc(&["dropped"]);
        }
    }

    /// Shutdown flushes through [`ExportQueue::flush`], which can wait without blocking a
    /// runtime thread.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

async fn export_loop<E: SpanExporter>(
    exporter: Arc<E>,
    mut queued: mpsc::Receiver<SpanData>,
    mut flush_requests: mpsc::Receiver<oneshot::Sender<()>>,
    limits: Limits,
) {
    let batch_size = limits.max_export_batch.max(1);
    let mut batch = Vec::with_capacity(batch_size);
    let mut tick = tokio::time::interval(limits.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            span = queued.recv() => match span {
                Some(span) => {
                    batch.push(span);
                    if batch.len() >= batch_size {
                        export(&*exporter, &mut batch, limits.timeout).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => export(&*exporter, &mut batch, limits.timeout).await,
            request = flush_requests.recv() => {
                let Some(done) = request else { break };
                while let Ok(span) = queued.try_recv() {
                    batch.push(span);
                    if batch.len() >= batch_size {
                        export(&*exporter, &mut batch, limits.timeout).await;
                    }
                }
                export(&*exporter, &mut batch, limits.timeout).await;
                let _ = done.send(());
            }
        }
    }
    export(&*exporter, &mut batch, limits.timeout).await;
}

async fn export<E: SpanExporter>(exporter: &E, batch: &mut Vec<SpanData>, timeout: Duration) {
    if batch.is_empty() {
        return;
    }
    let spans = std::mem::take(batch);
    let count = spans.len() as u64;
    let outcome = match tokio::time::timeout(timeout, exporter.export(spans)).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, spans = count, "trace export failed");
            "failed"
        }
        Err(_) => {
            tracing::warn!(spans = count, "trace export timed out");
            "timed_out"
        }
    };
    counters().exports.inc(&[outcome]);
    let spans = if outcome == "ok" {
        "exported"
    } else {
        "failed"
    };
    counters().spans.add(&[spans], count);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer, TracerProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use std::sync::Mutex;

    /// Takes a long time over each export, recording the batch sizes it got.
    #[derive(Debug, Default)]
    struct SlowExporter {
        batches: Arc<Mutex<Vec<usize>>>,
    }

    impl SpanExporter for SlowExporter {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.batches.lock().unwrap().push(batch.len());
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        }
    }

    fn count(outcome: &str) -> f64 {
        let mut out = String::new();
        write_metrics(&mut out);
        let series = format!("taskgate_trace_spans_total{{outcome=\"{outcome}\"}} ");
        out.lines()
            .find_map(|l| l.strip_prefix(&series)?.parse().ok())
            .unwrap_or(0.0)
    }

    #[tokio::test]
    async fn a_stalled_collector_costs_dropped_spans_not_waiting() {
        let exporter = SlowExporter::default();
        let batches = exporter.batches.clone();
        let queue = ExportQueue::start(
            exporter,
            Limits {
                max_queue_spans: 4,
                max_export_batch: 2,
                interval: Duration::from_millis(10),
                timeout: Duration::from_secs(5),
            },
        );
        let provider = SdkTracerProvider::builder()
            .with_span_processor(queue.clone())
            .build();
        let tracer = provider.tracer("test");
        let dropped_before = count("dropped");
        // The export task is busy with the first batch; the queue holds 4; the rest drop.
        tracer.in_span("first", |_| {});
        tracer.in_span("second", |_| {});
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        for _ in 0..20 {
            tracer.in_span("burst", |_| {});
        }
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "ending spans waited"
        );
        assert!(count("dropped") - dropped_before >= 14.0);
        queue.flush().await;
        let exported: usize = batches.lock().unwrap().iter().sum();
        assert!((6..=8).contains(&exported), "{exported} spans exported");
        assert!(batches.lock().unwrap().iter().all(|b| *b <= 2));
    }
}
