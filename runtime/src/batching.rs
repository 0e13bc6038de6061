//! Dynamic batching: concurrent requests' sequences are queued, sorted by length and grouped
//! under a padded-token budget, and one owner thread runs the forward passes. The queue is
//! bounded (a full queue is "overloaded"), requests whose caller went away are dropped before
//! their forward pass, and a sequence longer than the budget runs alone rather than stalling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::Span;

use crate::RuntimeError;
use crate::metrics::engine;
use crate::trace;

/// One tokenized input: token ids and their segment (token type) ids, e.g. 0 for a query and 1
/// for a passage in a cross-encoder pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

impl Sequence {
    /// A single-segment sequence.
    pub fn single(ids: Vec<u32>) -> Self {
        let type_ids = vec![0; ids.len()];
        Self { ids, type_ids }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The model side of a batcher, run on its owner thread.
pub trait BatchForward: Send + 'static {
    type Output: Send + 'static;
    /// One forward pass over `batch`; one output per sequence, in order.
    fn forward(&mut self, batch: &[&Sequence]) -> Result<Vec<Self::Output>, RuntimeError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchingConfig {
    /// Upper bound of `longest sequence × sequences` per forward pass.
    pub max_batch_tokens: usize,
    /// Requests waiting for the owner thread beyond those being computed.
    pub queue_capacity: usize,
}

impl Default for BatchingConfig {
    fn default() -> Self {
        Self {
            max_batch_tokens: 16_384,
            queue_capacity: 256,
        }
    }
}

/// Counters for operators and tests: how much batching actually happens.
#[derive(Debug, Default)]
pub struct BatchStats {
    pub forward_passes: AtomicU64,
    pub sequences: AtomicU64,
    pub largest_batch: AtomicU64,
}

/// The outputs (or why not), and how long the job waited in the queue.
type Reply<O> = (Result<Vec<O>, RuntimeError>, Duration);

struct Job<O> {
    sequences: Vec<Sequence>,
    reply: oneshot::Sender<Reply<O>>,
    queued_at: Instant,
    /// Set when the owner thread takes the job.
    waited: Duration,
    /// The request's span, which the forward pass that computes it links to.
    request: Span,
    /// Open while the job waits; the owner thread closes it when it takes the job.
    waiting: Span,
}

pub struct Batcher<O> {
    name: Arc<str>,
    model: Arc<str>,
    capacity: usize,
    jobs: mpsc::Sender<Job<O>>,
    stats: Arc<BatchStats>,
}

impl<O> Clone for Batcher<O> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            model: self.model.clone(),
            capacity: self.capacity,
            jobs: self.jobs.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<O: Send + 'static> Batcher<O> {
    /// Starts the owner thread `<role>-<model_id>`; it stops when the last `Batcher` handle is
    /// dropped. Its metrics are labelled with `model_id`.
    pub fn spawn<F>(
        model_id: &str,
        role: &str,
        model: F,
        config: BatchingConfig,
    ) -> Result<Self, RuntimeError>
    where
        F: BatchForward<Output = O>,
    {
        let name = format!("{role}-{model_id}");
        let capacity = config.queue_capacity.max(1);
        let (jobs, queue) = mpsc::channel(capacity);
        let stats = Arc::new(BatchStats::default());
        let owner = Owner {
            model_id: model_id.into(),
            budget: config.max_batch_tokens.max(1),
            stats: stats.clone(),
        };
        engine().queue_depth.set(&[model_id], 0.0);
        thread::Builder::new()
            .name(name.clone())
            .spawn(move || owner.run(model, queue))
            .map_err(|e| RuntimeError::Unavailable(format!("cannot start {name}: {e}")))?;
        Ok(Self {
            name: name.into(),
            model: model_id.into(),
            capacity,
            jobs,
            stats,
        })
    }

    /// Runs `sequences` (one request) through the model, batched with whatever else is queued.
    pub async fn run(&self, sequences: Vec<Sequence>) -> Result<Vec<O>, RuntimeError> {
        if sequences.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, result) = oneshot::channel();
        let job = Job {
            sequences,
            reply,
            queued_at: Instant::now(),
            waited: Duration::ZERO,
            request: Span::current(),
            waiting: tracing::info_span!(target: trace::TARGET, "queue wait"),
        };
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RuntimeError::Overloaded {
                what: self.name.to_string(),
                limit: self.capacity,
            },
            mpsc::error::TrySendError::Closed(_) => {
                RuntimeError::Unavailable(format!("{} has stopped", self.name))
            }
        })?;
        engine().queue_depth.add(&[&self.model], 1.0);
        let (outputs, waited) = result
            .await
            .map_err(|_| RuntimeError::Unavailable(format!("{} dropped the request", self.name)))?;
        crate::call_timing::add_queued(waited);
        outputs
    }

    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }
}

/// The owner thread's side: what it needs besides the model and the queue.
struct Owner {
    model_id: Arc<str>,
    budget: usize,
    stats: Arc<BatchStats>,
}

