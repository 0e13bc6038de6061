use std::ops::Deref;
use std::sync::Arc;

use super::Entry;
use crate::Model;

/// A call's hold on its model: while any lease is alive the model is not unloaded to make
/// room, and an undeployed or replaced model stays alive for the calls it already had.
pub struct ModelLease {
    model: Arc<Model>,
    entry: Arc<Entry>,
}

impl ModelLease {
    pub(crate) fn new(model: Arc<Model>, entry: Arc<Entry>) -> Self {
        Self { model, entry }
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }
}

impl Deref for ModelLease {
    type Target = Model;

    fn deref(&self) -> &Model {
        &self.model
    }
}

impl Drop for ModelLease {
    fn drop(&mut self) {
        self.entry.release();
    }
}

impl std::fmt::Debug for ModelLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ModelLease").field(&self.model.id()).finish()
    }
}
