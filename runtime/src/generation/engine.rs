//! The generation scheduler: one owner thread per model runs every admitted sequence, one
//! token per sequence per round, so concurrent streams advance together and share one copy of
//! the weights. Sequences join and leave between rounds; new ones run their prompts first (in
//! chunks while others decode), then those decoding run their tokens through the model in one
//! forward pass (continuous batching).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc as std_mpsc};
use std::thread;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::Span;

use super::sequence::{PREFILL_CHUNK, Sequence};
use super::{GenerationEvent, GenerationRequest};
use crate::RuntimeError;
use crate::gguf::GgufTokenizer;
use crate::llama::{KvCache, LlamaModel};
use crate::metrics::engine;
use crate::trace;

/// Events of one generation; dropping the receiver cancels it.
pub type GenerationStream = mpsc::Receiver<Result<GenerationEvent, RuntimeError>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Sequences decoded together (each holds a KV cache).
    pub max_sequences: usize,
    /// Requests waiting for a free sequence slot before new ones are refused.
    pub queue_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_sequences: 4,
            queue_capacity: 16,
        }
    }
}

/// Counters for `/info/models`.
#[derive(Debug, Default)]
pub struct EngineStats {
    pub active: AtomicUsize,
    pub queued: AtomicUsize,
    pub completed: AtomicU64,
    pub cancelled: AtomicU64,
    pub generated_tokens: AtomicU64,
}

struct Job {
    request: GenerationRequest,
    events: mpsc::Sender<Result<GenerationEvent, RuntimeError>>,
    queued_at: Instant,
    /// The caller's span, parent of the sequence's phases.
    span: Span,
    /// Open while the job waits for a slot.
    waiting: Span,
}

#[derive(Clone)]
pub struct GenerationEngine {
    name: Arc<str>,
    model_id: Arc<str>,
    config: EngineConfig,
    jobs: std_mpsc::SyncSender<Job>,
    stats: Arc<EngineStats>,
}

