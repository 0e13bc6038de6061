//! How long a call waited in engine queues, for its `Server-Timing`. The engines run on their
//! own threads, so the wait is measured there and handed back with the answer; the caller's
//! task adds it to the scope [`measuring`] opened, so no signature between the gateway and the
//! engines has to carry it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

tokio::task_local! {
    static QUEUED_NANOS: Arc<AtomicU64>;
}

/// Runs `work`, also giving the time it spent in engine queues (zero where none was used, or
/// where the work ran on another task).
pub async fn measuring<F: Future>(work: F) -> (F::Output, Duration) {
    let queued = Arc::new(AtomicU64::new(0));
    let output = QUEUED_NANOS.scope(queued.clone(), work).await;
    (output, Duration::from_nanos(queued.load(Ordering::Relaxed)))
}

/// Counts `waited` against the call whose task this is, if it is measured.
pub(crate) fn add_queued(waited: Duration) {
    let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
    let _ = QUEUED_NANOS.try_with(|queued| queued.fetch_add(nanos, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_add_up_inside_the_scope_only() {
        add_queued(Duration::from_millis(5));
        let ((), queued) = measuring(async {
            add_queued(Duration::from_millis(2));
            add_queued(Duration::from_millis(3));
        })
        .await;
        assert_eq!(queued, Duration::from_millis(5));
    }
}
