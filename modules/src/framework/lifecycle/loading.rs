//! Loading, waiting for loads, and unloading, on the registry's entries.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Entry, LoadPolicy, Memory, ModelLease, ModelState, Phase};
use crate::framework::registry::{drop_elsewhere, free_now};
use crate::{Model, ModelRegistry, TaskError};

/// The first retry of a failed load waits this long; each further failure doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(60);
/// How a refusal for want of room in the budget begins (the budget may free up; the model
/// itself is fine).
const BUDGET_FULL: &str = "models_memory_bytes";

/// Whether a load failure's reason is the budget having no room, rather than the model.
pub fn is_budget_refusal(reason: &str) -> bool {
    reason.starts_with(BUDGET_FULL)
}

/// The unload reason of a model made room for another.
const EVICTED: &str = "evicted";

/// How long to wait before loading again after `failures` failed loads in a row.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_RETRY * 2u32.pow(doublings)).min(LONGEST_RETRY)
}

/// Why a load did not produce a model.
struct LoadFailure {
    reason: String,
    /// The budget could not make room (other models are busy or pinned), as opposed to the
    /// model itself failing to build.
    refused: bool,
}

impl LoadFailure {
    fn failed(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            refused: false,
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl ModelRegistry {
    /// The model `id` for one call, loaded first when it is not: the call waits for the load,
    /// and every call that arrives meanwhile waits for the same one. A model whose last load
    /// failed answers `ModelUnavailable` (with its reason and when to retry) until its retry
    /// is due. The lease keeps the model loaded until the call ends.
    pub async fn acquire(&self, id: &str) -> Result<ModelLease, TaskError> {
        loop {
            let entry = self.entry(id)?;
            let mut changed = entry.subscribe();
            let start = {
                let mut slot = entry.lock();
                match &slot.phase {
                    Phase::Loaded(model) => {
                        let model = model.clone();
                        return Ok(entry.lease(model, self.tick()));
                    }
                    Phase::Failed { reason, retry_at } if *retry_at > Instant::now() => {
                        return Err(TaskError::ModelUnavailable {
                            model: id.to_string(),
                            reason: reason.clone(),
                            retry_after: retry_at.saturating_duration_since(Instant::now()),
                        });
                    }
                    Phase::Registered | Phase::Failed { .. } => {
                        slot.phase = Phase::Loading;
                        true
                    }
                    Phase::Loading | Phase::Unloading | Phase::Removed => false,
                }
            };
            if start {
                self.spawn_load(entry.clone());
            }
            // The sender lives in the entry, which this loop holds: an error cannot happen,
            // and would only mean "look again".
            let _ = changed.changed().await;
        }
    }

    /// Loads `id` now if it is not loaded, and waits for it.
    pub async fn load(&self, id: &str) -> Result<(), TaskError> {
        self.acquire(id).await.map(drop)
    }

    /// Loads every eager model not loaded yet and waits until each has loaded or failed. A
    /// model that fails is logged and retried with backoff; the others serve.
    pub async fn load_eager(&self) {
        let eager: Vec<String> = self
            .entries()
            .iter()
            .filter(|e| {
                e.source
                    .as_ref()
                    .is_some_and(|s| s.policy == LoadPolicy::Eager)
            })
            .filter(|e| e.state() == ModelState::Registered)
            .map(|e| e.id.clone())
            .collect();
        futures::future::join_all(eager.iter().map(|id| self.load(id))).await;
    }

    /// Starts loading an entry its caller has just set `LOADING`. Boxed: a load may schedule
    /// its own retry, and an unboxed future could not name its own type.
    fn spawn_load(&self, entry: Arc<Entry>) {
        self.changed();
        let load: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
            Box::pin(self.clone().load_entry(entry));
        tokio::spawn(load);
    }

    /// Builds the entry (set `LOADING` by the caller) within the budget and records the
    /// outcome; a failed eager model is tried again after its backoff.
    async fn load_entry(self, entry: Arc<Entry>) {
        let Ok(_one_at_a_time) = self.inner.loads.acquire().await else {
            return;
        };
        let outcome = self.build_within_budget(&entry).await;
        let metrics = &taskgate_runtime::metrics::engine().model_loads;
        let mut retry_in = None;
        let mut unwanted = None;
        let loaded = {
            let mut slot = entry.lock();
            if !matches!(slot.phase, Phase::Loading) {
                // Removed while it loaded: nobody may use it.
                unwanted = outcome.ok().map(|(model, _)| Arc::new(model));
                false
            } else {
                match outcome {
                    Ok((model, memory)) => {
                        tracing::info!(
                            model = %entry.id,
                            tasks = ?model.tasks(),
                            engine_bytes = memory.engine_bytes,
                            rss_delta_bytes = memory.rss_delta_bytes,
                            "model loaded"
                        );
                        slot.tasks = model.tasks().to_vec();
                        slot.memory = Some(memory);
                        slot.failures = 0;
                        slot.phase = Phase::Loaded(Arc::new(model));
                        metrics.inc(&[&entry.id, "loaded"]);
                        true
                    }
                    Err(failure) => {
                        slot.failures += 1;
                        let delay = backoff(slot.failures);
                        tracing::warn!(
                            model = %entry.id,
                            reason = %failure.reason,
                            retry_in_ms = delay.as_millis() as u64,
                            "model failed to load"
                        );
                        let outcome = if failure.refused { "refused" } else { "failed" };
                        metrics.inc(&[&entry.id, outcome]);
                        slot.phase = Phase::Failed {
                            reason: failure.reason,
                            retry_at: Instant::now() + delay,
                        };
                        let eager = entry
                            .source
                            .as_ref()
                            .is_some_and(|s| s.policy == LoadPolicy::Eager);
                        retry_in = eager.then_some(delay);
                        false
                    }
                }
            }
        };
        drop_elsewhere(unwanted);
        entry.notify();
        self.changed();
        // The prediction made room for may fall short of what the load measured: make room
        // for the measured size (the model itself is never its own victim).
        let charged = entry.lock().memory.map_or(0, |m| m.charged_bytes());
        if loaded && let Err(reason) = self.make_room(charged, &entry.id).await {
            tracing::warn!(model = %entry.id, %reason, "loaded models exceed models_memory_bytes");
        }
        if let Some(delay) = retry_in {
            let registry = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                // Only if it is still this entry, still failed, and nobody retried it.
                let current = registry.entry(&entry.id).ok();
                if !current.is_some_and(|c| Arc::ptr_eq(&c, &entry)) {
                    return;
                }
                let retry = {
                    let mut slot = entry.lock();
                    let failed = matches!(slot.phase, Phase::Failed { .. });
                    if failed {
                        slot.phase = Phase::Loading;
                    }
                    failed
                };
                if retry {
                    registry.spawn_load(entry);
                }
            });
        }
    }

