//! The generation scheduler: one owner thread per model runs every admitted sequence, one
//! token per sequence per round, so concurrent streams advance together and share one copy of
//! the weights. Batched decoding slots in here later without changing the API.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc as std_mpsc};
use std::thread;

use tokio::sync::mpsc;

use super::sequence::Sequence;
use super::{GenerationEvent, GenerationRequest};
use crate::RuntimeError;
use crate::gguf::GgufTokenizer;
use crate::llama::LlamaModel;

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
}

#[derive(Clone)]
pub struct GenerationEngine {
    name: Arc<str>,
    config: EngineConfig,
    jobs: std_mpsc::SyncSender<Job>,
    stats: Arc<EngineStats>,
}

impl GenerationEngine {
    /// Starts the owner thread; it exits when the last handle is dropped and its sequences end.
    pub fn spawn(
        name: &str,
        model: Arc<LlamaModel>,
        tokenizer: Arc<GgufTokenizer>,
        config: EngineConfig,
    ) -> Result<Self, RuntimeError> {
        let config = EngineConfig {
            max_sequences: config.max_sequences.max(1),
            queue_capacity: config.queue_capacity.max(1),
        };
        let (jobs, queue) = std_mpsc::sync_channel(config.queue_capacity);
        let stats = Arc::new(EngineStats::default());
        let scheduler = Scheduler {
            model,
            tokenizer,
            queue,
            max_sequences: config.max_sequences,
            stats: stats.clone(),
            active: Vec::new(),
        };
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || scheduler.run())
            .map_err(|e| RuntimeError::Unavailable(format!("cannot start {name}: {e}")))?;
        Ok(Self {
            name: name.into(),
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
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs.try_send(Job { request, events }).map_err(|e| {
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
    model: Arc<LlamaModel>,
    tokenizer: Arc<GgufTokenizer>,
    queue: std_mpsc::Receiver<Job>,
    max_sequences: usize,
    stats: Arc<EngineStats>,
    active: Vec<(
        Sequence,
        mpsc::Sender<Result<GenerationEvent, RuntimeError>>,
    )>,
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

    fn admit(&mut self, job: Job) {
        self.stats.queued.fetch_sub(1, Ordering::Relaxed);
        if job.events.is_closed() {
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let sequence = Sequence::new(job.request, &self.model);
        self.active.push((sequence, job.events));
        self.stats
            .active
            .store(self.active.len(), Ordering::Relaxed);
    }

    /// One step of every active sequence; finished, failed and cancelled ones leave.
    fn round(&mut self) {
        let (model, tokenizer, stats) = (&self.model, &self.tokenizer, &self.stats);
        self.active.retain_mut(|(sequence, events)| {
            if events.is_closed() {
                stats.cancelled.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            // A panic must fail this sequence, not the thread every other sequence runs on.
            let outcome = catch_unwind(AssertUnwindSafe(|| sequence.step(model, tokenizer)));
            let steps = match outcome {
                Ok(Ok(steps)) => steps,
                Ok(Err(e)) => {
                    let _ = events.try_send(Err(e));
                    return false;
                }
                Err(_) => {
                    let _ = events.try_send(Err(RuntimeError::Inference(
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
                    }
                    GenerationEvent::Finished { .. } => {
                        stats.completed.fetch_add(1, Ordering::Relaxed);
                        finished = true;
                    }
                    GenerationEvent::Started { .. } => {}
                }
                let _ = events.try_send(Ok(event));
            }
            !finished
        });
        self.stats
            .active
            .store(self.active.len(), Ordering::Relaxed);
    }
}
