use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Value, json};
use taskgate_schemas::ModelInfo;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::framework::lifecycle::{Entry, Memory, ModelSource, ModelState, Phase};
use crate::{Model, ModuleError, TaskError};

/// The models this process serves, by id, each in its lifecycle (see
/// [`crate::framework::lifecycle`]). Clones share one set: models trained or deployed while
/// serving join it and are callable at once.
#[derive(Clone)]
pub struct ModelRegistry {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    entries: RwLock<BTreeMap<String, Arc<Entry>>>,
    /// Models gone from the registry whose calls in flight still run on them.
    draining: Mutex<Vec<Arc<Entry>>>,
    /// `models_memory_bytes`: what loaded models may take together.
    pub(crate) budget: Option<u64>,
    /// One load at a time: each load's memory is measured alone, and room is made for it
    /// against a budget no other load changes meanwhile.
    pub(crate) loads: Semaphore,
    /// Ticks once per call that takes a model, for least-recently-used order.
    clock: AtomicU64,
    /// Counts every change of any model's state, for watchers (gRPC health).
    changes: watch::Sender<u64>,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRegistry")
            .field("models", &self.ids())
            .field("budget", &self.inner.budget)
            .finish()
    }
}

impl Default for ModelRegistry {
    fn default() -> Self {
        Self::with_memory_budget(None)
    }
}

/// A model as listings show it, loaded or not.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    pub state: ModelState,
    pub info: ModelInfo,
}