impl GenerationEngine {
    /// Starts the owner thread `generate-<model_id>`; it exits when the last handle is
    /// dropped and its sequences end. Its metrics are labelled with `model_id`.
    pub fn spawn(
        model_id: &str,
        model: Arc<LlamaModel>,
        tokenizer: Arc<GgufTokenizer>,
        config: EngineConfig,
    ) -> Result<Self, RuntimeError> {
        let config = EngineConfig {
            max_sequences: config.max_sequences.max(1),
            queue_capacity: config.queue_capacity.max(1),
        };
        let name = format!("generate-{model_id}");
        let (jobs, queue) = std_mpsc::sync_channel(config.queue_capacity);
        let stats = Arc::new(EngineStats::default());
        let scheduler = Scheduler {
            model_id: model_id.into(),
            model,
            tokenizer,
            queue,
            max_sequences: config.max_sequences,
            stats: stats.clone(),
            active: Vec::new(),
        };
        scheduler.publish();
        thread::Builder::new()
            .name(name.clone())
            .spawn(move || scheduler.run())
            .map_err(|e| RuntimeError::Unavailable(format!("cannot start {name}: {e}")))?;
        Ok(Self {
            name: name.into(),
            model_id: model_id.into(),
            config,
            jobs,
            stats,
        })
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    pub fn config(&self) -> EngineConfig {
        self.config
    }

    /// Queues a generation; refused at once when the queue is full.
    pub fn submit(&self, request: GenerationRequest) -> Result<GenerationStream, RuntimeError> {
        // Every event of a sequence fits, so the scheduler never waits on a slow reader.
        let capacity = request.max_new_tokens.min(1 << 20) + 2;
        let (events, stream) = mpsc::channel(capacity);
        let job = Job {
            request,
            events,
            queued_at: Instant::now(),
            span: Span::current(),
            waiting: tracing::info_span!(target: trace::TARGET, "queue wait"),
        };
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let queued = self.jobs.try_send(job);
        engine().sequences.set(
            &[&self.model_id, "queued"],
            self.stats.queued.load(Ordering::Relaxed) as f64,
        );
        queued.map_err(|e| {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            match e {
                std_mpsc::TrySendError::Full(_) => RuntimeError::Overloaded {
                    what: format!("generation queue of {}", self.name),
                    limit: self.config.queue_capacity,
                },
                std_mpsc::TrySendError::Disconnected(_) => {
                    RuntimeError::Unavailable(format!("{} has stopped", self.name))
                }
            }
        })?;
        Ok(stream)
    }
}

struct Scheduler {
    model_id: Arc<str>,
    model: Arc<LlamaModel>,
    tokenizer: Arc<GgufTokenizer>,
    queue: std_mpsc::Receiver<Job>,
    max_sequences: usize,
    stats: Arc<EngineStats>,
    active: Vec<Active>,
}

/// A sequence being decoded, with where its events go and how it is timed.
struct Active {
    model_id: Arc<str>,
    sequence: Sequence,
    events: mpsc::Sender<Result<GenerationEvent, RuntimeError>>,
    caller: Span,
    /// `prefill` until the first token, then `decode`.
    phase: Span,
    first_token: Option<Instant>,
    tokens: u64,
}

impl Active {
    fn token(&mut self) {
        self.tokens += 1;
        if self.first_token.is_none() {
            self.first_token = Some(Instant::now());
            self.phase = tracing::info_span!(
                target: trace::TARGET,
                parent: &self.caller,
                "decode",
                gen_ai.request.model = &*self.model_id,
            );
        }
    }
}

type StepOutcome = std::thread::Result<Result<Vec<GenerationEvent>, RuntimeError>>;

impl Active {
    /// Sends what a step produced; whether the sequence goes on.
    fn deliver(&mut self, outcome: StepOutcome, stats: &EngineStats) -> bool {
        let steps = match outcome {
            Ok(Ok(steps)) => steps,
            Ok(Err(e)) => {
                let _ = self.events.try_send(Err(e));
                return false;
            }
            // A panic must fail this sequence, not the thread every other sequence runs on.
            Err(_) => {
                let _ = self.events.try_send(Err(RuntimeError::Inference(
                    "the generation step panicked".into(),
                )));
                return false;
            }
        };
        let mut finished = false;
        for event in steps {
            match &event {
                GenerationEvent::Token { .. } => {
                    stats.generated_tokens.fetch_add(1, Ordering::Relaxed);
                    self.token();
                }
                GenerationEvent::Finished { .. } => {
                    stats.completed.fetch_add(1, Ordering::Relaxed);
                    finished = true;
                }
                GenerationEvent::Started { .. } => {}
            }
            let _ = self.events.try_send(Ok(event));
        }
        !finished
    }
}

impl Drop for Active {
    /// However the sequence ends (finished, failed, cancelled), its mean time per output token
    /// is observed once.
    fn drop(&mut self) {
        if let Some(first) = self.first_token
            && self.tokens > 1
        {
            let mean = first.elapsed().as_secs_f64() / (self.tokens - 1) as f64;
            engine()
                .time_per_output_token_seconds
                .observe(&[&self.model_id], mean);
        }
    }
}

impl Scheduler {
    fn run(mut self) {
        loop {
            if self.active.is_empty() {
                match self.queue.recv() {
                    Ok(job) => self.admit(job),
                    Err(_) => return,
                }
            }
            while self.active.len() < self.max_sequences {
                match self.queue.try_recv() {
                    Ok(job) => self.admit(job),
                    Err(_) => break,
                }
            }
            self.round();
        }
    }

    /// The sequence counts as gauges (the stats feed `/info/models`, these `/metrics`).
    fn publish(&self) {
        let metrics = engine();
        let count = |n: usize| n as f64;
        let model = &*self.model_id;
        metrics.sequences.set(
            &[model, "active"],
            count(self.stats.active.load(Ordering::Relaxed)),
        );
        let queued = count(self.stats.queued.load(Ordering::Relaxed));
        metrics.sequences.set(&[model, "queued"], queued);
        metrics.queue_depth.set(&[model], queued);
    }

