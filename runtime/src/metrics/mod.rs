//! What the engines and the remote clients measure, for the gateway's `/metrics`. One set for
//! the process, as every Prometheus client library keeps a default registry: the engines run
//! on their own threads, far from any request's gateway state. Label values are model ids,
//! backend names and trainer names, all from the config, so every family stays bounded.

pub mod family;

use std::sync::LazyLock;

pub use family::{CounterFamily, GaugeFamily, HistogramFamily};

use family::{BATCH_SIZE_BUCKETS, BATCH_TOKENS_BUCKETS, LATENCY_BUCKETS, STEP_BUCKETS};

pub struct EngineMetrics {
    pub queue_depth: GaugeFamily,
    pub queue_wait_seconds: HistogramFamily,
    pub batch_size: HistogramFamily,
    pub batch_tokens: HistogramFamily,
    pub batch_forward_seconds: HistogramFamily,
    pub sequences: GaugeFamily,
    pub decode_batch_size: HistogramFamily,
    pub time_per_output_token_seconds: HistogramFamily,
    pub backend_request_seconds: HistogramFamily,
    pub backend_errors: CounterFamily,
    pub backend_retries: CounterFamily,
    pub training_step_seconds: HistogramFamily,
    pub model_load_seconds: GaugeFamily,
    pub model_loads: CounterFamily,
    pub model_unloads: CounterFamily,
}

/// The process's engine metrics.
pub fn engine() -> &'static EngineMetrics {
    static ENGINE: LazyLock<EngineMetrics> = LazyLock::new(EngineMetrics::new);
    &ENGINE
}

impl EngineMetrics {
    fn new() -> Self {
        Self {
            queue_depth: GaugeFamily::new(
                "taskgate_queue_depth",
                "Requests waiting for a model's engine thread (encoders: requests queued for the next forward pass; generation: requests waiting for a sequence slot).",
                &["model"],
            ),
            queue_wait_seconds: HistogramFamily::new(
                "taskgate_queue_wait_seconds",
                "Time a request waited in its model's engine queue before its work started.",
                &["model"],
                LATENCY_BUCKETS,
            ),
            batch_size: HistogramFamily::new(
                "taskgate_batch_size",
                "Sequences per encoder forward pass.",
                &["model"],
                BATCH_SIZE_BUCKETS,
            ),
            batch_tokens: HistogramFamily::new(
                "taskgate_batch_tokens",
                "Padded tokens per encoder forward pass (longest sequence times sequences).",
                &["model"],
                BATCH_TOKENS_BUCKETS,
            ),
            batch_forward_seconds: HistogramFamily::new(
                "taskgate_batch_forward_duration_seconds",
                "Duration of one encoder forward pass.",
                &["model"],
                LATENCY_BUCKETS,
            ),
            sequences: GaugeFamily::new(
                "taskgate_generation_sequences",
                "Generation sequences by state: active (decoding, holding a KV cache) or queued (waiting for a slot).",
                &["model", "state"],
            ),
            decode_batch_size: HistogramFamily::new(
                "taskgate_decode_batch_size",
                "Sequences of a generation model decoded together in one forward pass (a lone decoding sequence steps on its own and is not counted).",
                &["model"],
                BATCH_SIZE_BUCKETS,
            ),
            time_per_output_token_seconds: HistogramFamily::new(
                "taskgate_time_per_output_token_seconds",
                "Mean time between generated tokens of one sequence, after its first token.",
                &["model"],
                STEP_BUCKETS,
            ),
            backend_request_seconds: HistogramFamily::new(
                "taskgate_backend_request_duration_seconds",
                "One attempt of a call to a remote runtime (streams: until the stream started), by backend and outcome (ok, or the failure kind).",
                &["backend", "outcome"],
                LATENCY_BUCKETS,
            ),
            backend_errors: CounterFamily::new(
                "taskgate_backend_errors_total",
                "Failed attempts of calls to remote runtimes, by backend and kind: unreachable, timed_out, busy, rejected, failed, circuit_open.",
                &["backend", "kind"],
            ),
            backend_retries: CounterFamily::new(
                "taskgate_backend_retries_total",
                "Attempts repeated after a remote runtime was unreachable or busy.",
                &["backend"],
            ),
            training_step_seconds: HistogramFamily::new(
                "taskgate_training_step_duration_seconds",
                "Duration of one training step (one batch), by trainer.",
                &["trainer"],
                STEP_BUCKETS,
            ),
            model_load_seconds: GaugeFamily::new(
                "taskgate_model_load_duration_seconds",
                "How long building each served model took when it was loaded.",
                &["model"],
            ),
            model_loads: CounterFamily::new(
                "taskgate_model_loads_total",
                "Loads of a model, by outcome: loaded, failed (its reason is in /info/models), refused (the memory budget could not make room).",
                &["model", "outcome"],
            ),
            model_unloads: CounterFamily::new(
                "taskgate_model_unloads_total",
                "Unloads of a model, by reason: evicted (least recently used, to make room in the memory budget), requested (the management API or ModelMesh), removed (undeployed or gone from the config).",
                &["model", "reason"],
            ),
        }
    }

    /// The families in Prometheus's text format.
    pub fn write(&self, out: &mut String) {
        self.queue_depth.write(out);
        self.queue_wait_seconds.write(out);
        self.batch_size.write(out);
        self.batch_tokens.write(out);
        self.batch_forward_seconds.write(out);
        self.sequences.write(out);
        self.decode_batch_size.write(out);
        self.time_per_output_token_seconds.write(out);
        self.backend_request_seconds.write(out);
        self.backend_errors.write(out);
        self.backend_retries.write(out);
        self.training_step_seconds.write(out);
        self.model_load_seconds.write(out);
        self.model_loads.write(out);
        self.model_unloads.write(out);
    }
}