impl ModelRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry whose loaded models may take at most `budget` bytes together.
    pub fn with_memory_budget(budget: Option<u64>) -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: RwLock::default(),
                draining: Mutex::default(),
                budget,
                loads: Semaphore::new(1),
                clock: AtomicU64::new(0),
                changes: watch::Sender::new(0),
            }),
        }
    }

    pub fn memory_budget(&self) -> Option<u64> {
        self.inner.budget
    }

    // A panic while holding the lock cannot leave the map half-changed (each change is one
    // insert or remove), so a poisoned lock is still sound to use.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.inner.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn draining(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Entry>>> {
        self.inner
            .draining
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `model`, built already. It cannot be rebuilt, so it is never unloaded.
    pub fn insert(&self, model: Model) -> Result<Arc<Model>, ModuleError> {
        let id = model.id().to_string();
        let memory = Memory {
            engine_bytes: model.size(),
            rss_delta_bytes: 0,
        };
        let model = Arc::new(model);
        let entry = Entry::new(id.clone(), None, Phase::Loaded(model.clone()));
        entry.lock().memory = Some(memory);
        self.add(id, entry)?;
        Ok(model)
    }

    /// Knows `id` as `source` builds it, `REGISTERED`: it loads on its first call, or when
    /// [`Self::load_eager`] or [`Self::load`] asks.
    pub fn register(&self, id: impl Into<String>, source: ModelSource) -> Result<(), ModuleError> {
        let id = id.into();
        self.add(id.clone(), Entry::new(id, Some(source), Phase::Registered))
    }

    /// Builds `source` on the caller's thread (never an async worker's) and serves it loaded;
    /// from then on it unloads and reloads like any registered model. A build error is
    /// returned and nothing is registered.
    pub fn register_built(
        &self,
        id: impl Into<String>,
        source: ModelSource,
    ) -> Result<(), ModuleError> {
        let id = id.into();
        if self.contains(&id) {
            return Err(ModuleError::DuplicateModel(id));
        }
        let before = taskgate_runtime::resident_memory::resident_bytes();
        let model = source.build(self)?;
        let after = taskgate_runtime::resident_memory::resident_bytes();
        let memory = Memory {
            engine_bytes: model.size(),
            rss_delta_bytes: after.zip(before).map_or(0, |(a, b)| a.saturating_sub(b)),
        };
        let entry = Entry::new(id.clone(), Some(source), Phase::Loaded(Arc::new(model)));
        entry.lock().memory = Some(memory);
        taskgate_runtime::metrics::engine()
            .model_loads
            .inc(&[&id, "loaded"]);
        self.add(id, entry)
    }

    fn add(&self, id: String, entry: Entry) -> Result<(), ModuleError> {
        {
            let mut entries = self.write();
            if entries.contains_key(&id) {
                return Err(ModuleError::DuplicateModel(id));
            }
            entries.insert(id, Arc::new(entry));
        }
        self.changed();
        Ok(())
    }

    /// Stops serving `id`: new calls get 404 at once, calls in flight finish on the model,
    /// which is freed after the last of them. `false` when no such model is served.
    pub fn remove(&self, id: &str) -> bool {
        let Some(entry) = self.write().remove(id) else {
            return false;
        };
        self.retire(&entry, "removed");
        true
    }

    /// Serves `id` from `source` instead of what served it: new calls go to the new model
    /// (loading it as any registered model), calls in flight finish on the old one, freed
    /// after the last of them. Registers `id` when it was not served.
    pub fn replace(&self, id: &str, source: ModelSource) {
        let entry = Arc::new(Entry::new(id.to_string(), Some(source), Phase::Registered));
        let old = self.write().insert(id.to_string(), entry);
        match old {
            Some(old) => self.retire(&old, "replaced"),
            None => self.changed(),
        }
    }

    /// Ends an entry taken out of the registry: unloaded now when idle, else once its calls
    /// in flight end.
    fn retire(&self, entry: &Arc<Entry>, reason: &str) {
        let model = {
            let mut slot = entry.lock();
            let phase = if entry.active() > 0 {
                Phase::Unloading
            } else {
                Phase::Removed
            };
            match std::mem::replace(&mut slot.phase, phase) {
                Phase::Loaded(model) => Some(model),
                _ => None,
            }
        };
        if model.is_some() {
            taskgate_runtime::metrics::engine()
                .model_unloads
                .inc(&[&entry.id, reason]);
        }
        if entry.active() > 0 {
            self.draining().push(entry.clone());
        }
        entry.notify();
        self.changed();
        drop_elsewhere(model);
    }

    /// The source `id` is registered with, if it has one (models built in place have none).
    pub fn source(&self, id: &str) -> Option<ModelSource> {
        self.read().get(id).and_then(|entry| entry.source.clone())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.read().contains_key(id)
    }

    pub(crate) fn entry(&self, id: &str) -> Result<Arc<Entry>, TaskError> {
        self.read()
            .get(id)
            .cloned()
            .ok_or_else(|| TaskError::ModelNotFound(id.to_string()))
    }

    pub(crate) fn entries(&self) -> Vec<Arc<Entry>> {
        self.read().values().cloned().collect()
    }

    /// Every model id known, ordered.
    pub fn ids(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// The models loaded now, ordered by id.
    pub fn models(&self) -> Vec<Arc<Model>> {
        self.entries()
            .iter()
            .filter_map(|entry| match &entry.lock().phase {
                Phase::Loaded(model) => Some(model.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    pub fn state(&self, id: &str) -> Option<ModelState> {
        self.read().get(id).map(|entry| entry.state())
    }

    /// Ticks each time a model's state changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub(crate) fn changed(&self) {
        self.inner.changes.send_modify(|n| *n += 1);
    }

    pub(crate) fn tick(&self) -> u64 {
        self.inner.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Bytes the models in memory are charged (loaded ones, and those still draining).
    pub fn memory_used(&self) -> u64 {
        self.resident().iter().map(|(_, bytes)| bytes).sum()
    }

    /// Each model in memory now and the bytes it is charged.
    pub(crate) fn resident(&self) -> Vec<(Arc<Entry>, u64)> {
        let draining = {
            let mut draining = self.draining();
            draining.retain(|entry| entry.active() > 0);
            draining.clone()
        };
        self.entries()
            .into_iter()
            .chain(draining)
            .filter_map(|entry| {
                let bytes = {
                    let slot = entry.lock();
                    match slot.phase {
                        Phase::Loaded(_) | Phase::Unloading => {
                            slot.memory.map_or(0, |m| m.charged_bytes())
                        }
                        _ => return None,
                    }
                };
                Some((entry, bytes))
            })
            .collect()
    }

    /// The bytes `id` is charged while it is loaded.
    pub fn charged_bytes(&self, id: &str) -> Option<u64> {
        let entry = self.read().get(id).cloned()?;
        let slot = entry.lock();
        match slot.phase {
            Phase::Loaded(_) => slot.memory.map(|m| m.charged_bytes()),
            _ => None,
        }
    }

    /// Every model as listings show it (those still draining too), ordered by id.
    pub fn statuses(&self) -> Vec<ModelStatus> {
        let draining = {
            let mut draining = self.draining();
            draining.retain(|entry| entry.active() > 0);
            draining.clone()
        };
        let mut all: Vec<ModelStatus> = self
            .entries()
            .iter()
            .chain(&draining)
            .map(|entry| status_of(entry))
            .collect();
        all.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        all
    }

    /// One model as listings show it.
    pub fn status(&self, id: &str) -> Result<ModelStatus, TaskError> {
        Ok(status_of(&*self.entry(id)?))
    }
}

/// A model's listing: a loaded model describes itself; one that is not says what is known
/// of it. Both carry the lifecycle's facts in their metadata.
fn status_of(entry: &Entry) -> ModelStatus {
    let (state, loaded, memory, tasks, failure) = {
        let slot = entry.lock();
        let loaded = match &slot.phase {
            Phase::Loaded(model) => Some(model.clone()),
            _ => None,
        };
        let failure = match &slot.phase {
            Phase::Failed { reason, retry_at } => Some((
                reason.clone(),
                retry_at.saturating_duration_since(Instant::now()),
            )),
            _ => None,
        };
        (
            slot.phase.state(),
            loaded,
            slot.memory,
            slot.tasks.clone(),
            failure,
        )
    };
    let mut info = match &loaded {
        Some(model) => model.info(),
        None => {
            let source = entry.source.as_ref();
            ModelInfo {
                name: entry.id.clone(),
                module: source.map(|s| s.module.clone()).unwrap_or_default(),
                tasks: tasks.iter().map(|t| t.to_string()).collect(),
                backend: source.map(|s| s.backend.clone()).unwrap_or_default(),
                loaded: false,
                size: 0,
                model_path: source
                    .and_then(|s| s.files.as_ref())
                    .map(|p| p.display().to_string()),
                metadata: serde_json::Map::new(),
            }
        }
    };
    let metadata = &mut info.metadata;
    metadata.insert("state".into(), state.as_str().into());
    let policy = entry.source.as_ref().map(|s| s.policy.as_str());
    metadata.insert("load".into(), policy.unwrap_or("eager").into());
    metadata.insert("pinned".into(), entry.pinned().into());
    metadata.insert("in_flight_calls".into(), entry.active().into());
    if let Some(memory) = memory {
        let mut value = json!(memory);
        value["charged_bytes"] = Value::from(memory.charged_bytes());
        metadata.insert("memory".into(), value);
    }
    if let Some((reason, retry_in)) = failure {
        metadata.insert("error".into(), reason.into());
        metadata.insert("retry_in_ms".into(), (retry_in.as_millis() as u64).into());
    }
    ModelStatus { state, info }
}

/// Drops a model on this thread, joining its engine threads and freeing its weights, and hands
/// the memory back to the system.
pub(crate) fn free_now(model: Arc<Model>) {
    drop(model);
    taskgate_runtime::resident_memory::release_freed();
}

/// Drops a model off the async workers: its engine threads are joined and its weights freed.
pub(crate) fn drop_elsewhere(model: Option<Arc<Model>>) {
    let Some(model) = model else {
        return;
    };
    let free = move || free_now(model);
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(free);
        }
        Err(_) => free(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(module: &'static str) -> ModelSource {
        ModelSource::new(module, "in-process", move |_| {
            Ok(Model::builder("m", module, "test").build())
        })
    }

    #[tokio::test]
    async fn a_replaced_model_serves_new_calls_while_calls_in_flight_keep_the_old_one() {
        let registry = ModelRegistry::new();
        registry.register("m", source("old")).unwrap();
        let in_flight = registry.acquire("m").await.unwrap();
        registry.replace("m", source("new"));
        let next = registry.acquire("m").await.unwrap();
        assert_eq!(next.info().module, "new");
        assert_eq!(in_flight.info().module, "old");
        let states: Vec<_> = registry.statuses().iter().map(|s| s.state).collect();
        assert_eq!(states, [ModelState::Loaded, ModelState::Unloading]);
        drop(in_flight);
        assert_eq!(registry.statuses().len(), 1);
        // Replacing an id nobody served registers it.
        registry.replace("other", source("new"));
        assert_eq!(registry.state("other"), Some(ModelState::Registered));
    }
}