    fn admit(&mut self, job: Job) {
        drop(job.waiting);
        self.stats.queued.fetch_sub(1, Ordering::Relaxed);
        engine()
            .queue_wait_seconds
            .observe(&[&self.model_id], job.queued_at.elapsed().as_secs_f64());
        if job.events.is_closed() {
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            self.publish();
            return;
        }
        let phase = tracing::info_span!(
            target: trace::TARGET,
            parent: &job.span,
            "prefill",
            gen_ai.request.model = &*self.model_id,
        );
        let sequence = Sequence::new(job.request, &self.model);
        self.active.push(Active {
            model_id: self.model_id.clone(),
            sequence,
            events: job.events,
            caller: job.span,
            phase,
            first_token: None,
            tokens: 0,
        });
        self.stats
            .active
            .store(self.active.len(), Ordering::Relaxed);
        self.publish();
    }

    /// One step of every active sequence; finished, failed and cancelled ones leave. Prompts
    /// run first, so a new request's first token waits for its own prefill and not also for
    /// everyone else's decode step; while others decode, at most about one prefill chunk runs
    /// per round, so a long prompt does not stall them. Then the sequences that are decoding run
    /// their tokens through the model in one pass.
    fn round(&mut self) {
        let stats = &self.stats;
        self.active.retain(|active| {
            let open = !active.events.is_closed();
            if !open {
                stats.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            open
        });
        let decoding = self
            .active
            .iter()
            .filter(|a| !a.sequence.prefilling())
            .count();
        let mut budget = if decoding == 0 {
            usize::MAX
        } else {
            PREFILL_CHUNK
        };
        let (model, tokenizer, stats) = (&self.model, &self.tokenizer, &self.stats);
        self.active.retain_mut(|active| {
            if !active.sequence.prefilling() || budget == 0 {
                return true;
            }
            let sequence = &mut active.sequence;
            let outcome = active.phase.in_scope(|| {
                catch_unwind(AssertUnwindSafe(|| {
                    let (ran, events) = sequence.prefill_step(model, tokenizer)?;
                    budget = budget.saturating_sub(ran.max(1));
                    Ok(events)
                }))
            });
            active.deliver(outcome, stats)
        });

        let mut batched = self.decode_together();
        let (model, tokenizer, stats) = (&self.model, &self.tokenizer, &self.stats);
        let mut index = 0;
        self.active.retain_mut(|active| {
            let logits = batched.get_mut(index).and_then(Option::take);
            index += 1;
            if active.sequence.prefilling() {
                return true;
            }
            let sequence = &mut active.sequence;
            let outcome = active.phase.in_scope(|| {
                catch_unwind(AssertUnwindSafe(|| match logits {
                    Some(logits) => sequence.step_with(logits, model, tokenizer),
                    None => sequence.step(model, tokenizer),
                }))
            });
            active.deliver(outcome, stats)
        });
        self.stats
            .active
            .store(self.active.len(), Ordering::Relaxed);
        self.publish();
    }

    /// One forward pass over every active sequence with a token to run (two or more), so the
    /// weights are read once for all of them: each one's logits, by position in `active`. When
    /// the pass fails, or fewer than two are decoding, none: each then steps on its own, and
    /// a failure stays with the sequence that causes it.
    fn decode_together(&mut self) -> Vec<Option<Vec<f32>>> {
        let (rows, (tokens, mut caches)): (Vec<usize>, (Vec<u32>, Vec<&mut KvCache>)) = self
            .active
            .iter_mut()
            .enumerate()
            .filter_map(|(i, active)| active.sequence.unfed().map(|(t, cache)| (i, (t, cache))))
            .unzip();
        if rows.len() < 2 {
            return Vec::new();
        }
        let model = &self.model;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            model.forward_batch(&tokens, &mut caches)
        }));
        let Ok(Ok(logits)) = outcome else {
            return Vec::new();
        };
        engine()
            .decode_batch_size
            .observe(&[&self.model_id], rows.len() as f64);
        let mut by_row = vec![None; self.active.len()];
        for (row, logits) in rows.into_iter().zip(logits) {
            by_row[row] = Some(logits);
        }
        by_row
    }
}
