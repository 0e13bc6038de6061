use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Model, ModuleError, TaskError};

/// The models this process serves, by id.
#[derive(Debug, Default, Clone)]
pub struct ModelRegistry {
    models: BTreeMap<String, Arc<Model>>,
}

impl ModelRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, model: Model) -> Result<(), ModuleError> {
        let id = model.id().to_string();
        if self.models.contains_key(&id) {
            return Err(ModuleError::DuplicateModel(id));
        }
        self.models.insert(id, Arc::new(model));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Arc<Model>, TaskError> {
        self.models
            .get(id)
            .cloned()
            .ok_or_else(|| TaskError::ModelNotFound(id.to_string()))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.models.contains_key(id)
    }

    /// All models, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Model>> {
        self.models.values()
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}