impl Owner {
    fn run<F: BatchForward>(&self, mut model: F, mut queue: mpsc::Receiver<Job<F::Output>>) {
        while let Some(first) = queue.blocking_recv() {
            let mut jobs = vec![first];
            while let Ok(job) = queue.try_recv() {
                jobs.push(job);
            }
            let metrics = engine();
            let label = [&*self.model_id];
            metrics.queue_depth.add(&label, -(jobs.len() as f64));
            for job in &mut jobs {
                job.waited = job.queued_at.elapsed();
                let waited = job.waited.as_secs_f64();
                metrics.queue_wait_seconds.observe(&label, waited);
                // Closing the span ends the wait in the trace.
                job.waiting = Span::none();
            }
            // The caller stopped waiting (client gone): don't spend compute on it.
            jobs.retain(|job| !job.reply.is_closed());
            if jobs.is_empty() {
                continue;
            }
            self.run_round(&mut model, jobs);
        }
    }

    fn run_round<F: BatchForward>(&self, model: &mut F, jobs: Vec<Job<F::Output>>) {
        let mut slots: Vec<(Slot, usize)> = Vec::new();
        for (j, job) in jobs.iter().enumerate() {
            for (s, seq) in job.sequences.iter().enumerate() {
                slots.push(((j, s), seq.len()));
            }
        }
        let mut outputs: Vec<Vec<Option<F::Output>>> = jobs
            .iter()
            .map(|job| job.sequences.iter().map(|_| None).collect())
            .collect();
        let mut failures: Vec<Option<RuntimeError>> = jobs.iter().map(|_| None).collect();

        for batch in plan_batches(&slots, self.budget) {
            let live: Vec<Slot> = batch
                .into_iter()
                .filter(|(j, _)| failures[*j].is_none() && !jobs[*j].reply.is_closed())
                .collect();
            if live.is_empty() {
                continue;
            }
            let inputs: Vec<&Sequence> =
                live.iter().map(|(j, s)| &jobs[*j].sequences[*s]).collect();
            let result = self.forward(model, &inputs, live.iter().map(|(j, _)| &jobs[*j]));
            match result {
                Ok(outs) if outs.len() == live.len() => {
                    for ((j, s), out) in live.into_iter().zip(outs) {
                        outputs[j][s] = Some(out);
                    }
                }
                Ok(outs) => {
                    let error = RuntimeError::Inference(format!(
                        "the model returned {} outputs for {} inputs",
                        outs.len(),
                        live.len()
                    ));
                    live.iter()
                        .for_each(|(j, _)| failures[*j] = Some(error.clone()));
                }
                Err(error) => live
                    .iter()
                    .for_each(|(j, _)| failures[*j] = Some(error.clone())),
            }
        }

        for ((job, outs), failure) in jobs.into_iter().zip(outputs).zip(failures) {
            let reply = match failure {
                Some(error) => Err(error),
                None => outs
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| RuntimeError::Inference("a sequence was not computed".into())),
            };
            let _ = job.reply.send((reply, job.waited));
        }
    }

    /// One forward pass, counted and traced: its span belongs to no one request, so it links
    /// to the span of every request it computes.
    fn forward<'j, F: BatchForward>(
        &self,
        model: &mut F,
        inputs: &[&Sequence],
        jobs: impl Iterator<Item = &'j Job<F::Output>>,
    ) -> Result<Vec<F::Output>, RuntimeError>
    where
        F::Output: 'j,
    {
        let padded = inputs.iter().map(|s| s.len()).max().unwrap_or(0) * inputs.len();
        let span = tracing::info_span!(
            target: trace::TARGET,
            parent: None,
            "batch forward",
            gen_ai.request.model = &*self.model_id,
            taskgate.batch.sequences = inputs.len(),
            taskgate.batch.tokens = padded,
        );
        // A request with several sequences in this batch is linked once.
        let mut linked = Vec::new();
        for job in jobs {
            if let Some(id) = job.request.id()
                && !linked.contains(&id)
            {
                span.follows_from(&id);
                linked.push(id);
            }
        }
        let _entered = span.enter();
        let stats = &self.stats;
        stats.forward_passes.fetch_add(1, Ordering::Relaxed);
        stats
            .sequences
            .fetch_add(inputs.len() as u64, Ordering::Relaxed);
        stats
            .largest_batch
            .fetch_max(inputs.len() as u64, Ordering::Relaxed);
        let metrics = engine();
        let label = [&*self.model_id];
        metrics.batch_size.observe(&label, inputs.len() as f64);
        metrics.batch_tokens.observe(&label, padded as f64);
        let started = Instant::now();
        // A panic inside the model must fail these requests, not kill the owner thread.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.forward(inputs)))
                .unwrap_or_else(|_| Err(RuntimeError::Inference("the model panicked".into())));
        metrics
            .batch_forward_seconds
            .observe(&label, started.elapsed().as_secs_f64());
        result
    }
}

/// One sequence's place: (job index, sequence index within the job).
type Slot = (usize, usize);