    async fn build_within_budget(
        &self,
        entry: &Arc<Entry>,
    ) -> Result<(Model, Memory), LoadFailure> {
        let Some(source) = entry.source.clone() else {
            return Err(LoadFailure::failed(
                "the model was handed over built and cannot be rebuilt",
            ));
        };
        let budget = self.inner.budget;
        if let Some(limit) = budget {
            let predicted = entry.predicted_bytes();
            if predicted > limit {
                return Err(LoadFailure::failed(format!(
                    "it needs about {} ({predicted} bytes), more than all of models_memory_bytes \
                     ({limit} bytes)",
                    mib(predicted)
                )));
            }
            self.make_room(predicted, &entry.id)
                .await
                .map_err(|reason| LoadFailure {
                    reason,
                    refused: true,
                })?;
        }
        let before = taskgate_runtime::resident_memory::resident_bytes();
        let started = std::time::Instant::now();
        let registry = self.clone();
        // What the load allocated only for itself (read buffers, repacking) goes back to the
        // system before its growth is measured, rather than staying with the allocator.
        let built = tokio::task::spawn_blocking(move || {
            let built = source.build(&registry);
            taskgate_runtime::resident_memory::release_freed();
            built
        })
        .await;
        let model = match built {
            Ok(Ok(model)) => model,
            Ok(Err(error)) => return Err(LoadFailure::failed(error.to_string())),
            Err(_) => return Err(LoadFailure::failed("building the model panicked")),
        };
        taskgate_runtime::metrics::engine()
            .model_load_seconds
            .set(&[&entry.id], started.elapsed().as_secs_f64());
        let after = taskgate_runtime::resident_memory::resident_bytes();
        let memory = Memory {
            engine_bytes: model.size(),
            rss_delta_bytes: match (before, after) {
                (Some(before), Some(after)) => after.saturating_sub(before),
                _ => 0,
            },
        };
        if let Some(limit) = budget
            && memory.charged_bytes() > limit
        {
            let charged = memory.charged_bytes();
            drop_elsewhere(Some(Arc::new(model)));
            entry.lock().memory = Some(memory);
            return Err(LoadFailure::failed(format!(
                "it takes {} ({charged} bytes) once loaded, more than all of models_memory_bytes \
                 ({limit} bytes)",
                mib(charged)
            )));
        }
        Ok((model, memory))
    }

