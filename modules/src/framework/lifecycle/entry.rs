use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::time::Instant;

use super::{Memory, ModelLease, ModelSource, ModelState};
use crate::Model;

/// One model id in the registry: how to build it, where it is in its life, and who uses it.
pub(crate) struct Entry {
    pub(crate) id: String,
    /// `None` for a model handed over already built: it cannot be rebuilt, so it is never
    /// unloaded.
    pub(crate) source: Option<ModelSource>,
    slot: Mutex<Slot>,
    /// Told of every change of `slot`, so calls waiting for a load wake.
    changed: watch::Sender<()>,
    /// The registry's clock when a call last took the model, for least-recently-used order.
    last_used: AtomicU64,
    /// Leases alive: calls in flight or queued on the model.
    active: AtomicUsize,
}

pub(crate) struct Slot {
    pub(crate) phase: Phase,
    /// What the last load measured; predicts the next load's cost.
    pub(crate) memory: Option<Memory>,
    /// The tasks the model served when it was last loaded.
    pub(crate) tasks: Vec<&'static str>,
    /// Failed loads in a row, for the backoff.
    pub(crate) failures: u32,
}

pub(crate) enum Phase {
    Registered,
    Loading,
    Loaded(Arc<Model>),
    Failed {
        reason: String,
        retry_at: Instant,
    },
    Unloading,
    /// Gone from the registry; calls waiting on it look the id up again.
    Removed,
}

impl Phase {
    pub(crate) fn state(&self) -> ModelState {
        match self {
            Self::Registered => ModelState::Registered,
            Self::Loading => ModelState::Loading,
            Self::Loaded(_) => ModelState::Loaded,
            Self::Failed { .. } => ModelState::Failed,
            Self::Unloading | Self::Removed => ModelState::Unloading,
        }
    }
}

impl Entry {
    pub(crate) fn new(id: String, source: Option<ModelSource>, phase: Phase) -> Self {
        let tasks = match &phase {
            Phase::Loaded(model) => model.tasks().to_vec(),
            _ => Vec::new(),
        };
        Self {
            id,
            source,
            slot: Mutex::new(Slot {
                phase,
                memory: None,
                tasks,
                failures: 0,
            }),
            changed: watch::Sender::new(()),
            last_used: AtomicU64::new(0),
            active: AtomicUsize::new(0),
        }
    }

    // Every change of the slot is one assignment, so a panic elsewhere while it was held
    // cannot leave it half-changed.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn state(&self) -> ModelState {
        self.lock().phase.state()
    }

    /// Wakes whoever waits on this model.
    pub(crate) fn notify(&self) {
        self.changed.send_replace(());
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    pub(crate) fn pinned(&self) -> bool {
        self.source.as_ref().is_none_or(|s| s.pinned)
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    pub(crate) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// A lease on `model`; taken with the slot locked and the model loaded, which is what
    /// keeps an eviction (which checks `active` under the same lock) from racing it.
    pub(crate) fn lease(self: &Arc<Self>, model: Arc<Model>, now: u64) -> ModelLease {
        self.active.fetch_add(1, Ordering::AcqRel);
        self.last_used.fetch_max(now, Ordering::Relaxed);
        ModelLease::new(model, self.clone())
    }

    /// A lease ended; the last one wakes whoever waits for the model to drain.
    pub(crate) fn release(&self) {
        if self.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.notify();
        }
    }

    /// The bytes the next load is expected to take: what the last one measured, else the
    /// size of the model's files.
    pub(crate) fn predicted_bytes(&self) -> u64 {
        if let Some(memory) = self.lock().memory {
            return memory.charged_bytes();
        }
        self.source
            .as_ref()
            .and_then(|s| s.files.as_deref())
            .map_or(0, super::files_bytes)
    }
}