/// Groups sequences into batches: sorted by length (less padding), each batch's
/// `longest × count` within `budget`. A sequence longer than the budget forms a batch alone.
pub fn plan_batches(slots: &[(Slot, usize)], budget: usize) -> Vec<Vec<Slot>> {
    let mut sorted: Vec<&(Slot, usize)> = slots.iter().collect();
    sorted.sort_by_key(|(_, len)| *len);
    let mut batches = Vec::new();
    let mut current: Vec<Slot> = Vec::new();
    for (slot, len) in sorted {
        // Sorted ascending, so this sequence is the longest of the batch if added.
        if !current.is_empty() && len * (current.len() + 1) > budget {
            batches.push(std::mem::take(&mut current));
        }
        current.push(*slot);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn batches_respect_the_budget_and_sort_by_length() {
        let slots = vec![((0, 0), 10), ((1, 0), 3), ((1, 1), 7), ((2, 0), 4)];
        let batches = plan_batches(&slots, 16);
        // 3+4 fit (4×2=8), adding 7 would be 7×3=21 > 16; 7 and 10: 10×2=20 > 16.
        assert_eq!(
            batches,
            vec![vec![(1, 0), (2, 0)], vec![(1, 1)], vec![(0, 0)]]
        );
    }

    #[test]
    fn an_oversized_sequence_runs_alone() {
        let slots = vec![((0, 0), 100), ((1, 0), 2)];
        let batches = plan_batches(&slots, 10);
        assert_eq!(batches, vec![vec![(1, 0)], vec![(0, 0)]]);
    }

    /// Sums each sequence; records batch sizes.
    struct Summer {
        sizes: std::sync::mpsc::Sender<usize>,
        delay: Duration,
    }

    impl BatchForward for Summer {
        type Output = u32;
        fn forward(&mut self, batch: &[&Sequence]) -> Result<Vec<u32>, RuntimeError> {
            std::thread::sleep(self.delay);
            let _ = self.sizes.send(batch.len());
            Ok(batch.iter().map(|s| s.ids.iter().sum()).collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_forward_passes_and_get_their_own_results() {
        let (sizes, seen) = std::sync::mpsc::channel();
        let model = Summer {
            sizes,
            delay: Duration::from_millis(30),
        };
        let batcher = Batcher::spawn("sum", "test", model, BatchingConfig::default()).unwrap();
        let tasks: Vec<_> = (0..16u32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move {
                    b.run(vec![
                        Sequence::single(vec![i, 1]),
                        Sequence::single(vec![i]),
                    ])
                    .await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let i = i as u32;
            assert_eq!(task.await.unwrap().unwrap(), vec![i + 1, i]);
        }
        let sizes: Vec<usize> = seen.try_iter().collect();
        assert_eq!(sizes.iter().sum::<usize>(), 32);
        assert!(sizes.len() < 16, "requests were not batched: {sizes:?}");
        assert!(batcher.stats().largest_batch.load(Ordering::Relaxed) > 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_cancelled_while_queued_is_never_computed() {
        let (sizes, seen) = std::sync::mpsc::channel();
        let model = Summer {
            sizes,
            delay: Duration::from_millis(300),
        };
        let batcher = Batcher::spawn("cancel", "test", model, BatchingConfig::default()).unwrap();
        let first = tokio::spawn({
            let b = batcher.clone();
            async move { b.run(vec![Sequence::single(vec![1])]).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Queued behind the first forward pass, then abandoned (client went away).
        let abandoned = tokio::time::timeout(
            Duration::from_millis(50),
            batcher.run(vec![Sequence::single(vec![2]), Sequence::single(vec![3])]),
        )
        .await;
        assert!(abandoned.is_err(), "the request was still queued");
        assert_eq!(first.await.unwrap().unwrap(), vec![1]);
        let after = batcher.run(vec![Sequence::single(vec![4])]).await.unwrap();
        assert_eq!(after, vec![4]);
        let sizes: Vec<usize> = seen.try_iter().collect();
        assert_eq!(
            sizes,
            vec![1, 1],
            "the abandoned sequences were computed: {sizes:?}"
        );
    }

    #[tokio::test]
    async fn a_full_queue_is_overloaded() {
        let (sizes, _seen) = std::sync::mpsc::channel();
        let model = Summer {
            sizes,
            delay: Duration::from_millis(200),
        };
        let config = BatchingConfig {
            max_batch_tokens: 100,
            queue_capacity: 1,
        };
        let batcher = Batcher::spawn("slow", "test", model, config).unwrap();
        let first = tokio::spawn({
            let b = batcher.clone();
            async move { b.run(vec![Sequence::single(vec![1])]).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = tokio::spawn({
            let b = batcher.clone();
            async move { b.run(vec![Sequence::single(vec![2])]).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let third = batcher.run(vec![Sequence::single(vec![3])]).await;
        assert!(
            matches!(third, Err(RuntimeError::Overloaded { .. })),
            "{third:?}"
        );
        assert_eq!(first.await.unwrap().unwrap(), vec![1]);
        assert_eq!(second.await.unwrap().unwrap(), vec![2]);
    }
}