    /// Unloads idle models, least recently used first, until `needed` more bytes fit the
    /// budget. Models with calls in flight or queued, pinned ones and `except` stay.
    async fn make_room(&self, needed: u64, except: &str) -> Result<(), String> {
        let Some(limit) = self.inner.budget else {
            return Ok(());
        };
        loop {
            let resident = self.resident();
            let used: u64 = resident
                .iter()
                .filter(|(entry, _)| entry.id != except)
                .map(|(_, bytes)| bytes)
                .sum();
            if used + needed <= limit {
                return Ok(());
            }
            let victim = resident
                .iter()
                .filter(|(entry, _)| entry.id != except && !entry.pinned() && entry.active() == 0)
                .filter(|(entry, _)| entry.state() == ModelState::Loaded)
                .min_by_key(|(entry, _)| entry.last_used())
                .map(|(entry, _)| entry.clone());
            let Some(victim) = victim else {
                let held: Vec<String> = resident
                    .iter()
                    .filter(|(entry, _)| entry.id != except)
                    .map(|(entry, bytes)| {
                        let why = if entry.pinned() { "pinned" } else { "in use" };
                        format!("'{}' {} ({why})", entry.id, mib(*bytes))
                    })
                    .collect();
                return Err(format!(
                    "{BUDGET_FULL} ({limit} bytes) is full: it needs about {} more, and \
                     the models holding the budget cannot be unloaded now: {}",
                    mib(needed),
                    held.join(", ")
                ));
            };
            self.unload_entry(&victim, EVICTED).await;
        }
    }

    /// Unloads `id` (after its calls in flight finish); it loads again on its next call.
    /// Answers the state it is left in.
    pub async fn unload(&self, id: &str) -> Result<ModelState, TaskError> {
        let entry = self.entry(id)?;
        if entry.source.is_none() {
            return Err(TaskError::Conflict(format!(
                "model '{id}' was built into this process and cannot be reloaded, so it is not \
                 unloaded"
            )));
        }
        self.unload_entry(&entry, "requested").await;
        Ok(entry.state())
    }

    /// Takes a loaded entry's model away (new calls wait), waits for its leases to end, frees
    /// it off the workers and leaves the entry `REGISTERED`. Nothing when it is not loaded,
    /// or (for an eviction, `reason` "evicted") when a call holds it: leases are taken under
    /// the same lock, so an idle model found here stays idle.
    async fn unload_entry(&self, entry: &Arc<Entry>, reason: &str) {
        let mut drained = entry.subscribe();
        let model = {
            let mut slot = entry.lock();
            let busy = reason == EVICTED && entry.active() > 0;
            if busy || !matches!(slot.phase, Phase::Loaded(_)) {
                return;
            }
            match std::mem::replace(&mut slot.phase, Phase::Unloading) {
                Phase::Loaded(model) => model,
                _ => unreachable!("the phase was just matched as loaded. This is a bug."),
            }
        };
        entry.notify();
        self.changed();
        while entry.active() > 0 {
            let _ = drained.changed().await;
        }
        let _ = tokio::task::spawn_blocking(move || free_now(model)).await;
        {
            let mut slot = entry.lock();
            if matches!(slot.phase, Phase::Unloading) {
                slot.phase = Phase::Registered;
            }
        }
        tracing::info!(model = %entry.id, reason, "model unloaded");
        taskgate_runtime::metrics::engine()
            .model_unloads
            .inc(&[&entry.id, reason]);
        entry.notify();
        self.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(7), LONGEST_RETRY);
        assert_eq!(backoff(u32::MAX), LONGEST_RETRY);
    }
}
