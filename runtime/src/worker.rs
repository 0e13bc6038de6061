use std::sync::Arc;
use std::thread;

use tokio::sync::{mpsc, oneshot};

use crate::RuntimeError;

type Job = Box<dyn FnOnce() + Send>;

/// A dedicated compute thread with a bounded queue. CPU-heavy work runs here so it never blocks
/// the async runtime; a full queue is refused rather than buffered without bound.
#[derive(Debug, Clone)]
pub struct Worker {
    name: Arc<str>,
    capacity: usize,
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread. It exits when the last `Worker` handle is dropped.
    pub fn spawn(name: &str, capacity: usize) -> Result<Self, RuntimeError> {
        let capacity = capacity.max(1);
        let (jobs, mut queue) = mpsc::channel::<Job>(capacity);
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                while let Some(job) = queue.blocking_recv() {
                    job();
                }
            })
            .map_err(|e| RuntimeError::Unavailable(format!("cannot start worker {name}: {e}")))?;
        Ok(Self {
            name: name.into(),
            capacity,
            jobs,
        })
    }

    /// Runs `work` on the worker thread. If the caller stops waiting (request cancelled) before
    /// the job starts, the job is skipped.
    pub async fn run<R, F>(&self, work: F) -> Result<R, RuntimeError>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            if reply.is_closed() {
                return;
            }
            // A panic in `work` would kill the worker thread for every later request.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = reply.send(outcome);
        });
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RuntimeError::Overloaded {
                what: format!("worker {}", self.name),
                limit: self.capacity,
            },
            mpsc::error::TrySendError::Closed(_) => {
                RuntimeError::Unavailable(format!("worker {} has stopped", self.name))
            }
        })?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_panic)) => Err(RuntimeError::Inference(format!(
                "worker {} panicked while running a job",
                self.name
            ))),
            Err(_) => Err(RuntimeError::Unavailable(format!(
                "worker {} dropped the job",
                self.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn runs_work_off_the_async_threads() {
        let worker = Worker::spawn("test-worker", 4).unwrap();
        let name = worker
            .run(|| thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-worker"));
    }

    #[tokio::test]
    async fn a_full_queue_is_refused() {
        let worker = Worker::spawn("busy", 1).unwrap();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let worker = worker.clone();
            tokio::spawn(async move { worker.run(move || wait.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let worker = worker.clone();
            tokio::spawn(async move { worker.run(|| 1).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = worker.run(|| 2).await.unwrap_err();
        assert!(matches!(refused, RuntimeError::Overloaded { limit: 1, .. }));
        release.send(()).unwrap();
        assert!(blocker.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_kill_the_worker() {
        let worker = Worker::spawn("panicky", 2).unwrap();
        let err = worker.run(|| panic!("boom")).await.unwrap_err();
        assert!(matches!(err, RuntimeError::Inference(_)));
        assert_eq!(worker.run(|| 7).await.unwrap(), 7);
    }
}
