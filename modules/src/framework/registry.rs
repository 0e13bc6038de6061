use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::{Model, ModuleError, TaskError};

/// The models this process serves, by id. Clones share one set: models trained while serving
/// join it and are callable at once.
#[derive(Debug, Default, Clone)]
pub struct ModelRegistry {
    models: Arc<RwLock<BTreeMap<String, Arc<Model>>>>,
}

impl ModelRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    // A panic while holding the lock cannot leave the map half-changed (each change is one
    // insert), so a poisoned lock is still sound to use.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Arc<Model>>> {
        self.models.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Arc<Model>>> {
        self.models.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, model: Model) -> Result<Arc<Model>, ModuleError> {
        let id = model.id().to_string();
        let mut models = self.write();
        if models.contains_key(&id) {
            return Err(ModuleError::DuplicateModel(id));
        }
        let model = Arc::new(model);
        models.insert(id, model.clone());
        Ok(model)
    }

    pub fn get(&self, id: &str) -> Result<Arc<Model>, TaskError> {
        self.read()
            .get(id)
            .cloned()
            .ok_or_else(|| TaskError::ModelNotFound(id.to_string()))
    }

    /// Stops serving `id`; calls already running keep their model until they end.
    pub fn remove(&self, id: &str) -> Option<Arc<Model>> {
        self.write().remove(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.read().contains_key(id)
    }

    /// All models now, ordered by id.
    pub fn models(&self) -> Vec<Arc<Model>> {
        self.read().values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}
