//! The one place request-sized CPU work runs: tokenizing inputs of any length, converting token
//! offsets, aggregating labels, scanning text for PII. The async workers only wait on it, so a
//! megabyte input never stalls the other requests they serve (`/health` waited seconds behind
//! two 2 MiB tokenizations when this ran inline). Inference has its own dedicated threads
//! ([`crate::Batcher`], [`crate::generation::GenerationEngine`]); this pool serves the work
//! around it.
//!
//! A fixed set of threads takes jobs from one bounded queue; a job that finds the queue full is
//! refused at once with [`RuntimeError::Overloaded`] (a 429), never buffered without bound.

use std::num::NonZero;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;

use tokio::sync::oneshot;

use crate::RuntimeError;

type Job = Box<dyn FnOnce() + Send>;

/// Jobs that may wait per pool thread in the shared pool. Per-model admission
/// (`max_concurrent_requests`, 64 by default) bounds each model; this bounds the process, and
/// is deep enough that a burst on one model waits for a thread instead of being refused.
pub const QUEUE_PER_THREAD: usize = 64;

/// The two bounds of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuPoolLimits {
    /// Threads running jobs.
    pub threads: usize,
    /// Jobs that may wait for a thread (at least 1); the next one is refused.
    pub queue: usize,
}

impl CpuPoolLimits {
    /// One thread per core, as TEI sizes its tokenization workers: a job is pure CPU, so more
    /// threads would only time-slice the same cores. The async workers keep answering beside
    /// them because the OS wakes a thread that was waiting (a reactor) ahead of ones that have
    /// used their time slice.
    pub fn for_machine() -> Self {
        let threads = thread::available_parallelism().map_or(1, NonZero::get);
        Self {
            threads,
            queue: threads * QUEUE_PER_THREAD,
        }
    }
}

/// Dedicated threads behind a bounded queue. Cheap to clone; the threads exit when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub struct CpuPool {
    name: Arc<str>,
    limits: CpuPoolLimits,
    jobs: SyncSender<Job>,
}

static SHARED: OnceLock<Result<CpuPool, RuntimeError>> = OnceLock::new();

/// Runs `work` on the process-wide pool ([`CpuPool::shared`]), traced as a span named
/// `stage` ("tokenize", ...) under the caller's.
pub async fn offload<R, F>(stage: &'static str, work: F) -> Result<R, RuntimeError>
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let traced = move || {
        tracing::info_span!(target: crate::trace::TARGET, "cpu work", otel.name = stage)
            .in_scope(work)
    };
    CpuPool::shared()?.run(traced).await
}

impl CpuPool {
    /// Starts `limits.threads` threads named `<name>-<i>`.
    pub fn new(name: &str, limits: CpuPoolLimits) -> Result<Self, RuntimeError> {
        let limits = CpuPoolLimits {
            threads: limits.threads.max(1),
            // With no room to wait, a job would be refused while a thread is between jobs.
            queue: limits.queue.max(1),
        };
        let (jobs, queue) = mpsc::sync_channel::<Job>(limits.queue);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..limits.threads {
            let queue = queue.clone();
            // If a later thread fails to start, the ones started exit with the dropped sender.
            thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work_loop(&queue))
                .map_err(|e| {
                    RuntimeError::Unavailable(format!(
                        "cannot start CPU pool thread {name}-{i}: {e}"
                    ))
                })?;
        }
        Ok(Self {
            name: name.into(),
            limits,
            jobs,
        })
    }

    /// The pool every module offloads to, sized by [`CpuPoolLimits::for_machine`] and started
    /// on first use. One pool for the process keeps the thread count fixed however many models
    /// are served.
    pub fn shared() -> Result<&'static CpuPool, RuntimeError> {
        SHARED
            .get_or_init(|| Self::new("taskgate-cpu", CpuPoolLimits::for_machine()))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn limits(&self) -> CpuPoolLimits {
        self.limits
    }

    /// Runs `work` on a pool thread. Refused with [`RuntimeError::Overloaded`] when the queue is
    /// full. If the caller stops waiting (request cancelled) before the job starts, the job is
    /// skipped; a panic in `work` is an [`RuntimeError::Inference`] error for this call only.
    pub async fn run<R, F>(&self, work: F) -> Result<R, RuntimeError>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        // The caller's span is current on the pool thread too, so its logs and spans nest.
        let caller = tracing::Span::current();
        let job: Job = Box::new(move || {
            if reply.is_closed() {
                return;
            }
            let _caller = caller.entered();
            // Unwinding stops here, so a pool thread outlives a panicking job.
            let _ = reply.send(catch_unwind(AssertUnwindSafe(work)));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => RuntimeError::Overloaded {
                what: format!("the CPU pool '{}'", self.name),
                limit: self.limits.threads + self.limits.queue,
            },
            TrySendError::Disconnected(_) => {
                RuntimeError::Unavailable(format!("the CPU pool '{}' has stopped", self.name))
            }
        })?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(pool = %self.name, %reason, "a CPU pool job panicked");
                Err(RuntimeError::Inference(format!(
                    "a job on the CPU pool '{}' panicked",
                    self.name
                )))
            }
            Err(_) => Err(RuntimeError::Unavailable(format!(
                "the CPU pool '{}' dropped the job",
                self.name
            ))),
        }
    }
}

fn work_loop(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job, never while running one, so it is
        // never poisoned by a job and idle threads take turns at the queue.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
#[path = "cpu_pool_tests.rs"]
mod tests;
